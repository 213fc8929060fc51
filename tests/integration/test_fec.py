"""FEC import: the unlettered lines of customer accounts become open invoices (grouped by
piece, with the customer from CompAuxNum/CompAuxLib, the due date from DateLimitReglmt or the
payment term), the rest of the books is skipped, a re-import after lettering closes what was
paid, a bad line is refused with its number and nothing is written. Files made in the test,
tab and "|" separated, UTF-8 and Latin-1."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.imports.fec import COLUMNS, looks_like_fec, read_fec
from portal.models import Customer, Invoice

HEADER = list(COLUMNS)


def line(journal, num, account, aux, aux_name, piece, piece_date, label, debit="", credit="",
         letter="", due=None):
    values = [journal, "Ventes" if journal == "VT" else "Banque", num, piece_date, account,
              "Clients" if account.startswith("411") else "Autre", aux, aux_name, piece,
              piece_date, label, debit, credit, letter, "", piece_date, "", ""]
    return values + ([due] if due is not None else [])


def fec(lines, separator="\t", with_due=False, encoding="utf-8"):
    header = HEADER + (["DateLimitReglmt"] if with_due else [])
    text = "\n".join(separator.join(v) for v in [header] + lines) + "\n"
    return text.encode(encoding)


def books(lettered=False, with_due=False):
    """Three sales: F-101 (Dupont, paid by a transfer lettered AA or not yet), F-102 (Dupont,
    open), F-201 (Boulangerie Müller, half paid, the half lettered); plus the sales and VAT lines,
    which are not customer accounts."""
    due = "20261115" if with_due else None
    return [
        line("VT", "1", "411000", "C-DUP", "Dupont & Fils", "F-101", "20261001", "Facture",
             debit="1200,00", letter="AA" if lettered else "", due=due),
        line("VT", "1", "706000", "", "", "F-101", "20261001", "Vente", credit="1000,00",
             due="" if with_due else None),
        line("VT", "1", "445710", "", "", "F-101", "20261001", "TVA", credit="200,00",
             due="" if with_due else None),
        line("VT", "2", "411000", "C-DUP", "Dupont & Fils", "F-102", "20261010", "Facture",
             debit="480,50", due="" if with_due else None),
        line("VT", "3", "411000", "C-MUL", "Boulangerie Müller", "F-201", "20261005", "Facture",
             debit="900,00", letter="BB", due="" if with_due else None),
        line("BQ", "4", "411000", "C-MUL", "Boulangerie Müller", "F-201", "20261020",
             "Virement", credit="450,00", letter="BB", due="" if with_due else None),
        line("BQ", "5", "411000", "C-DUP", "Dupont & Fils", "VIR-77", "20261101", "Virement",
             credit="1200,00", letter="AA" if lettered else "", due="" if with_due else None),
    ]


def test_read_fec_groups_pieces_and_owes_the_unlettered(app):
    rows, errors = read_fec(fec(books()), payment_term_days=45)
    assert errors == []
    by_number = {r.invoice_number: r for r in rows}
    assert sorted(by_number) == ["F-101", "F-102", "F-201"]  # VIR-77 is a payment, not a sale
    assert (by_number["F-101"].amount_cents, by_number["F-101"].paid_cents) == (120_000, 0)
    assert by_number["F-102"].due_date == date(2026, 10, 10) + timedelta(days=45)
    assert (by_number["F-201"].amount_cents, by_number["F-201"].paid_cents) == (90_000, 90_000)
    assert by_number["F-201"].customer_name == "Boulangerie Müller"
    rows, errors = read_fec(fec(books(with_due=True), with_due=True))
    assert errors == []
    assert {r.invoice_number: r.due_date for r in rows}["F-101"] == date(2026, 11, 15)


@pytest.mark.parametrize("separator,encoding", [("\t", "utf-8"), ("|", "latin-1")])
def test_import_then_reimport_after_lettering_closes_what_was_paid(any_app, tmp_path,
                                                                    separator, encoding):
    runner = any_app.test_cli_runner()
    first = tmp_path / "FEC-2026-11.txt"
    first.write_bytes(fec(books(), separator, encoding=encoding))
    assert looks_like_fec(first.read_bytes())
    result = runner.invoke(args=["invoices", "import", str(first), "--payment-term-days", "30"])
    assert result.exit_code == 0, result.output
    assert "2 invoice(s) created" in result.output  # F-201 already lettered: history
    open_ = dict(db.session.execute(select(Invoice.number, Invoice.status)).all())
    assert open_ == {"F-101": "open", "F-102": "open"}
    dupont = db.session.scalar(select(Customer).where(Customer.ref == "C-DUP"))
    assert dupont.name == "Dupont & Fils" and dupont.email == ""
    assert db.session.scalar(select(Customer).where(Customer.ref == "C-MUL")) is None
    # Someone adds Dupont's address in the back office; the next FEC keeps it.
    dupont.email = "compta@dupont.example"
    db.session.commit()
    later = tmp_path / "FEC-2026-12.txt"
    later.write_bytes(fec(books(lettered=True), separator, encoding=encoding))
    result = runner.invoke(args=["invoices", "import", str(later)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert dict(db.session.execute(select(Invoice.number, Invoice.status)).all()) == {
        "F-101": "paid", "F-102": "open"}
    assert db.session.get(Customer, dupont.id).email == "compta@dupont.example"
    again = runner.invoke(args=["invoices", "import", str(later)])
    assert "0 invoice(s) created, 0 updated, 2 unchanged" in again.output


def test_a_bad_line_is_refused_with_its_number_and_nothing_is_written(any_app, tmp_path):
    lines = books()
    lines[3][9] = "2026-10-10"  # PieceDate not AAAAMMJJ, on the file's 5th line
    path = tmp_path / "fec.txt"
    path.write_bytes(fec(lines))
    result = any_app.test_cli_runner().invoke(args=["invoices", "import", str(path)])
    assert result.exit_code == 1
    assert "line 5: PieceDate: '2026-10-10' is not a date written AAAAMMJJ" in result.output
    assert db.session.scalar(select(func.count(Invoice.id))) == 0
    short = tmp_path / "short.txt"
    short.write_bytes(b"JournalCode\tEcritureNum\tCompteNum\tPieceRef\nVT\t1\t411\tF-1\n")
    result = any_app.test_cli_runner().invoke(args=["invoices", "import", str(short)])
    assert result.exit_code == 1 and "not a FEC: missing column(s) JournalLib" in result.output


def test_a_debtor_without_an_address_is_not_mailed_and_the_accountant_is_told(any_app, smtp,
                                                                              tmp_path):
    from portal import clock
    from tests.helpers import business_day
    today = clock.today()
    stamp = (today - timedelta(days=40)).strftime("%Y%m%d")
    path = tmp_path / "fec.txt"
    path.write_bytes(fec([line("VT", "1", "411000", "C-X", "Garage Roux", "F-9", stamp,
                               "Facture", debit="100,00")]))
    assert any_app.test_cli_runner().invoke(args=["invoices", "import", str(path)]
                                            ).exit_code == 0
    result = any_app.test_cli_runner().invoke(
        args=["reminders", "run", "--date", business_day(0).isoformat()])
    assert result.exit_code == 0, result.output
    assert smtp.messages == [] and "refused by the mail server" in result.output
    from portal.models import Event
    event = db.session.scalar(select(Event).where(Event.kind == "reminder_no_address"))
    assert "no e-mail address on file" in event.details["reason"]


def test_the_back_office_shows_a_debtor_without_address_and_takes_one(any_app, tmp_path):
    """The to-do list and the debtors list say the address is missing; the debtor's page takes
    it (checked), and the timeline keeps the change."""
    import html as _html
    from portal.users import create_user
    from tests.helpers import PASSWORD, csrf, login
    path = tmp_path / "fec.txt"
    path.write_bytes(fec([line("VT", "1", "411000", "C-X", "Garage Roux", "F-9", "20261001",
                               "Facture", debit="100,00")]))
    assert any_app.test_cli_runner().invoke(args=["invoices", "import", str(path)]
                                            ).exit_code == 0
    create_user("compta@atelier.example", PASSWORD)
    db.session.commit()
    client = any_app.test_client()
    login(client)
    inbox = _html.unescape(client.get("/admin/").get_data(as_text=True))
    assert "Adresse e-mail manquante" in inbox
    listed = _html.unescape(client.get("/admin/debtors").get_data(as_text=True))
    assert "pas d'adresse e-mail" in listed
    customer = db.session.scalar(select(Customer).where(Customer.ref == "C-X"))
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    bad = client.post(f"/admin/customers/{customer.id}/contact",
                      data={"csrf_token": csrf(page), "email": "pas-un-email"})
    assert bad.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).email == ""
    client.post(f"/admin/customers/{customer.id}/contact", data={
        "csrf_token": csrf(page), "email": "compta@roux.example", "phone": "+33 4 72 00 00 01"})
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).email == "compta@roux.example"
    assert "Adresse e-mail manquante" not in _html.unescape(
        client.get("/admin/").get_data(as_text=True))
    page = _html.unescape(client.get(f"/admin/customers/{customer.id}").get_data(as_text=True))
    assert "Coordonnées : — / — → compta@roux.example / +33 4 72 00 00 01" in page
