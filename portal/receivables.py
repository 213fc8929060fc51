"""The debtors list and the invoices list of the back office, as SQL: search, filters, sort and
pagination computed by the database with one aggregate per fact (balances, last contact, last
payment, highest level), never a query per row. Plain functions of the filters and a date: the
views, the CSV exports and the benchmark call them alike. Scoped to the creditor the request
works for like every ORM statement (`portal.tenancy`)."""
from dataclasses import dataclass, fields
from datetime import timedelta

from sqlalchemy import BigInteger, and_, case, cast, exists, func, or_, select

from .extensions import db
from .bookkeeping import HOLD_KINDS
from .models import (Allocation, Customer, Hold, InstalmentPlan, Invoice, Payment, Reminder,
                     SentMessage)

BUCKETS = ("not_due", "1-30", "31-60", "61-90", "90+")
TIERS = ("key", "standard", "risky")
DEBTOR_TYPES = ("business", "consumer", "public")
LIVE_PLANS = ("requested", "approved", "countered")
PAGE = 50
MAX_QUERY = 100


@dataclass
class Filters:
    """What the accountant asked for, from the query string (unknown values are ignored)."""
    q: str = ""  # name, ref, e-mail, phone or invoice number, any part of it
    tier: str = ""
    debtor_type: str = ""
    level: str = ""  # highest reminder level reached, "0".."99", or "none"
    bucket: str = ""  # the oldest open invoice's lateness, one of BUCKETS
    hold: str = ""  # "any" or a hold kind: on hold, and why
    plan: str = ""  # "yes": an instalment plan asked for or running
    paused: str = ""  # "yes": reminders suspended by the accountant
    credit: str = ""  # "yes": money received beyond the invoices
    handed_over: str = ""  # "yes": handed over to a bailiff / for an injonction de payer
    status: str = ""  # invoices list: open (default), paid, cancelled, all
    sort: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args):
        found = cls()
        for f in fields(cls):
            if f.name == "page":
                found.page = max(1, min(args.get("page", 1, type=int) or 1, 100_000))
            else:
                setattr(found, f.name, (args.get(f.name) or "").strip()[:MAX_QUERY])
        return found

    def args(self, **changes):
        """The query string of these filters (with `changes`), for links and the CSV."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}

    @property
    def any(self):
        """Whether anything narrows the list (the page says "no match" rather than "none")."""
        return any(getattr(self, f.name) for f in fields(self) if f.name not in ("sort", "page"))


def _paid_per_invoice():
    """Per invoice: what succeeded payments settled (`cents`, money and early-payment
    discounts) and, of it, the discounts (`discount_cents`)."""
    discount = case((Allocation.kind == "discount", Allocation.amount_cents), else_=0)
    return (select(Allocation.invoice_id, func.sum(Allocation.amount_cents).label("cents"),
                   func.sum(discount).label("discount_cents"))
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Payment.state == "succeeded").group_by(Allocation.invoice_id).subquery())


# Days late (as of a date) of each bucket, as the dashboard's aging counts them.
BUCKET_DAYS = {"not_due": (None, 0), "1-30": (1, 30), "31-60": (31, 60), "61-90": (61, 90),
               "90+": (91, None)}


def _bucket_bounds(bucket, as_of):
    """(earliest, latest) due date of an invoice in `bucket` on `as_of`; None: unbounded."""
    if bucket == "not_due":
        return as_of, None
    fewest, most = BUCKET_DAYS[bucket]
    return (as_of - timedelta(days=most) if most is not None else None,
            as_of - timedelta(days=fewest))


def _like(column, text):
    return column.ilike(f"%{_escape(text)}%", escape="\\")


def _escape(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _active_hold(as_of, kind=None):
    condition = and_(Hold.customer_id == Customer.id, Hold.released_at.is_(None),
                     or_(Hold.until.is_(None), Hold.until >= as_of))
    if kind:
        condition = and_(condition, Hold.kind == kind)
    return exists().where(condition)


def _credit_per_customer():
    received = (select(Payment.customer_id,
                       func.sum(Payment.amount_cents - Payment.refunded_cents).label("cents"))
                .where(Payment.state == "succeeded").group_by(Payment.customer_id).subquery())
    allocated = (select(Payment.customer_id, func.sum(Allocation.amount_cents).label("cents"))
                 .join(Allocation, Allocation.payment_id == Payment.id)
                 .where(Payment.state == "succeeded", Allocation.kind != "discount")
                 .group_by(Payment.customer_id).subquery())
    return received, allocated


def _common(query, filters, as_of, level, due_date):
    """The filters both lists share: category, debtor type, highest level (`level`), overdue
    bucket (of `due_date`: the oldest open invoice's, or the invoice's)."""
    if filters.tier in TIERS:
        query = query.where(Customer.tier == filters.tier)
    if filters.debtor_type in DEBTOR_TYPES:
        query = query.where(Customer.debtor_type == filters.debtor_type)
    if filters.level == "none":
        query = query.where(level.is_(None))
    elif filters.level.isdigit() and len(filters.level) <= 2:
        query = query.where(level == int(filters.level))
    if filters.bucket in BUCKETS:
        earliest, latest = _bucket_bounds(filters.bucket, as_of)
        if earliest is not None:
            query = query.where(due_date >= earliest)
        if latest is not None:
            query = query.where(due_date <= latest)
    return query


SORTS = {  # name -> (column label, descending?)
    "balance": ("balance", True), "oldest_due": ("oldest_due", False),
    "last_contact": ("last_contact", True), "last_payment": ("last_payment", True),
    "name": ("name", False),
}


def debtors_query(filters, as_of):
    """One row per debtor matching `filters`: id, ref, name, email, phone, tier, debtor_type,
    paused_until, handed_over_on, handover, balance (open invoices), open_count, oldest_due, highest_level, last_contact,
    last_payment, credit; sorted as asked."""
    paid = _paid_per_invoice()
    open_invoices = (
        select(Invoice.customer_id,
               cast(func.sum(Invoice.total_cents - func.coalesce(paid.c.cents, 0)),
                    BigInteger).label("balance"),
               func.count(Invoice.id).label("open_count"),
               func.min(Invoice.due_date).label("oldest_due"))
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.status == "open").group_by(Invoice.customer_id).subquery())
    levels = (select(Reminder.customer_id, func.max(Reminder.level).label("level"))
              .where(Reminder.state == "sent", Reminder.invoice_id.is_not(None))
              .group_by(Reminder.customer_id).subquery())
    contacts = (select(SentMessage.customer_id, func.max(SentMessage.sent_at).label("at"))
                .group_by(SentMessage.customer_id).subquery())
    payments = (select(Payment.customer_id, func.max(Payment.received_on).label("on"))
                .where(Payment.state == "succeeded").group_by(Payment.customer_id).subquery())
    received, allocated = _credit_per_customer()
    credit = (func.coalesce(received.c.cents, 0) - func.coalesce(allocated.c.cents, 0))
    query = (
        select(Customer.id, Customer.ref, Customer.name, Customer.email, Customer.phone,
               Customer.tier, Customer.debtor_type, Customer.paused_until,
               Customer.handed_over_on, Customer.handover,
               func.coalesce(open_invoices.c.balance, 0).label("balance"),
               func.coalesce(open_invoices.c.open_count, 0).label("open_count"),
               open_invoices.c.oldest_due.label("oldest_due"),
               levels.c.level.label("highest_level"), contacts.c.at.label("last_contact"),
               payments.c.on.label("last_payment"), cast(credit, BigInteger).label("credit"))
        .outerjoin(open_invoices, open_invoices.c.customer_id == Customer.id)
        .outerjoin(levels, levels.c.customer_id == Customer.id)
        .outerjoin(contacts, contacts.c.customer_id == Customer.id)
        .outerjoin(payments, payments.c.customer_id == Customer.id)
        .outerjoin(received, received.c.customer_id == Customer.id)
        .outerjoin(allocated, allocated.c.customer_id == Customer.id))
    if filters.q:
        query = query.where(or_(
            _like(Customer.name, filters.q), _like(Customer.ref, filters.q),
            _like(Customer.email, filters.q), _like(Customer.phone, filters.q),
            # One pass over the invoice numbers, not one probe per debtor.
            Customer.id.in_(select(Invoice.customer_id).where(_like(Invoice.number,
                                                                    filters.q)))))
    query = _common(query, filters, as_of, levels.c.level, open_invoices.c.oldest_due)
    if filters.hold == "any":
        query = query.where(_active_hold(as_of))
    elif filters.hold in HOLD_KINDS:
        query = query.where(_active_hold(as_of, filters.hold))
    if filters.plan == "yes":
        query = query.where(exists().where(InstalmentPlan.customer_id == Customer.id,
                                           InstalmentPlan.state.in_(LIVE_PLANS)))
    if filters.paused == "yes":
        query = query.where(Customer.paused_until >= as_of)
    if filters.credit == "yes":
        query = query.where(credit > 0)
    if filters.handed_over == "yes":
        query = query.where(Customer.handed_over_on.is_not(None))
    label, descending = SORTS.get(filters.sort, SORTS["balance"])
    column = query.selected_columns[label]
    order = column.desc() if descending else column.asc()
    nulls = case((column.is_(None), 1), else_=0)  # no contact yet: last, either way
    return query.order_by(nulls, order, Customer.name, Customer.id)


def page_of(query, page, size=PAGE):
    """(rows of `page`, total rows, pages)."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // size))
    page = min(page, pages)
    rows = db.session.execute(query.limit(size).offset((page - 1) * size)).all()
    return rows, total, pages, page


