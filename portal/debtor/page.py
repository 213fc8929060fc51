"""The landing page's facts as plain values, and the page rendered once per set of facts.

A debtor's landing page is drawn from a `Snapshot`: every value it shows, read in a fixed
number of statements whatever the number of invoices (the open invoices with their balances,
their holds, the plan in force with its instalments, the credit) and turned into tuples. The
template is given the snapshot and nothing else that varies, so the snapshot *is* what the page
depends on: the HTML rendered from one snapshot is kept (in each worker process, the last
`KEEP` pages) and served again while the snapshot is equal, with the request's own CSRF token
put in. A payment, a promise, a new day, a settings change, another language or another link
gives another snapshot and so a fresh rendering; nothing has to be told to forget.

Only the plain page is kept: a page with form errors or a flash message is rendered each time.
The view (`views.py`) decides that; this module knows nothing of requests but the CSRF token.

The facts themselves are kept too, under the books' version (`portal.changes`) they were read
at: a reload reads that version with the debtor's last visit (`state`, one statement), and reads
the facts (`read`, one more) only when the version moved. Every table the facts come from is
one the version watches.
"""
import secrets
from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Date, Integer, and_, bindparam, func, select, true

from ..rules.schedule import calendar_for, promise_status

from ..changes import Kept
from ..rules.discount import discount_for
from ..extensions import db
from ..models import (PAID_CENTS, BooksVersion, Event, Hold, Instalment, InstalmentPlan,
                      Invoice, Payment, plan_invoice)
from ..payments.lifecycle import credit_cents_of
from ..instalments import ACTIVE, covered_in_order
from ..settings import creditor
from ..rules.story import card_state

KEEP = 256  # pages per worker process (~40 KB each for 20 invoices)
RECENT_PAYMENTS_DAYS = 30  # a payment received this many days ago or less is told on the page
RECENT_PAYMENTS = 5


class Card(NamedTuple):
    """One open invoice as the page shows it."""
    id: int
    number: str
    issue_date: object
    due_date: object
    total_cents: int
    balance_cents: int
    days_late: int
    held: tuple  # ((hold kind, until), ...) in force, sorted
    discount: object = None  # the early-payment discount if paid today (portal.rules.discount)
    state: object = None  # what the page says of it (portal.rules.story.CardState)

    @property
    def holds(self):
        return dict(self.held)

    @property
    def pay_cents(self):
        """What paying it online today costs: its balance, less the discount that holds."""
        return self.discount.pay_cents if self.discount else self.balance_cents


class Received(NamedTuple):
    """A payment of the debtor's received lately, as the page tells it."""
    cents: int
    currency: str
    received_on: object


class Row(NamedTuple):
    """One instalment of the plan in force, with what is paid on it."""
    seq: int
    due_date: object
    amount_cents: int
    remaining_cents: int
    state: str  # paid, partly_paid, due, late, upcoming


class PlanView(NamedTuple):
    id: int
    state: str
    requested_on: object
    decided_on: object
    decision_note: str
    numbers: tuple
    mandate: bool
    rows: tuple


# The page's reads are Core statements built once, filtered by the link's customer (given as a
# parameter): the tenancy hook (`portal.tenancy`) filters ORM statements, and these name their
# customer themselves. Built and compiled once, each costs ~0.1 ms instead of ~0.5 ms.
_invoice, _hold = Invoice.__table__, Hold.__table__
_plan, _instalment, _event = InstalmentPlan.__table__, Instalment.__table__, Event.__table__
_payment = Payment.__table__
_books = BooksVersion.__table__
_customer = bindparam("customer_id", type_=Integer)
_plan_id = bindparam("plan_id", type_=Integer)
_since = bindparam("since", type_=Date)


_ACCOUNT = select(credit_cents_of(_customer).label("credit_cents")).subquery("account")
_HEAD = (select(_plan.c.id, _plan.c.state, _plan.c.requested_at, _plan.c.decided_at,
                _plan.c.decision_note, _plan.c.mandate_payment_method,
                _plan.c.paid_before_cents)
         .where(_plan.c.customer_id == _customer, _plan.c.state.in_(ACTIVE))
         .order_by(_plan.c.id.desc()).limit(1)).subquery("head")
# One row per (open invoice, hold in force), each carrying the account and the plan's head;
# one row of account and plan alone when nothing is open.
_FACTS = (select(_ACCOUNT.c.credit_cents,
                 *(c.label(f"plan_{c.name}") for c in _HEAD.c),
                 _invoice.c.id, _invoice.c.number, _invoice.c.issue_date, _invoice.c.due_date,
                 _invoice.c.total_cents, PAID_CENTS.label("paid_cents"),
                 _hold.c.kind, _hold.c.until)
          .select_from(_ACCOUNT.outerjoin(_HEAD, true())
                       .outerjoin(_invoice, and_(_invoice.c.customer_id == _customer,
                                                 _invoice.c.status == "open"))
                       .outerjoin(_hold, and_(_hold.c.invoice_id == _invoice.c.id,
                                              _hold.c.released_at.is_(None))))
          .order_by(_invoice.c.due_date, _invoice.c.number, _invoice.c.id, _hold.c.kind))
_PLAN_INVOICES = (select(_invoice.c.number, PAID_CENTS)
                  .join(plan_invoice, plan_invoice.c.invoice_id == _invoice.c.id)
                  .where(plan_invoice.c.plan_id == _plan_id, _invoice.c.customer_id == _customer)
                  .order_by(_invoice.c.number))
