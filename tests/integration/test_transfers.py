"""`flask payments import`: bank transfers reconciled by invoice number, all or nothing,
replays recognised, overpayments kept as credit."""
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Payment
from portal.payments.lifecycle import customer_credit_cents
from tests.conftest import make_customer, make_invoice

HEADER = "invoice_number;amount;date;external_id\n"


def write(tmp_path, text, name="transfers.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_transfers_reconcile_replay_and_keep_the_overpayment(runner, tmp_path):
    customer = make_customer()
    first = make_invoice(customer, "2026-02-01", 100_000, number="T-1")
    second = make_invoice(customer, "2026-02-01", 20_000, number="T-2")
    db.session.commit()
    path = write(tmp_path, HEADER + "T-1;1 000,00;10/02/2026;VIR-001\nT-2;250,00;2026-02-11;VIR-002\n")
    result = runner.invoke(args=["payments", "import", path])
    assert result.exit_code == 0, result.output
    assert "2 transfer(s) recorded, 0 already known; 50.00 EUR beyond" in result.output
    db.session.expire_all()
    assert (first.status, second.status) == ("paid", "paid")
    assert customer_credit_cents(customer.id) == 5_000
    again = runner.invoke(args=["payments", "import", path])
    assert "0 transfer(s) recorded, 2 already known" in again.output
    assert db.session.scalar(select(func.sum(Payment.amount_cents))) == 125_000


def test_bad_rows_record_nothing(runner, tmp_path):
    customer = make_customer()
    make_invoice(customer, "2026-02-01", 100_000, number="T-1")
    db.session.commit()
    path = write(tmp_path, HEADER + "T-1;10;2026-02-10;A\nNOPE;10;2026-02-10;B\nT-1;abc;2026-02-10;C\n"
                                    "T-1;10;31/31/2026;D\nT-1;10;2026-02-10;A\nT-1;10;2026-02-10;\n")
    result = runner.invoke(args=["payments", "import", path])
    assert result.exit_code == 1
    for expected in ("line 3: invoice_number", "line 4: amount", "line 5: date",
                     "line 6: external_id: A already appears on line 2", "line 7: external_id"):
        assert expected in result.output
    assert db.session.scalar(select(func.count(Payment.id))) == 0