INVOICE_SORTS = {"oldest_due": ("due_date", False), "balance": ("balance", True),
                 "number": ("number", False), "last_contact": ("last_contact", True)}


def invoices_query(filters, as_of):
    """One row per invoice matching `filters` (default: open ones): id, number, customer id,
    name and ref, issue and due dates, total, balance, status, highest level, last contact."""
    paid = _paid_per_invoice()
    levels = (select(Reminder.invoice_id, func.max(Reminder.level).label("level"),
                     func.max(Reminder.sent_at).label("at"))
              .where(Reminder.state == "sent").group_by(Reminder.invoice_id).subquery())
    balance = Invoice.total_cents - func.coalesce(paid.c.cents, 0)
    query = (
        select(Invoice.id, Invoice.number, Invoice.customer_id, Customer.name, Customer.ref,
               Invoice.issue_date, Invoice.due_date, Invoice.total_cents,
               cast(balance, BigInteger).label("balance"), Invoice.status, Invoice.currency,
               levels.c.level.label("highest_level"), levels.c.at.label("last_contact"),
               cast(func.coalesce(paid.c.discount_cents, 0), BigInteger).label("discount"))
        .join(Customer, Customer.id == Invoice.customer_id)
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .outerjoin(levels, levels.c.invoice_id == Invoice.id))
    status = filters.status if filters.status in ("open", "paid", "cancelled", "all") else "open"
    if status != "all":
        query = query.where(Invoice.status == status)
    if filters.q:
        query = query.where(or_(_like(Invoice.number, filters.q), _like(Customer.name, filters.q),
                                _like(Customer.ref, filters.q), _like(Customer.email, filters.q)))
    query = _common(query, filters, as_of, levels.c.level, Invoice.due_date)
    if filters.hold in HOLD_KINDS or filters.hold == "any":
        held = and_(Hold.invoice_id == Invoice.id, Hold.released_at.is_(None),
                    or_(Hold.until.is_(None), Hold.until >= as_of))
        if filters.hold != "any":
            held = and_(held, Hold.kind == filters.hold)
        query = query.where(exists().where(held))
    if filters.paused == "yes":
        query = query.where(Customer.paused_until >= as_of)
    if filters.handed_over == "yes":
        query = query.where(Customer.handed_over_on.is_not(None))
    label, descending = INVOICE_SORTS.get(filters.sort, INVOICE_SORTS["oldest_due"])
    column = query.selected_columns[label]
    nulls = case((column.is_(None), 1), else_=0)
    return query.order_by(nulls, column.desc() if descending else column.asc(), Invoice.id)
