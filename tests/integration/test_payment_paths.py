"""One bank reference is one transfer, whichever way it arrives (FINDINGS D1): every pair of the
paths money takes into Relance with a bank reference (the JSON API, a CSV of transfers, the
bank's CAMT.053 statement matched by invoice number, a statement credit the accountant assigns
on the bank page, the accountant's own entry), in both orders, on SQLite and PostgreSQL.

The same amount a second time is "already known" (the invoice is paid 300 EUR once); another
amount under the same reference is never counted and never dropped: the API answers 409, the
CSV names the line, the statement parks it on the bank page as a conflict, and the bank page
and the manual entry refuse it with the reason."""
import html
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.extensions import db
from portal.models import BankCredit, Invoice, Payment
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import csrf, login
from tests.integration.test_camt import entry, statement

AUTH = {"Authorization": "Bearer test-api-token"}
PATHS = ("api", "csv", "statement", "bank_page", "manual")
REF = "BANKREF7-0001"


@pytest.fixture
def books(any_app):
    """One debtor with one 1,000.00 EUR invoice, and an accountant."""
    customer = make_customer(name="Menuiserie Sept")
    invoice = make_invoice(customer, clock.today() - timedelta(days=20), 100_000, number="M7-1")
    create_user("compta@atelier.example", "correct horse battery staple", role="accountant")
    db.session.commit()
    client = any_app.test_client()
    login(client)
    return any_app, client, customer, invoice


def park(app, tmp_path, amount, name="parked.xml"):
    """A statement credit that names no invoice: it waits on the bank page."""
    path = tmp_path / name
    path.write_bytes(statement(entry(REF, amount, clock.today().isoformat(), "VIREMENT SEPA",
                                     "sans reference")))
    result = app.test_cli_runner().invoke(args=["payments", "import", str(path)])
    assert result.exit_code == 0, result.output
    return db.session.scalar(select(BankCredit).order_by(BankCredit.id.desc()))


def arrive(path, books, tmp_path, amount, parked=None):
    """Bring 'amount' (text, e.g. "300.00") with reference REF through `path`; returns what
    that path answered (text), for the conflict cases to read."""
    app, client, customer, invoice = books
    if path == "api":
        answer = client.post("/api/v1/payments", headers=AUTH, json={
            "invoice_number": invoice.number, "amount": amount, "currency": "EUR",
            "external_id": REF, "date": clock.today().isoformat()})
        assert answer.status_code in (200, 201, 409), answer.get_data(as_text=True)
        return f"{answer.status_code} {answer.get_data(as_text=True)}"
    if path == "csv":
        file = tmp_path / "transfers.csv"
        file.write_text("invoice_number;amount;date;external_id\n"
                        f"{invoice.number};{amount};{clock.today().isoformat()};{REF}\n")
        result = app.test_cli_runner().invoke(args=["payments", "import", str(file)])
        return f"{result.exit_code} {result.output}"
    if path == "statement":
        file = tmp_path / "statement.xml"
        file.write_bytes(statement(entry(REF, amount, clock.today().isoformat(),
                                         customer.name, f"Facture {invoice.number}")))
        result = app.test_cli_runner().invoke(args=["payments", "import", str(file)])
        assert result.exit_code == 0, result.output
        return result.output
    page = client.get("/admin/bank" if path == "bank_page"
                      else f"/admin/customers/{customer.id}").get_data(as_text=True)
    if path == "bank_page":
        credit = parked or park(app, tmp_path, amount)
        answer = client.post(f"/admin/bank/{credit.id}", data={
            "csrf_token": csrf(page), "invoice_number": invoice.number, "decision": "assign"})
        return html.unescape(client.get(answer.location).get_data(as_text=True))
    answer = client.post(f"/admin/customers/{customer.id}/payments", data={
        "csrf_token": csrf(page), "invoice_number": invoice.number, "amount": amount.replace(".", ","),
        "received_on": clock.today().isoformat(), "reference": REF}, follow_redirects=True)
    return html.unescape(answer.get_data(as_text=True))


def received(customer):
    db.session.expire_all()
    return db.session.scalar(select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
        Payment.customer_id == customer.id, Payment.state == "succeeded"))


@pytest.mark.parametrize("first,second", list(itertools.product(PATHS, PATHS)),
                         ids=lambda p: p)