_INSTALMENTS = (select(_instalment.c.seq, _instalment.c.due_date, _instalment.c.amount_cents)
                .join(_plan, _plan.c.id == _instalment.c.plan_id)
                .where(_instalment.c.plan_id == _plan_id, _plan.c.customer_id == _customer)
                .order_by(_instalment.c.seq))


_RECEIVED = (select(_payment.c.amount_cents - _payment.c.refunded_cents, _payment.c.currency,
                    _payment.c.received_on)
             .where(_payment.c.customer_id == _customer, _payment.c.state == "succeeded",
                    _payment.c.received_on >= _since,
                    _payment.c.amount_cents > _payment.c.refunded_cents)
             .order_by(_payment.c.received_on.desc(), _payment.c.id.desc())
             .limit(RECENT_PAYMENTS))


def _read(statement, **params):
    return db.session.connection().execute(statement, params)


class Read(NamedTuple):
    credit_cents: int  # money received beyond what the invoices owed
    cards: tuple  # the open invoices, oldest due first
    plan: object  # the plan in force as a PlanView, or None
    received: tuple = ()  # the payments received lately (Received), newest first


_STATE = select(
    select(_books.c.n).where(_books.c.id == 1).scalar_subquery().label("version"),
    select(func.max(_event.c.at))
    .where(_event.c.customer_id == _customer, _event.c.kind == "portal_visit")
    .scalar_subquery().label("last_visit"))


def state(customer_id):
    """(the books' version, the debtor's last portal visit or None), in one statement: read
    first, the version says whether what was read of the books before is still true."""
    row = _read(_STATE, customer_id=customer_id).one()
    return row.version or 0, row.last_visit


def read(customer_id, today, policy, calendar=None):
    """What the customer's page shows: two statements, four when a plan is in force, whatever
    the number of invoices. `policy`: the customer's (the early-payment discount, a promise's
    grace); `calendar`: the creditor's business days (None: its country's)."""
    cards, current, held = [], None, []

    def close():
        if current is not None:
            paid = int(current.paid_cents)
            discount = policy and discount_for(policy, current.total_cents, paid,
                                               current.issue_date, current.due_date, today)
            cards.append(Card(current.id, current.number, current.issue_date, current.due_date,
                              current.total_cents, current.total_cents - paid,
                              max(0, (today - current.due_date).days), tuple(held),
                              discount or None))

    rows = _read(_FACTS, customer_id=customer_id).all()
    for row in rows:
        if row.id is None:
            continue
        if current is None or row.id != current.id:
            close()
            current, held = row, []
        if row.kind is not None:
            held.append((row.kind, row.until))
    close()
    first = rows[0]
    plan = _plan_view(first, customer_id, today) if first.plan_id is not None else None
    calendar = calendar or calendar_for(creditor().holiday_country)
    received = tuple(Received(int(cents), currency, on) for cents, currency, on in _read(
        _RECEIVED, customer_id=customer_id,
        since=today - timedelta(days=RECENT_PAYMENTS_DAYS)))
    return Read(int(first.credit_cents), tuple(_told(c, plan, policy, calendar, today)
                                               for c in cards), plan, received)


def _told(card, plan, policy, calendar, today):
    """The card with what the page says of it (`portal.rules.story.card_state`), its promise as the
    schedule sees it (`schedule.promise_status`: its grace included)."""
    held = card.holds
    promise = promise_status(held["promise"], policy, calendar, today, settled=False) \
        if held.get("promise") else None
    in_plan = plan is not None and card.number in plan.numbers
    return card._replace(state=card_state(held, plan.state if in_plan else None, promise,
                                          card.days_late))


def _plan_view(head, customer_id, today):
    """The plan in force with each instalment's state: payments on its invoices since it began
    cover the instalments in order."""
    invoices = _read(_PLAN_INVOICES, customer_id=customer_id, plan_id=head.plan_id).all()
    instalments = _read(_INSTALMENTS, customer_id=customer_id, plan_id=head.plan_id).all()
    paid = sum(int(paid) for _, paid in invoices) - head.plan_paid_before_cents
    rows = [Row(i.seq, i.due_date, i.amount_cents, i.amount_cents - covered, state)
            for i, covered, state in covered_in_order(instalments, paid, today)]
    return PlanView(head.plan_id, head.plan_state,
                    head.plan_requested_at.date() if head.plan_requested_at else None,
                    head.plan_decided_at.date() if head.plan_decided_at else None,
                    head.plan_decision_note or "", tuple(number for number, _ in invoices),
                    bool(head.plan_mandate_payment_method), tuple(rows))


def kept():
    """This application's kept reads (each app its own: tests run many apps in one process)."""
    return current_app.extensions.setdefault("relance_portal_reads", Kept(4 * KEEP))


class Rendered:
    """The last KEEP pages rendered, by the facts they were drawn from (safe across threads).
    A page is kept with a placeholder where the request's CSRF token was; `get` puts the new
    request's token in its place."""

    def __init__(self, keep=KEEP):
        self.pages = Kept(keep)
        self.placeholder = "csrf-" + secrets.token_hex(16)  # never in any data: drawn per process
        self.hits = self.misses = 0

    def get(self, key):
        html = self.pages.get(key)
        if html is None:
            self.misses += 1
            return None
        self.hits += 1
        return html.replace(self.placeholder, generate_csrf())

    def put(self, key, html):
        self.pages.put(key, html.replace(generate_csrf(), self.placeholder))
        return html

    def clear(self):
        self.pages.clear()
        self.hits = self.misses = 0


rendered = Rendered()
