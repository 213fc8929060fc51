"""The debtors and invoices lists of the back office: search, every filter, sort, pages, the CSV
of the filtered list, what comes next on each row, and a number of SQL statements that does not
grow with the rows shown."""
import csv
import html
import io
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event

from portal import clock
from portal.extensions import db
from portal.bookkeeping import place_hold, record_payment
from portal.models import Reminder, utcnow
from portal.instalments import propose, request_plan
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, login


@pytest.fixture
def book(any_app):
    """Six debtors, one of each situation the filters tell apart."""
    today = clock.today()
    late = make_customer(name="Menuiserie Girard", email="compta@girard.example",
                         phone="+33 4 78 11 22 33", tier="risky")
    girard = make_invoice(late, today - timedelta(days=70), 240_000, number="MG-70")
    db.session.add(Reminder(customer_id=late.id, invoice_id=girard.id, level=2, state="sent",
                            scheduled_for=today - timedelta(days=40),
                            sent_at=utcnow() - timedelta(days=40)))
    # ... and what the run keeps on the invoice when it records it (reminders.deliver)
    girard.reminder_level, girard.reminder_sent_on = 2, today - timedelta(days=40)
    girard.reminder_sent_at = utcnow() - timedelta(days=40)
    promised = make_customer(name="Garage Roux")
    roux = make_invoice(promised, today - timedelta(days=10), 50_000, number="GR-10")
    place_hold(roux, "promise", today, until=today + timedelta(days=6), actor="debtor")
    paused = make_customer(name="Fleurs Gauthier", paused_until=today + timedelta(days=9))
    make_invoice(paused, today - timedelta(days=20), 12_000, number="FG-20")
    planned = make_customer(name="Pâtisserie Lambert")
    lambert = make_invoice(planned, today - timedelta(days=30), 90_000, number="PL-30")
    request_plan(planned, [lambert], propose(planned, [lambert], 9, today + timedelta(days=10),
                                             today), "Trésorerie", today)
    credit = make_customer(name="Optique Perrin")
    perrin = make_invoice(credit, today - timedelta(days=3), 30_000, number="OP-3")
    record_payment(customer=credit, source="csv", external_id="VIR-1", amount_cents=45_000,
                   received_on=today - timedelta(days=1), invoices=[perrin])
    consumer = make_customer(name="Claire Dubois", debtor_type="consumer")
    make_invoice(consumer, today + timedelta(days=12), 8_000, number="CD-0")
    create_user("compta@atelier.example", PASSWORD)
    db.session.commit()
    client = any_app.test_client()
    login(client)
    return client


def promise_kept_until():
    """The last day Garage Roux's promise (6 days from today) holds reminders: its date and
    the policy's grace, in business days."""
    return (clock.today() + timedelta(days=6)).strftime("%d/%m/%Y")


def names(client, query):
    page = client.get(f"/admin/debtors?{query}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return sorted(n for n in ("Menuiserie Girard", "Garage Roux", "Fleurs Gauthier",
                              "Pâtisserie Lambert", "Optique Perrin", "Claire Dubois")
                  if n in text)


def test_search_and_every_filter(book):
    assert len(names(book, "")) == 6
    assert names(book, "q=MG-70") == ["Menuiserie Girard"]  # an invoice number
    assert names(book, "q=78+11") == ["Menuiserie Girard"]  # part of the phone
    assert names(book, "q=GIRARD.example") == ["Menuiserie Girard"]  # e-mail, any case
    assert names(book, "q=100%25") == []  # a LIKE wildcard is searched for, not matched
    assert names(book, "bucket=61-90") == ["Menuiserie Girard"]
    assert names(book, "bucket=not_due") == ["Claire Dubois"]
    assert names(book, "bucket=1-30") == sorted(["Garage Roux", "Fleurs Gauthier",
                                                  "Pâtisserie Lambert"])  # Perrin paid
    assert names(book, "level=2") == ["Menuiserie Girard"]
    assert "Menuiserie Girard" not in names(book, "level=none")
    assert names(book, "hold=promise") == ["Garage Roux"]
    assert names(book, "hold=any") == sorted(["Garage Roux", "Pâtisserie Lambert"])
    assert names(book, "paused=yes") == ["Fleurs Gauthier"]
    assert names(book, "plan=yes") == ["Pâtisserie Lambert"]
    assert names(book, "credit=yes") == ["Optique Perrin"]
    assert names(book, "debtor_type=consumer") == ["Claire Dubois"]
    assert names(book, "tier=risky") == ["Menuiserie Girard"]
    assert names(book, "tier=nonsense&level=x' OR 1=1--") == sorted(names(book, ""))