def test_one_reference_is_one_transfer_whichever_paths_bring_it(books, tmp_path, first, second):
    app, client, customer, invoice = books
    # A statement credit that arrives before the other path but waits on the bank page until
    # the accountant assigns it (after the other path recorded the transfer).
    parked = park(app, tmp_path, "300.00") if second == "bank_page" else None
    arrive(first, books, tmp_path, "300.00")
    # (A statement entry with the reference of the parked one is that same entry: it waits.)
    assert received(customer) == (0 if parked and first == "statement" else 30_000)
    arrive(second, books, tmp_path, "300.00", parked=parked)
    assert received(customer) == 30_000, f"{first} then {second} counted the transfer twice"
    assert db.session.get(Invoice, invoice.id).paid_cents == 30_000
    assert db.session.scalar(select(func.count(Payment.id)).where(
        Payment.external_id == REF)) == 1
    # Nothing left for the accountant to reconcile: the transfer is known.
    assert db.session.scalar(select(func.count(BankCredit.id)).where(
        BankCredit.state.in_(("unmatched", "conflict")))) == 0


@pytest.mark.parametrize("first,second", list(itertools.product(PATHS, PATHS)),
                         ids=lambda p: p)
def test_the_same_reference_for_another_amount_is_a_conflict_for_a_human(books, tmp_path,
                                                                          first, second):
    app, client, customer, invoice = books
    parked = park(app, tmp_path, "99.00") if second == "bank_page" else None
    if parked:
        # The 99.00 credit waited on the bank page first: the 300.00 that comes later under its
        # reference is the one in conflict, whatever its path (refused, or kept on the bank page
        # as a conflict; there the accountant may still say it is another transfer).
        arrive(first, books, tmp_path, "300.00")
        decided = 30_000 if first == "bank_page" else 0
        assert received(customer) == decided
        arrive(second, books, tmp_path, "99.00", parked=parked)
        assert received(customer) == 9_900 + decided
        return
    arrive(first, books, tmp_path, "300.00")
    answer = arrive(second, books, tmp_path, "99.00", parked=parked)
    assert received(customer) == 30_000, f"{first} then {second}: the 99.00 was counted"
    said = {"api": "409", "csv": "already recorded", "statement": "1 waiting",
            "bank_page": "déjà enregistrée", "manual": "déjà enregistrée"}[second]
    assert said in answer
    if second == "statement":  # neither counted nor dropped: on the bank page, as a conflict
        conflict = db.session.scalar(select(BankCredit).where(BankCredit.state == "conflict"))
        assert conflict.amount_cents == 9_900
        page = html.unescape(client.get("/admin/bank").get_data(as_text=True))
        assert "Même référence qu'un" in page and REF in page
    if second == "bank_page":  # the credit still waits for the accountant
        assert db.session.get(BankCredit, parked.id).state == "unmatched"


def test_a_transfer_known_by_the_api_is_not_parked_from_the_statement(books, tmp_path):
    """D1's second case: the API payment settled the invoice in full; the statement's credit
    (which then matches no open invoice) is "already known", not a credit to assign by hand."""
    app, client, customer, invoice = books
    arrive("api", books, tmp_path, "1000.00")
    path = tmp_path / "s.xml"
    path.write_bytes(statement(entry(REF, "1000.00", clock.today().isoformat(), customer.name,
                                     f"Facture {invoice.number}")))
    result = app.test_cli_runner().invoke(args=["payments", "import", str(path)])
    assert "0 matched and recorded, 1 already known, 0 waiting" in result.output
    assert received(customer) == 100_000
    assert db.session.scalar(select(func.count(BankCredit.id))) == 0


def test_two_amounts_under_one_reference_in_one_statement(books, tmp_path):
    """D11: the second entry is not silently dropped as "already known"."""
    app, client, customer, invoice = books
    path = tmp_path / "s.xml"
    day = clock.today().isoformat()
    path.write_bytes(statement(entry(REF, "10.00", day, customer.name, invoice.number),
                               entry(REF, "99.00", day, customer.name, invoice.number)))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["payments", "import", str(path)])
    assert "1 matched and recorded, 0 already known, 1 waiting" in result.output
    assert "1 with a reference already recorded for another amount" in result.output
    assert received(customer) == 1_000
    again = runner.invoke(args=["payments", "import", str(path)])  # a replay changes nothing
    assert "0 matched and recorded, 2 already known, 0 waiting" in again.output
    conflict = db.session.scalar(select(BankCredit).where(BankCredit.state == "conflict"))
    # The accountant says it is another transfer: recorded under its own id, once.
    page = client.get("/admin/bank").get_data(as_text=True)
    client.post(f"/admin/bank/{conflict.id}", data={
        "csrf_token": csrf(page), "invoice_number": invoice.number, "decision": "assign"})
    assert received(customer) == 10_900
    assert db.session.get(BankCredit, conflict.id).state == "assigned"


