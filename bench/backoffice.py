"""Benchmark of the back office at scale. Run by hand; prints figures, asserts nothing.

    .venv/bin/python bench/backoffice.py [--invoices 100000] [--postgres]

Builds N open invoices over N/5 debtors (the reminder benchmark's ledger) plus what an inbox
holds in real life (a promise, a dispute and a message for one debtor in 50, a call task for one
in 100), logs in as the accountant and times each page as the accountant opens it (median of
5 requests through the app, after a first one, whose time is printed too: the preview is computed
then and kept while the books do not change, see portal/changes.py): inbox, dashboard, preview of the next run,
one debtor's page, the debtors and invoices lists (filtered, searched, exported). Target: under
300 ms each (the CSV export of a filtered list is measured too, without a target).

The worklist (/admin/, issue 21) is measured as it is worked: some tasks done, snoozed or
assigned, a collector on some debtors, sorted and filtered. Beside each page, its ratio to a
ceiling measured in the same run: one aggregate of every open invoice's balance per debtor (what
a page must never do per view); a page that did it would read 1.0 or more.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.append(os.path.join(ROOT, "bench"))  # after ROOT: bench/portal.py must not hide the package

from sqlalchemy import func, insert, select, update  # noqa: E402

from portal import clock, create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (PAID_CENTS, Creditor, Customer, Event, Hold,  # noqa: E402
                           InstalmentPlan, Invoice, Task, WorkItem)
from portal.users import create_user  # noqa: E402
from reminder_run import AS_OF, PG_URL, generate  # noqa: E402

PASSWORD = "bench password, long enough"
PAGES = ("/admin/", "/admin/dashboard", f"/admin/preview?date={AS_OF.isoformat()}",
         "/admin/customers/{customer}",
         # The lists (issue 10): first page, a filter with a sort, a search, the invoices.
         "/admin/debtors", "/admin/debtors?bucket=61-90&sort=oldest_due",
         "/admin/debtors?q=F00012345", "/admin/invoices", "/admin/invoices?sort=balance&hold=any",
         "/admin/debtors.csv?bucket=61-90",
         # The worklist as it is worked (issue 21): sorted, filtered, mine; a plan to decide.
         "/admin/?sort=name", "/admin/?kind=call&sort=age", "/admin/?assignee=me",
         "/admin/plans/{plan}")


def inbox_items(n_customers):
    invoices = dict(db.session.execute(select(Invoice.customer_id, Invoice.id)).all())
    holds, events, tasks = [], [], []
    for customer_id in range(1, n_customers + 1, 50):
        invoice_id = invoices[customer_id]
        holds.append(dict(customer_id=customer_id, invoice_id=invoice_id, kind="promise",
                          starts_on=AS_OF - timedelta(days=20), until=AS_OF - timedelta(days=3),
                          details={}))
        holds.append(dict(customer_id=customer_id + 1, invoice_id=invoices[customer_id + 1],
                          kind="dispute", starts_on=AS_OF - timedelta(days=4), details={}))
        events.append(dict(customer_id=customer_id, invoice_id=invoice_id, kind="message",
                           actor="debtor", details={"number": f"F{invoice_id:08d}",
                                                    "reason": "question", "text": "Bonjour"}))
    for customer_id in range(3, n_customers + 1, 100):
        tasks.append(dict(customer_id=customer_id, kind="call", level=3, due_on=AS_OF,
                          message_id=f"<bench.{customer_id}@example.fr>",
                          details={"invoices": [f"F{invoices[customer_id]:08d}"]}))
    for model, rows in ((Hold, holds), (Event, events), (Task, tasks)):
        db.session.execute(insert(model), rows)
    db.session.commit()


def worked(n_customers, user_id):
    """The worklist as a team works it: one debtor in 20 has the accountant as collector, one
    message in 5 is done, one dispute in 5 snoozed to next week, one call in 3 assigned; one
    instalment plan waits for a decision."""
    creditor = db.session.scalar(select(Creditor.id))
    db.session.execute(update(Customer).where(Customer.id % 20 == 0).values(collector_id=user_id))
    rows = []
    messages = db.session.execute(select(Event.id, Event.customer_id)
                                  .where(Event.kind == "message")).all()
    rows += [dict(kind="message", ref=i, customer_id=c, state="done", outcome="answered")
             for i, c in messages[::5]]
    disputes = db.session.execute(select(Hold.id, Hold.customer_id)
                                  .where(Hold.kind == "dispute")).all()
    rows += [dict(kind="dispute", ref=i, customer_id=c, state="snoozed",
                  snoozed_until=AS_OF + timedelta(days=7)) for i, c in disputes[::5]]
    calls = db.session.execute(select(Task.id, Task.customer_id)).all()
    rows += [dict(kind="call", ref=i, customer_id=c, state="open", assignee_id=user_id)
             for i, c in calls[::3]]
    db.session.execute(insert(WorkItem), [dict(r, creditor_id=creditor) for r in rows])
    invoice = db.session.get(Invoice, 7)
    plan = InstalmentPlan(customer_id=invoice.customer_id, state="requested", count=9,
                          first_date=AS_OF + timedelta(days=10), total_cents=invoice.total_cents,
                          accepted_at=clock.now(), invoices=[invoice])
    db.session.add(plan)
    db.session.commit()
    return plan.id


def ceiling():
    """What a page must never do per view: the balance of every open invoice, per debtor (ms,
    median of 3)."""
    owed = select(Invoice.customer_id, func.sum(Invoice.total_cents - PAID_CENTS)).where(
        Invoice.status == "open").group_by(Invoice.customer_id)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        db.session.execute(owed).all()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench(url, n_invoices):
    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), clock.pin(AS_OF):
        db.drop_all()
        db.create_all()
        generate(n_invoices)
        inbox_items(n_invoices // 5)
        user = create_user("compta@bench.example", PASSWORD)
        db.session.commit()
        plan = worked(n_invoices // 5, user.id)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        customer = db.session.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1))
        top = ceiling()
        print(f"  ceiling: every open invoice's balance per debtor   {top:8.0f} ms")
        client = app.test_client()
        page = client.get("/admin/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        assert client.post("/admin/login", data={"csrf_token": token,
                                                 "email": "compta@bench.example",
                                                 "password": PASSWORD}).status_code == 302
        for path in PAGES:
            path = path.format(customer=customer, plan=plan)
            started = time.perf_counter()
            client.get(path)
            first = (time.perf_counter() - started) * 1000
            times = []
            for _ in range(5):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            label = path.replace(f"?date={AS_OF.isoformat()}", "")
            median = statistics.median(times)
            print(f"  {label:<44} {median:8.0f} ms  {median / top:5.2f} x ceiling "
                  f"({len(response.data) // 1024} KB; first view {first:,.0f} ms)")
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite, {args.invoices:,} invoices over {args.invoices // 5:,} debtors "
              f"(median of 5 page loads; target < 300 ms)")
        bench(f"sqlite:///{tmp}/backoffice.db", args.invoices)
    if args.postgres:
        print("PostgreSQL")
        bench(PG_URL, args.invoices)


if __name__ == "__main__":
    main()