def test_sort_pages_and_the_csv_of_the_filtered_list(book):
    text = book.get("/admin/debtors?sort=balance").get_data(as_text=True)
    assert text.index("Menuiserie Girard") < text.index("Pâtisserie Lambert") \
        < text.index("Garage Roux")  # 2,400 > 900 > 500
    text = book.get("/admin/debtors?sort=oldest_due").get_data(as_text=True)
    assert text.index("Menuiserie Girard") < text.index("Pâtisserie Lambert") \
        < text.index("Claire Dubois")
    exported = book.get("/admin/debtors.csv?bucket=1-30&sort=name")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["customer_name"] for r in rows] == ["Fleurs Gauthier", "Garage Roux",
                                                  "Pâtisserie Lambert"]
    roux = next(r for r in rows if r["customer_name"] == "Garage Roux")
    until = promise_kept_until()
    assert roux["balance"] == "500.00" and until in roux["next_action"]
    credit = book.get("/admin/debtors.csv?credit=yes")
    rows = list(csv.DictReader(io.StringIO(credit.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["customer_name"], r["credit"], r["balance"], r["open_invoices"]) for r in rows] \
        == [("Optique Perrin", "150.00", "0.00", "0")]
    invoices = book.get("/admin/invoices.csv?status=all&q=PL-")
    rows = list(csv.DictReader(io.StringIO(invoices.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["invoice_number"] for r in rows] == ["PL-30"]


def test_each_row_says_what_comes_next_in_the_readers_language(book):
    text = book.get("/admin/debtors?q=Girard").get_data(as_text=True)
    assert "relance de niveau 3 le" in text  # level 2 sent 40 days ago: level 3 is due
    text = html.unescape(book.get("/admin/debtors?q=Dubois").get_data(as_text=True))
    assert "rappel avant échéance le" in text  # due in 12 days: the heads-up comes first
    until = promise_kept_until()
    text = html.unescape(book.get("/admin/debtors?q=Roux").get_data(as_text=True))
    assert f"en attente (paiement promis) jusqu'au {until}" in text
    db.session.execute(db.text("UPDATE user_account SET language = 'en'"))
    db.session.commit()
    text = html.unescape(book.get("/admin/debtors?q=Roux").get_data(as_text=True))
    assert f"on hold (promised payment) until {until}" in text
    db.session.execute(db.text("UPDATE user_account SET language = NULL"))
    db.session.commit()
    page = html.unescape(book.get("/admin/invoices?q=FG-20").get_data(as_text=True))
    until = (clock.today() + timedelta(days=9)).strftime("%d/%m/%Y")
    assert f"relances suspendues jusqu'au {until}" in page


def test_the_pages_cost_the_same_queries_for_5_or_50_rows(any_app, book):
    for n in range(60):
        customer = make_customer(name=f"Client {n:02d}")
        make_invoice(customer, clock.today() - timedelta(days=n + 1), 1_000 + n, number=f"N-{n}")
    db.session.commit()
    counts = {}
    for query in ("q=Client+0", "sort=name"):  # 10 rows, then a full page of 50
        for path in ("/admin/debtors", "/admin/invoices"):
            statements = []

            def listener(conn, cursor, statement, *args):
                statements.append(statement)
            sa_event.listen(db.engine, "before_cursor_execute", listener)
            try:
                assert book.get(f"{path}?{query}").status_code == 200
            finally:
                sa_event.remove(db.engine, "before_cursor_execute", listener)
            counts[(path, query)] = len(statements)
    assert counts[("/admin/debtors", "q=Client+0")] == counts[("/admin/debtors", "sort=name")]
    assert counts[("/admin/invoices", "q=Client+0")] == counts[("/admin/invoices", "sort=name")]
    first = book.get("/admin/debtors?sort=name").get_data(as_text=True)
    second = book.get("/admin/debtors?sort=name&page=2").get_data(as_text=True)
    assert "66 débiteurs" in first and "page 1 sur 2" in first and "page 2 sur 2" in second
    assert "Client 00" in first and "Client 00" not in second  # 50 a page, by name
    assert "Pâtisserie Lambert" in second and "Optique Perrin" in second