@pytest.mark.parametrize("amount", ["1E+1", "١٠.٠٠", "NaN", "sNaN", "Infinity", "1" + "0" * 30])
def test_statement_amounts_are_read_as_the_standard_writes_them(books, tmp_path, amount):
    """D7, D11: an exponent, another script's digits, NaN or Infinity are a line error that
    names the entry, never 10.00 EUR or a traceback; nothing is written."""
    app, *_ = books
    path = tmp_path / "s.xml"
    path.write_bytes(statement(entry("BQ-1", amount, clock.today().isoformat(), "X", "Y")))
    result = app.test_cli_runner().invoke(args=["payments", "import", str(path)])
    assert result.exit_code == 1 and "entry 1" in result.output and "amount" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert db.session.scalar(select(func.count(Payment.id))) == 0


@pytest.mark.parametrize("booked", ["9999-12-31", "0001-01-01"])
def test_statement_dates_out_of_range_are_refused(books, tmp_path, booked):
    app, *_ = books
    path = tmp_path / "s.xml"
    path.write_bytes(statement(entry("BQ-1", "10.00", booked, "X", "Y")))
    result = app.test_cli_runner().invoke(args=["payments", "import", str(path)])
    assert result.exit_code == 1 and "out of range" in result.output


def test_eight_accountants_deciding_one_bank_credit_at_once(books, tmp_path):
    """D8: eight sessions assign (or set aside) the same waiting credit at the same instant,
    on a real threaded server: one wins, the seven others are told it is already dealt with
    (302 and a message, never a 500), and the money is counted once."""
    from tests.helpers import Browser, at_once, served
    app, client, customer, invoice = books
    others = [make_invoice(customer, clock.today() - timedelta(days=10), 30_000,
                           number=f"M7-{n}") for n in range(2, 6)]
    db.session.commit()
    credit = park(app, tmp_path, "300.00")
    with served(app) as base:
        browsers = [Browser(base) for _ in range(8)]
        for b in browsers:
            status, _, _ = b.post("/admin/login", {"csrf_token": b.token("/admin/login"),
                                                   "email": "compta@atelier.example",
                                                   "password": "correct horse battery staple"})
            assert status == 302
        tokens = [b.token("/admin/bank") for b in browsers]
        numbers = [invoice.number] + [i.number for i in others]
        results = at_once(8, lambda i: browsers[i].post(f"/admin/bank/{credit.id}", {
            "csrf_token": tokens[i], "invoice_number": numbers[i % len(numbers)],
            "decision": "ignore" if i % 4 == 3 else "assign"}))
        pages = [html.unescape(b.get("/admin/bank")[2]) for b in browsers]
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r[0] for r in results) == [302] * 8
    assert sum("déjà été traité" in page for page in pages) == 7
    db.session.expire_all()
    assert db.session.get(BankCredit, credit.id).state in ("assigned", "ignored")
    assert received(customer) in (0, 30_000)
    assert db.session.scalar(select(func.count(Payment.id))) <= 1


def test_the_books_paid_amount_tops_up_what_relance_already_knows(books, tmp_path):
    """The accounting tool's `amount_paid` counts every payment it knows; money Relance recorded
    itself (here a transfer by the API) is not counted again when the books catch up with it.
    In the other order the books' figure stands until the transfer is seen, then the next import
    leaves only what is still unexplained (never less than what was really received)."""
    app, client, customer, invoice = books
    runner = app.test_cli_runner()

    def books_say(paid):
        path = tmp_path / "books.csv"
        path.write_text(
            "customer_ref,customer_name,email,phone,language,invoice_number,issue_date,"
            "due_date,currency,amount,amount_paid\n"
            f"{customer.ref},{customer.name},{customer.email},,fr,{invoice.number},"
            f"{invoice.issue_date.isoformat()},{invoice.due_date.isoformat()},EUR,1000.00,{paid}\n")
        result = runner.invoke(args=["invoices", "import", str(path)])
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        return db.session.get(Invoice, invoice.id).paid_cents

    arrive("api", books, tmp_path, "300.00")
    assert books_say("300.00") == 30_000  # the books now know the transfer: still 300
    assert books_say("450.00") == 45_000  # 150 more the books know of (a cheque)
    assert books_say("450.00") == 45_000  # the same figure again changes nothing
    assert books_say("300.00") == 30_000  # the cheque was a mistake: back to the transfer
    assert received(customer) == 30_000
