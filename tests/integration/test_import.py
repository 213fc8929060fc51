"""`flask invoices import`: whole file or nothing, every bad row reported; re-import idempotent."""
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Customer, Event, Invoice, Payment

HEADER = "customer_ref,customer_name,email,phone,language,invoice_number,issue_date,due_date,currency,amount,amount_paid\n"
GOOD = HEADER + (
    'C1,Dupont & Fils,compta@dupont.fr,0102030405,fr,F-001,2026-01-05,2026-02-04,EUR,"1 234,56",0\n'
    "C1,Dupont & Fils,compta@dupont.fr,0102030405,fr,F-002,05/01/2026,04/02/2026,EUR,500.00,200.00\n"
    "C2,Acme Ltd,ap@acme.example,,en,F-003,2026-01-10,2026-02-09,EUR,99.90,\n"
)


def write(tmp_path, text, name="invoices.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_good_file_is_imported_with_exact_amounts(runner, tmp_path):
    result = runner.invoke(args=["invoices", "import", write(tmp_path, GOOD)])
    assert result.exit_code == 0, result.output
    assert "3 invoice(s) created" in result.output
    f1, f2, f3 = db.session.scalars(select(Invoice).order_by(Invoice.number)).all()
    assert (f1.total_cents, f1.balance_cents, f1.status) == (123456, 123456, "open")
    assert (f2.total_cents, f2.paid_cents, f2.balance_cents) == (50000, 20000, 30000)
    assert f2.due_date.isoformat() == "2026-02-04"
    assert f3.customer.language == "en" and f3.balance_cents == 9990
    assert count(Customer) == 2


def test_reimport_is_idempotent_and_updates(runner, tmp_path):
    path = write(tmp_path, GOOD)
    runner.invoke(args=["invoices", "import", path])
    again = runner.invoke(args=["invoices", "import", path])
    assert again.exit_code == 0
    assert "0 invoice(s) created, 0 updated, 3 unchanged" in again.output
    assert (count(Invoice), count(Customer), count(Payment)) == (3, 2, 1)
    # The accounting tool now says F-002 is fully paid and F-003's amount changed.
    changed = GOOD.replace("500.00,200.00", "500.00,500.00").replace("99.90,", "109.90,")
    result = runner.invoke(args=["invoices", "import", write(tmp_path, changed, "v2.csv")])
    assert "0 invoice(s) created, 2 updated, 1 unchanged" in result.output
    f2 = db.session.scalar(select(Invoice).where(Invoice.number == "F-002"))
    assert (f2.paid_cents, f2.status) == (50000, "paid")
    assert count(Invoice) == 3 and count(Payment) == 1


def test_semicolon_bom_and_french_formats(runner, tmp_path):
    text = HEADER.replace(",", ";") + "C9;Société Générale de Test;a@b.fr;;fr;F-9;01/02/2026;03/03/2026;EUR;12 345,67;1 000,00\n"
    result = runner.invoke(args=["invoices", "import", write(tmp_path, "\ufeff" + text)])
    assert result.exit_code == 0, result.output
    invoice = db.session.scalar(select(Invoice))
    assert (invoice.total_cents, invoice.balance_cents) == (1234567, 1134567)
    assert invoice.customer.name == "Société Générale de Test"


def test_bad_rows_reject_the_whole_file_with_line_numbers(runner, tmp_path):
    bad = GOOD + (
        "C3,Bad Date,x@y.fr,,fr,F-004,2026-13-01,2026-02-01,EUR,10,0\n"
        "C3,Bad Amount,x@y.fr,,fr,F-005,2026-01-01,2026-02-01,EUR,\"1,234\",0\n"
        "C4,No Mail,not-an-email,,fr,F-006,2026-01-01,2026-02-01,EUR,10,0\n"
        "C5,Dup,x@y.fr,,fr,F-001,2026-01-01,2026-02-01,EUR,10,0\n"
        "C6,Overpaid,x@y.fr,,fr,F-007,2026-01-01,2026-02-01,EUR,10,20\n"
        "C7,Short,x@y.fr\n"
    )
    result = runner.invoke(args=["invoices", "import", write(tmp_path, bad)])
    assert result.exit_code == 1
    out = result.output
    assert "6 error(s); nothing was imported" in out
    assert "line 5: issue_date" in out and "line 6: amount" in out and "line 7: email" in out
    assert "line 8: invoice_number: invoice F-001 already appears on line 2" in out
    assert "line 9: amount_paid" in out and "line 10: row" in out
    assert "Fix these rows" in out
    assert count(Invoice) == 0 and count(Customer) == 0 and count(Event) == 0


def test_missing_column_and_wrong_encoding(runner, tmp_path):
    result = runner.invoke(args=["invoices", "import",
                                 write(tmp_path, "customer_ref,amount\nC1,10\n")])
    assert result.exit_code == 1 and "missing column(s)" in result.output
    latin = write(tmp_path, GOOD.replace("Dupont", "Dupônt"), "latin.csv", encoding="latin-1")
    result = runner.invoke(args=["invoices", "import", latin])
    assert result.exit_code == 1 and "not UTF-8" in result.output


def test_dry_run_writes_nothing(runner, tmp_path):
    result = runner.invoke(args=["invoices", "import", "--dry-run", write(tmp_path, GOOD)])
    assert result.exit_code == 0 and "3 row(s) valid (dry run" in result.output
    assert count(Invoice) == 0


def test_reimport_cannot_move_an_invoice_to_another_customer(runner, tmp_path):
    runner.invoke(args=["invoices", "import", write(tmp_path, GOOD)])
    moved = HEADER + "C2,Acme Ltd,ap@acme.example,,en,F-001,2026-01-05,2026-02-04,EUR,10,0\n"
    result = runner.invoke(args=["invoices", "import", write(tmp_path, moved, "m.csv")])
    assert result.exit_code == 1 and "belongs to customer C1" in result.output


def test_a_siren_column_names_the_debtor_for_the_hand_over(runner, tmp_path):
    text = ("customer_ref,customer_name,email,siren,invoice_number,issue_date,due_date,amount\n"
            "C1,Dupont & Fils,compta@dupont.fr,552 100 554,F-001,2026-01-05,2026-02-04,100\n"
            "C2,Acme,ap@acme.example,,F-002,2026-01-05,2026-02-04,100\n")
    result = runner.invoke(args=["invoices", "import", write(tmp_path, text)])
    assert result.exit_code == 0, result.output
    sirens = dict(db.session.execute(select(Customer.ref, Customer.siren)).all())
    assert sirens == {"C1": "552100554", "C2": None}
    bad = text.replace("552 100 554", "55210055").replace("F-00", "G-00")
    result = runner.invoke(args=["invoices", "import", write(tmp_path, bad, "bad.csv")])
    assert result.exit_code == 1 and "line 2: siren: siren '55210055' is not 9 digits" in \
        result.output
