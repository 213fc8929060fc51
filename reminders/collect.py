"""Automatic collection of instalments by SEPA Direct Debit: on each instalment's date, after
the pre-notification e-mail went out (the SEPA rule: the debtor is told amount and date first),
the run asks the gateway for an off-session debit. The provider's events then settle it."""
from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.bookkeeping import record_event
from portal.models import InstalmentPlan, Payment, Reminder
from portal.payments.gateways import GatewayError
from portal.payments.lifecycle import overlapping_checkouts, start_checkout, transition
from portal.instalments import instalment_allocations, progress

from portal.rules.schedule import INSTALMENT_HEADS_UP

IN_COLLECTION = ("created", "pending", "succeeded")


def in_collection(instalment_ids, states=IN_COLLECTION):
    """Instalments with a debit on its way (or done): no "overdue" reminder for them."""
    if not instalment_ids:
        return set()
    return set(db.session.scalars(select(Payment.instalment_id).where(
        Payment.instalment_id.in_(instalment_ids), Payment.state.in_(states))))


def _prenotified(instalment_id, as_of):
    return db.session.scalar(select(Reminder.id).where(
        Reminder.instalment_id == instalment_id, Reminder.level == INSTALMENT_HEADS_UP, Reminder.state == "sent",
        Reminder.scheduled_for < as_of)) is not None


def collect_instalments(as_of, gateway):
    """Debit every instalment due by `as_of` on plans with a mandate; return how many. Commits
    after each one, so a crash never asks for the same debit twice (idempotency keys too)."""
    count = 0
    plans = db.session.scalars(select(InstalmentPlan).where(
        InstalmentPlan.state == "approved",
        InstalmentPlan.mandate_payment_method.is_not(None))).all()
    for plan in plans:
        statuses = [s for s in progress(plan, as_of)
                    if s.state != "paid" and s.instalment.due_date <= as_of]
        # One debit per instalment: after a failure, the reminder and the accountant take over.
        busy = in_collection([s.instalment.id for s in statuses], IN_COLLECTION + ("failed",))
        for status in statuses:
            instalment = status.instalment
            if instalment.id in busy or not _prenotified(instalment.id, as_of):
                continue
            count += _collect_one(plan, status, as_of, gateway)
    return count


def _collect_one(plan, status, as_of, gateway):
    allocations = instalment_allocations(plan, status)
    if overlapping_checkouts(plan.customer, allocations):
        return 0  # the debtor is paying it online right now: no debit on top (next run)
    payment = start_checkout(plan.customer, allocations, gateway.name,
                             f"collect:{status.instalment.id}:{as_of.isoformat()}",
                             plan_id=plan.id, received_on=as_of, checkout=False)
    payment.instalment_id, payment.method = status.instalment.id, "sepa_debit"
    db.session.commit()
    try:
        intent_id, intent_status = gateway.collect(plan.customer, plan, payment)
    except GatewayError as exc:
        transition(payment, "failed", as_of, actor="system", reason=str(exc))
        record_event(plan.customer_id, "collection_failed", plan_id=plan.id, reason=str(exc))
        db.session.commit()
        current_app.logger.warning("collection of instalment %s failed: %s",
                                   status.instalment.id, exc)
        return 0
    payment.payment_intent_id = intent_id
    state = {"succeeded": "succeeded", "requires_payment_method": "failed",
             "canceled": "failed"}.get(intent_status, "pending")
    transition(payment, state, as_of, actor="system", instalment=status.instalment.seq)
    db.session.commit()
    return 1
