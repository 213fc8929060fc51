"""Adversarial review of the "one payment pipeline" (branch pay, 2026-12-07): each test is a
defect found, and fails on the branch as reviewed. Paths are driven as in test_payment_paths.py
(the JSON API, a CSV of transfers, the CAMT.053 statement, the bank page, the accountant's entry),
on SQLite and PostgreSQL."""
import html
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.extensions import db
from portal.models import Allocation, BankCredit, Invoice, Payment
from portal.payments.lifecycle import customer_credit_cents
from tests.conftest import make_invoice
from tests.helpers import csrf
from tests.integration.test_camt import entry, statement
from tests.integration.test_payment_paths import AUTH, arrive, books, park, received  # noqa: F401

TODAY = clock.today


def import_statement(app, tmp_path, *entries, name="s.xml"):
    path = tmp_path / name
    path.write_bytes(statement(*entries))
    result = app.test_cli_runner().invoke(args=["payments", "import", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def books_say(app, tmp_path, customer, invoice, paid):
    """The accounting tool's CSV says `paid` (text) is paid on the invoice."""
    path = tmp_path / "books.csv"
    path.write_text(
        "customer_ref,customer_name,email,phone,language,invoice_number,issue_date,"
        "due_date,currency,amount,amount_paid\n"
        f"{customer.ref},{customer.name},{customer.email},,fr,{invoice.number},"
        f"{invoice.issue_date.isoformat()},{invoice.due_date.isoformat()},EUR,"
        f"{invoice.total_cents // 100}.{invoice.total_cents % 100:02d},{paid}\n")
    result = app.test_cli_runner().invoke(args=["invoices", "import", str(path)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()


def api_pay(client, invoice, amount, ref):
    return client.post("/api/v1/payments", headers=AUTH, json={
        "invoice_number": invoice.number, "amount": amount, "currency": "EUR",
        "external_id": ref, "date": TODAY().isoformat()})


# --- R1 (High, money): the books first, then the same transfer by the API -------------------

@pytest.mark.parametrize("books_paid,transfer,paid_after", [
    ("1000.00", "1000.00", 100_000),  # the books already know the whole transfer
    ("800.00", "300.00", 80_000),     # the books know 800, of which this 300 transfer
])
def test_a_transfer_the_books_already_counted_is_no_phantom_credit(books, tmp_path, books_paid,
                                                                    transfer, paid_after):
    """set_import_paid tops up in one order only. The books say 1,000.00 is paid (they saw the
    transfer in their bank feed); then the accounting tool posts that same transfer to the API.
    The API's money cannot be allocated (the invoice is paid by the "import" payment), so it
    becomes customer credit; the next import of the same books leaves the import payment as it
    is (the transfer allocated nothing to the invoice): the debtor keeps a credit of money never
    received, for good, shown on the portal and usable on later invoices."""
    app, client, customer, invoice = books
    books_say(app, tmp_path, customer, invoice, books_paid)
    assert api_pay(client, invoice, transfer, "BANKREF-R1").status_code == 201
    books_say(app, tmp_path, customer, invoice, books_paid)  # the books have not changed
    assert db.session.get(Invoice, invoice.id).paid_cents == paid_after
    assert customer_credit_cents(customer.id) == 0, "money counted twice, as a credit"
    assert received(customer) == paid_after


# --- R2 (Medium, conflict dropped): the conflict key collides with a real reference --------

@pytest.mark.parametrize("first_ref,second_ref", [
    ("Q7#500", "Q7"),                   # '#' inside a bank reference
    ("L" * 235 + "-A", "L" * 235 + "-B"),  # two long references alike in their first 230
], ids=["hash", "long"])
def test_a_conflicting_credit_is_never_taken_for_another_reference(books, tmp_path, first_ref,
                                                                    second_ref):
    """camt.conflict_key is f"{ref[:230]}#{cents}", stored in the same column as plain
    references: a credit whose own reference is "Q7#500" (unmatched, waiting) and a later
    credit "Q7" for 5.00 that conflicts with "Q7" known for 3.00 share one key, so the second
    is counted "already known" and silently dropped; likewise two long references. The
    accountant never sees the 5.00 of the second transfer."""
    app, client, customer, invoice = books
    for ref in {first_ref.split("#")[0], second_ref}:  # known by the API for 3.00
        assert api_pay(client, invoice, "3.00", ref).status_code == 201
    day = TODAY().isoformat()
    output = import_statement(app, tmp_path,
                              entry(first_ref, "5.00", day, "Inconnu SA", "sans reference"),
                              entry(second_ref, "5.00", day, "Inconnu SA", "sans reference"))
    db.session.expire_all()
    waiting = db.session.scalar(select(func.count(BankCredit.id)).where(
        BankCredit.state.in_(("unmatched", "conflict"))))
    assert waiting == 2, f"a 5.00 credit was dropped: {output}"


# --- R3 (Medium, money counted twice): two paths at the same instant -------------------------

def test_the_same_transfer_by_the_api_and_the_manual_entry_at_once_counts_once(books):
    """The identity of a transfer is the id space (api, csv, bank, manual), but the unique key
    is (creditor, source, external_id): two paths recording one reference at the same instant
    both read "new" (ledger.identify before any lock) and both insert, under different sources.
    Four API posts and four manual entries of one 300.00 transfer, at once, on a real
    threaded server."""
    from tests.helpers import Browser, at_once, served
    app, client, customer, invoice = books
    with served(app) as base:
        browsers = [Browser(base) for _ in range(8)]
        for b in browsers[4:]:
            status, _, _ = b.post("/admin/login", {"csrf_token": b.token("/admin/login"),
                                                   "email": "compta@atelier.example",
                                                   "password": "correct horse battery staple"})
            assert status == 302
        tokens = {i: browsers[i].token(f"/admin/customers/{customer.id}") for i in range(4, 8)}
        body = json.dumps({"invoice_number": invoice.number, "amount": "300.00",
                           "currency": "EUR", "external_id": "BANKREF-R3",
                           "date": TODAY().isoformat()}).encode()

        def one(i):
            if i < 4:
                return browsers[i].request("POST", "/api/v1/payments", body=body, headers=dict(
                    AUTH, **{"Content-Type": "application/json"}))
            return browsers[i].post(f"/admin/customers/{customer.id}/payments", {
                "csrf_token": tokens[i], "invoice_number": invoice.number, "amount": "300,00",
                "received_on": TODAY().isoformat(), "reference": "BANKREF-R3"})
        results = at_once(8, one)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(r[0] < 500 for r in results), [r[0] for r in results]
    assert received(customer) == 30_000, "one transfer counted twice"
    assert db.session.scalar(select(func.count(Payment.id)).where(
        Payment.external_id == "BANKREF-R3")) == 1


# --- R4 (Medium): a waiting credit whose reference the API then records for another amount --

def test_a_waiting_credit_is_not_stuck_when_its_reference_arrives_for_another_amount(books,
                                                                                      tmp_path):
    """A statement credit of 300.00 waits on the bank page (it named no invoice). The accounting
    tool then posts the same reference for 800.00: the API answers 201 (the waiting credit is
    not consulted), and from then on the bank page refuses every assignment of the 300.00
    credit ("already recorded for another invoice or amount") while showing it as a plain
    unmatched credit: the conflict is neither reported nor decidable; only "ignore" remains,
    which drops 300.00 received."""
    app, client, customer, invoice = books
    credit = park(app, tmp_path, "300.00")
    from tests.integration.test_payment_paths import REF
    answer = api_pay(client, invoice, "800.00", REF)
    if answer.status_code == 409:
        return  # the conflict was said at once: fine
    page = client.get("/admin/bank").get_data(as_text=True)
    shown = "Même référence que" in html.unescape(page)
    client.post(f"/admin/bank/{credit.id}", data={
        "csrf_token": csrf(page), "invoice_number": invoice.number, "decision": "assign"})
    db.session.expire_all()
    assert shown, "the bank page does not say the reference is known for another amount"
    assert db.session.get(BankCredit, credit.id).state == "assigned", \
        "the accountant cannot record the 300.00 credit at all"
    assert received(customer) == 110_000


# --- R5 (Medium, money): the manual entry pays a cancelled invoice --------------------------

@pytest.mark.parametrize("path", ["manual", "bank_page", "api"])
def test_money_is_never_allocated_to_a_cancelled_invoice(books, tmp_path, path):
    """The manual entry's form lists open invoices only, but the POST takes any invoice of the
    debtor; record_payment allocates to a cancelled invoice as if it were owed (settle leaves
    it cancelled): the 300.00 disappears into an invoice that no longer exists instead of
    standing as the debtor's credit. Same by the bank page and the API."""
    app, client, customer, invoice = books
    db.session.get(Invoice, invoice.id).status = "cancelled"
    db.session.commit()
    if path == "api":
        api_pay(client, invoice, "300.00", "BANKREF-R5")
    else:
        arrive(path, books, tmp_path, "300.00")
    db.session.expire_all()
    on_cancelled = db.session.scalar(select(func.coalesce(func.sum(Allocation.amount_cents), 0))
                                     .where(Allocation.invoice_id == invoice.id))
    assert on_cancelled == 0
    if received(customer):  # accepted: then it is the debtor's credit
        assert customer_credit_cents(customer.id) == 30_000


# --- R6 (Low): a waiting credit stays "to reconcile" after the same transfer is recorded ----

def test_a_waiting_credit_leaves_the_bank_page_once_the_same_transfer_is_recorded(books,
                                                                                   tmp_path):
    """A 300.00 credit waits on the bank page; the same transfer (same reference, same amount)
    then arrives by the API and is recorded. The credit stays on the bank page and in the
    to-do list as money to assign, although it is "already known" by the README's rule."""
    app, client, customer, invoice = books
    credit = park(app, tmp_path, "300.00")
    from tests.integration.test_payment_paths import REF
    assert api_pay(client, invoice, "300.00", REF).status_code == 201
    page = client.get("/admin/bank").get_data(as_text=True)
    assert f"/admin/bank/{credit.id}" not in page, "money already recorded waits to be assigned"


# --- R7 (Low, performance): the bank page reads one payment per conflicting credit ----------

def test_the_bank_page_reads_conflicts_in_a_bounded_number_of_queries(books, tmp_path):
    """bank._known_under runs one query per credit in conflict (N+1): 2,000 conflicting credits
    (a month of transfers the accounting tool posted with wrong amounts) take 13 s to render
    on SQLite, against 0.5 s for 2,000 unmatched ones. Counted in queries, not seconds: the
    page's queries must not grow with the number of conflicts."""
    from sqlalchemy import event
    app, client, customer, invoice = books
    day = TODAY().isoformat()
    assert api_pay(client, invoice, "1.00", "K-R7").status_code == 201

    def queries_for_bank_page():
        count = [0]

        def seen(*args):
            count[0] += 1
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert client.get("/admin/bank").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        return count[0]

    import_statement(app, tmp_path, *[entry("K-R7", f"{n + 2}.00", day, "X", "sans reference")
                                      for n in range(5)], name="a.xml")
    few = queries_for_bank_page()
    import_statement(app, tmp_path, *[entry("K-R7", f"{n + 2}.00", day, "X", "sans reference")
                                      for n in range(5, 105)], name="b.xml")
    many = queries_for_bank_page()
    assert many - few < 10, f"{few} queries for 5 conflicts, {many} for 105"


def test_a_checkout_the_books_already_counted_is_no_phantom_credit(app, client, tmp_path):
    """R1 by Stripe: the debtor pays by card; the accounting tool sees the payout and its CSV
    says 1,000.00 paid before Relance's webhook arrives (or a SEPA debit still pending). The
    import payment fills the invoice, the checkout's money is then fitted to nothing
    (_fit_allocations) and stays as a 1,000.00 credit that the next import never removes."""
    from tests.helpers import SECRET, checkout, paid_cents, post_event
    from tests.integration.test_payments import debtor, session
    app.config["STRIPE_WEBHOOK_SECRET"] = SECRET
    customer, (invoice,) = debtor(amounts=(100_000,))
    payment = checkout(customer, [invoice])
    books_say(app, tmp_path, customer, invoice, "1000.00")
    post_event(client, "evt_r1", "checkout.session.completed", session(payment))
    books_say(app, tmp_path, customer, invoice, "1000.00")
    assert paid_cents() == 100_000
    assert customer_credit_cents(customer.id) == 0, "the card payment counted twice, as credit"
