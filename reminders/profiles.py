"""Payment habits: each customer's median days late over their last paid invoices, which shifts
the start of their reminders (bounded per tier, see policy.habit_shift)."""
from statistics import median

from sqlalchemy import func, select, update

from portal.extensions import db
from portal.models import Allocation, Customer, Invoice, Payment

RECENT = 20  # invoices considered per customer


def _medians(rows):
    current, lates = None, []
    for customer_id, due_date, paid_on in rows:
        if customer_id != current:
            if current is not None:
                yield current, int(median(lates))
            current, lates = customer_id, []
        if len(lates) < RECENT:
            lates.append((paid_on - due_date).days)
    if current is not None:
        yield current, int(median(lates))


def refresh_profiles():
    """Recompute Customer.median_days_late from paid invoices; return how many changed."""
    paid = (select(Allocation.invoice_id, func.max(Payment.received_on).label("paid_on"))
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Payment.state == "succeeded", Payment.source != "import")
            .group_by(Allocation.invoice_id).subquery())
    rows = db.session.execute(
        select(Invoice.customer_id, Invoice.due_date, paid.c.paid_on)
        .join(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.status == "paid")
        .order_by(Invoice.customer_id, Invoice.due_date.desc())).all()
    known = dict(db.session.execute(
        select(Customer.id, Customer.median_days_late)
        .where(Customer.median_days_late.is_not(None))).all())
    changed = 0
    for customer_id, value in _medians(rows):
        if known.get(customer_id) != value:
            db.session.execute(update(Customer).where(Customer.id == customer_id)
                               .values(median_days_late=value))
            changed += 1
    db.session.commit()
    return changed
