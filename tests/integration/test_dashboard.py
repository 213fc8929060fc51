"""Dashboard figures against a small ledger whose answers were computed by hand, and the CSV
exports (cells that a spreadsheet would run are neutralised)."""
import csv
import io
from datetime import date

from portal.backoffice.metrics import csv_safe, dashboard
from portal.extensions import db
from portal.bookkeeping import place_hold, record_payment
from portal.models import SentMessage
from tests.conftest import make_customer, make_invoice
from tests.helpers import login

AS_OF = date(2026, 6, 30)


def ledger():
    c = make_customer(name='=HYPERLINK("http://evil")', ref="+C1")
    i1 = make_invoice(c, "2026-07-10", 10_000, issued=date(2026, 6, 10), number="I1")
    i2 = make_invoice(c, "2026-06-15", 20_000, issued=date(2026, 5, 16), number="I2")
    i3 = make_invoice(c, "2026-05-20", 30_000, issued=date(2026, 4, 20), number="I3")
    make_invoice(c, "2026-04-10", 40_000, issued=date(2026, 3, 11), number="I4")
    make_invoice(c, "2026-01-15", 50_000, issued=date(2025, 12, 16), number="I5")
    i6 = make_invoice(c, "2026-07-01", 25_000, issued=date(2026, 6, 1), number="I6")
    record_payment(customer=c, source="stripe", external_id="cs_1", amount_cents=5_000,
                   received_on=date(2026, 6, 20), invoices=[i2])
    record_payment(customer=c, source="api", external_id="VIR-1", amount_cents=25_000,
                   received_on=date(2026, 6, 18), invoices=[i6])
    place_hold(i6, "promise", date(2026, 6, 10), until=date(2026, 6, 20))  # kept
    place_hold(i3, "promise", date(2026, 6, 10), until=date(2026, 6, 25))  # broken
    place_hold(i1, "promise", date(2026, 6, 28), until=date(2026, 7, 5))  # running
    for n, level in enumerate((1, 1, 2)):
        db.session.add(SentMessage(message_id=f"<m{n}>", customer_id=c.id, level=level,
                                   recipients="x@y.z", subject="s", body_text="t", body_html="h"))
    db.session.commit()
    return c


def test_figures_computed_by_hand(any_app):
    ledger()
    figures = dashboard(AS_OF)
    assert figures.aging == {"not_due": 10_000, "1-30": 15_000, "31-60": 30_000,
                             "61-90": 40_000, "90+": 50_000}
    assert figures.outstanding_cents == 145_000
    # Sales issued in the 90 days to 30 June: I1 100 + I2 200 + I3 300 + I6 250 = 850.00;
    # DSO = 1 450 / 850 x 90 = 153.5 days.
    assert figures.dso_days == 154
    assert figures.collected_online_cents == 5_000  # the card payment; the transfer is not online
    assert (figures.promises_kept, figures.promises_broken, figures.promises_running) == (1, 1, 1)
    assert figures.reminders_by_level == {1: 2, 2: 1}


def test_csv_cells_are_neutralised():
    assert csv_safe("=1+1") == "'=1+1" and csv_safe("+C1") == "'+C1"
    assert csv_safe("-2") == "'-2" and csv_safe("@SUM(A1)") == "'@SUM(A1)"
    assert csv_safe("Dupont") == "Dupont" and csv_safe(None) == ""


def test_dashboard_page_and_exports(app, client, accountant):  # noqa: F811
    customer = ledger()
    login(client)
    page = client.get("/admin/dashboard").get_data(as_text=True)
    assert "<svg" in page and "Balance âgée" in page and "1\u202f450,00\u00a0€" in page
    exported = client.get("/admin/exports/aging.csv")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "customer_ref" and len(rows) == 6
    assert all(row[0] == "'+C1" and row[1].startswith("'=") for row in rows[1:])
    assert rows[-1][2] == "I1" and rows[-1][6] == "100.00"
    timeline = client.get(f"/admin/customers/{customer.id}/timeline.csv").get_data(as_text=True)
    assert "payment_recorded" in timeline and "hold_promise" in timeline
