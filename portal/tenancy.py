"""Creditors as tenants: every ORM statement sees one creditor's rows only, without asking.

One installation serves several creditors (client companies of an accounting firm). Each
request or run step works for one creditor at a time: `enter(creditor_id)` (a request: the
portal link's debtor, the back-office user's chosen creditor, the API token's, the webhook
URL's) or `scope(creditor_id)` (a block: the run, one creditor after the other). While a
creditor is set, a `do_orm_execute` hook adds SQLAlchemy's `with_loader_criteria` to every ORM
SELECT, UPDATE and DELETE (joins, subqueries and `session.get` included): the creditor's own
column on customers, invoices, payments, settings revisions and API tokens; on the tables that
hang off a customer (events, holds, reminders, messages, tasks, plans, attachments,
SMS, short links) an EXISTS on that
customer; on instalments and allocations an EXISTS on their plan or payment. So a forgotten
`where` cannot show another creditor's row: a page that looks one up by id gets None (a 404).

With no creditor set (CLI commands that span creditors, the overview across a user's
creditors, migrations), statements are left as written and must filter themselves.
Inserts are not filtered: a new customer names its creditor; invoices and payments take their
customer's (`portal.models.accounts._customers_creditor`).

This module imports only the models and the extensions (core layer)."""
from contextlib import contextmanager
from functools import lru_cache

from flask import g, has_app_context
from sqlalchemy import event, exists, inspect, select
from sqlalchemy.orm import Session, with_loader_criteria

from .models.base import TENANT_KEY
from .models import (Allocation, ApiToken, Attachment, BankCredit, Customer, Event, Hold,
                     Instalment,
                     InstalmentPlan, Invoice, Payment, Reminder, SentMessage, SettingsRevision,
                     ShortLink, SmsMessage, Task, WorkItem)

KEY = TENANT_KEY
NOBODY = 0  # a scope that sees no creditor's rows (an invalid link)
# Aliases of the Core tables inside the criteria: not filtered again, and never correlated
# with the same table in the statement they are added to.
_customer = Customer.__table__.alias("tenant_customer")
_plan = InstalmentPlan.__table__.alias("tenant_plan")
_payment = Payment.__table__.alias("tenant_payment")


def current_id():
    """The creditor this context works for, or None (not scoped)."""
    return g.get(KEY) if has_app_context() else None


def enter(creditor_id):
    """Work for this creditor for the rest of the request (or app context)."""
    setattr(g, KEY, creditor_id)


def leave():
    g.pop(KEY, None)


@contextmanager
def scope(creditor_id):
    """Work for this creditor inside the block (None: unscoped), then as before."""
    before = g.get(KEY)
    setattr(g, KEY, creditor_id)
    try:
        yield
    finally:
        setattr(g, KEY, before)


@contextmanager
def unscoped():
    """Statements across creditors inside the block (callers filter by what the user may see)."""
    with scope(None):
        yield


def own(session, model, ident):
    """The row `ident` of `model` when the creditor this context works for may see it, else
    None. A SELECT every time, never `Session.get`: an object already in the session's identity
    map (loaded while working for another creditor) comes back from `get` without a statement,
    hence without the creditor's criteria."""
    key = inspect(model).primary_key[0]
    return session.scalars(select(model).where(key == ident)).first()


OWN_COLUMN = (Customer, Invoice, Payment, SettingsRevision, ApiToken, BankCredit, WorkItem)
VIA_CUSTOMER = (Event, Hold, Reminder, SentMessage, Task, InstalmentPlan, Attachment, SmsMessage,
                ShortLink)


@lru_cache(maxsize=4096)
def _criteria(creditor_id):
    """The options of one creditor, built once. Lambdas, as SQLAlchemy advises for criteria
    added to every statement: the statement's cache key then holds the lambdas' code and the
    creditor id as a parameter, not a copy of every expression (which cost ~0.3 ms a
    statement to build and hash)."""
    def own(cls):
        return cls.creditor_id == creditor_id

    def via_customer(cls):
        return exists().where(_customer.c.id == cls.customer_id,
                              _customer.c.creditor_id == creditor_id).correlate_except(_customer)

    def via_plan(cls):
        return exists().where(
            _plan.c.id == cls.plan_id, _customer.c.id == _plan.c.customer_id,
            _customer.c.creditor_id == creditor_id).correlate_except(_plan, _customer)

    def via_payment(cls):
        return exists().where(_payment.c.id == cls.payment_id,
                              _payment.c.creditor_id == creditor_id).correlate_except(_payment)

    return tuple([with_loader_criteria(m, own, include_aliases=True) for m in OWN_COLUMN]
                 + [with_loader_criteria(m, via_customer, include_aliases=True)
                    for m in VIA_CUSTOMER]
                 + [with_loader_criteria(Instalment, via_plan, include_aliases=True),
                    with_loader_criteria(Allocation, via_payment, include_aliases=True)])


@event.listens_for(Session, "do_orm_execute")
def _filter(state):
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the options of the statement that loaded the row carry over
    creditor_id = current_id()
    if creditor_id is not None:
        state.statement = state.statement.options(*_criteria(creditor_id))


def working_id():
    """The creditor this context works for; unscoped, the first creditor (an installation with
    one creditor needs no --creditor anywhere)."""
    creditor_id = current_id()
    if creditor_id is not None:
        return creditor_id
    from .extensions import db
    from .models import Creditor
    return db.session.scalar(select(Creditor.id).order_by(Creditor.id).limit(1))


def creditor_ids():
    """Every creditor's id, oldest first (the run goes through them in this order)."""
    from .extensions import db
    from .models import Creditor
    return db.session.scalars(select(Creditor.id).order_by(Creditor.id)).all()
