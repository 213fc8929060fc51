"""Instalment plans: compute a schedule from the remaining balance (exact to the cent, the last
instalment takes the rounding), decide whether the policy approves it by itself, record the
debtor's acceptance, and derive which instalments are paid. Plain functions; flush, never commit.

A plan's state moves only along NEXT, by a conditional UPDATE: of two decisions taken at once
(two accountants, a double click, the debtor and the accountant) one wins and the other raises
PlanConflict before it has changed anything.

    requested -> approved | countered | rejected
    countered -> approved | rejected
    approved  -> completed | broken
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from .rules.instalments import (MIN_INSTALMENT_CENTS, covered_in_order, monthly_dates,
                                      split_amounts)
from .settings import policy_for

from .answers import AnswerError
from .extensions import db
from .i18n import current_lang, money
from .bookkeeping import compare_and_set, place_hold, record_event, release_hold
from .models import Hold, Instalment, InstalmentPlan, Invoice, utcnow
from .rules.allocation import allocate

ACTIVE = ("requested", "countered", "approved")
NEXT = {
    "requested": {"approved", "countered", "rejected"},
    "countered": {"approved", "rejected"},
    "approved": {"completed", "broken"},
    "rejected": set(), "completed": set(), "broken": set(),
}




class PlanConflict(AnswerError):
    """The plan is no longer in the state this decision was taken on."""


def move(plan, state):
    """Move `plan` to `state`, or raise PlanConflict if that is not a step from its state or if
    another request moved it first (then `plan` shows what that one did)."""
    before = plan.state
    if state not in NEXT[before]:
        raise PlanConflict(f"plan {plan.id} is {before}: it cannot become {state}")
    if not compare_and_set(plan, before, state):
        raise PlanConflict(f"plan {plan.id} was decided meanwhile: it is {plan.state}")


def check_count(total_cents, count):
    """AnswerError, saying what to choose, when `count` instalments of `total_cents` would make
    one smaller than MIN_INSTALMENT_CENTS."""
    if total_cents >= count * MIN_INSTALMENT_CENTS:
        return
    # Worded when the message is read (in the reader's language), not here: no request inside.
    minimum = LazyString(lambda: money(MIN_INSTALMENT_CENTS, current_lang()))
    most = total_cents // MIN_INSTALMENT_CENTS
    if most < 2:
        raise AnswerError(_l("This amount is too small to be paid in instalments (each must be "
                             "at least %(minimum)s): pay it in one go.", minimum=minimum))
    raise AnswerError(_l("Each instalment must be at least %(minimum)s: choose %(most)d "
                         "instalments or fewer.", minimum=minimum, most=most))


@dataclass
class Proposal:
    total_cents: int
    dates: list
    amounts: list
    auto: bool
    why_not: list = field(default_factory=list)  # why the policy does not approve it by itself

    @property
    def count(self):
        return len(self.amounts)


def propose(customer, invoices, count, first_date, as_of):
    """Check a request and compute its schedule; raise AnswerError for input out of range."""
    policy = policy_for(customer.tier, customer.policy)
    if not invoices:
        raise AnswerError(_l("Choose at least one invoice."))
    if not 2 <= count <= policy.instalment_hard_max:
        raise AnswerError(_l("Choose between %(low)d and %(high)d instalments.", low=2,
                             high=policy.instalment_hard_max))
    latest = as_of + timedelta(days=policy.instalment_first_within_days)
    if first_date <= as_of or first_date > latest:
        raise AnswerError(_l("The first instalment must fall after today and no later than "
                             "%(date)s.", date=format_date(latest, "long")))
    for invoice in invoices:
        if invoice.status != "open" or invoice.balance_cents <= 0:
            raise AnswerError(_l("Invoice %(number)s is already settled.", number=invoice.number))
    taken = plan_for_invoices(invoices)
    if taken is not None:
        raise AnswerError(_l("These invoices are already in an instalment plan."))
    total = sum(i.balance_cents for i in invoices)
    check_count(total, count)
    amounts = split_amounts(total, count)
    why_not = [WHY_NOT[code].format(**values) for code, values in
               waiting_rules(policy, customer.tier, count, total, amounts[0])]
    return Proposal(total, monthly_dates(first_date, count), amounts, not why_not, why_not)


# How the plan_waiting event records each rule (the back office words the codes itself).
WHY_NOT = {"count": "more than {max} instalments", "total": "more than {max_eur} EUR in all",
           "first_share": "first instalment under {percent} %", "tier": "customer tier {tier}"}


def waiting_rules(policy, tier, count, total_cents, first_cents):
    """Which rules of `policy` keep a request of `count` instalments for `total_cents` (the
    first of `first_cents`) by a debtor of `tier` from being approved without a human:
    [(code, values)], empty when the policy approves it by itself."""
    found = []
    if count > policy.instalment_max_count:
        found.append(("count", {"count": count, "max": policy.instalment_max_count}))
    if total_cents > policy.instalment_max_total_cents:
        found.append(("total", {"total": total_cents, "max": policy.instalment_max_total_cents,
                                "max_eur": policy.instalment_max_total_cents // 100}))
    if first_cents * 100 < total_cents * policy.instalment_min_first_percent:
        found.append(("first_share", {"first": first_cents,
                                      "percent": policy.instalment_min_first_percent}))
    if tier not in policy.instalment_auto_tiers:
        found.append(("tier", {"tier": tier}))
    return found


def plan_for_invoices(invoices):
    """The active plan covering any of these invoices, if there is one."""
    ids = [i.id for i in invoices]
    return db.session.scalar(
        select(InstalmentPlan).where(InstalmentPlan.state.in_(ACTIVE),
                                     InstalmentPlan.invoices.any(Invoice.id.in_(ids))).limit(1))


def request_plan(customer, invoices, proposal, reason, as_of, accepted_ip=None,
                 accepted_user_agent=None, actor="debtor"):
    """Record the debtor's accepted request; approve it at once when the policy allows."""
    plan = InstalmentPlan(
        customer_id=customer.id, count=proposal.count, first_date=proposal.dates[0],
        reason=(reason or "").strip()[:2000] or None, total_cents=proposal.total_cents,
        paid_before_cents=sum(i.paid_cents for i in invoices), accepted_at=utcnow(),
        accepted_ip=accepted_ip, accepted_user_agent=(accepted_user_agent or "")[:300] or None,
        invoices=list(invoices),
        instalments=[Instalment(seq=n, due_date=d, amount_cents=a) for n, (d, a) in
                     enumerate(zip(proposal.dates, proposal.amounts), start=1)])
    db.session.add(plan)
    db.session.flush()
    record_event(customer.id, "plan_requested", actor=actor, plan_id=plan.id,
                 count=plan.count, total_cents=plan.total_cents,
                 first_date=plan.first_date.isoformat(), reason=plan.reason,
                 invoices=[i.number for i in invoices], ip=accepted_ip)
    if proposal.auto:
        approve(plan, as_of, by="policy", auto=True)
    else:
        for invoice in invoices:
            place_hold(invoice, "instalment_request", as_of, actor=actor, plan_id=plan.id)
        record_event(customer.id, "plan_waiting", plan_id=plan.id, why=proposal.why_not)
    return plan


def approve(plan, as_of, by, auto=False, note=None):
    """The plan's instalments now drive the reminders instead of its invoices'."""
    move(plan, "approved")
    plan.decided_at, plan.decided_by = utcnow(), by
    plan.auto_approved, plan.decision_note = auto, note
    for hold in plan_holds(plan, "instalment_request"):
        release_hold(hold, reason="plan decided")
    for invoice in plan.invoices:
        place_hold(invoice, "plan", as_of, plan_id=plan.id)
    record_event(plan.customer_id, "plan_approved", actor="system" if auto else "accountant",
                 plan_id=plan.id, by=by, auto=auto)
    return plan


def counter(plan, count, first_date, by, note=None):
    """The accountant proposes another schedule for the same amount; the debtor accepts it (or
    not) in the portal. Reminders stay paused meanwhile."""
    if not 2 <= count <= 36:
        raise AnswerError(_l("Choose between %(low)d and %(high)d instalments.", low=2, high=36))
    check_count(plan.total_cents, count)
    move(plan, "countered")
    plan.instalments.clear()
    db.session.flush()  # the old schedule goes before the new one takes its numbers
    plan.instalments = [Instalment(seq=n, due_date=d, amount_cents=a) for n, (d, a) in enumerate(
        zip(monthly_dates(first_date, count), split_amounts(plan.total_cents, count)), start=1)]
    plan.count, plan.first_date = count, first_date
    plan.decided_at, plan.decided_by, plan.decision_note = utcnow(), by, note
    record_event(plan.customer_id, "plan_countered", actor="accountant", plan_id=plan.id, by=by,
                 count=count, first_date=first_date.isoformat(), note=note)
    return plan


def accept_counter(plan, as_of, accepted_ip=None, accepted_user_agent=None):
    """The debtor accepts the accountant's schedule: it is approved as it stands."""
    if plan.state != "countered":
        raise PlanConflict(f"plan {plan.id} is {plan.state}: there is no proposal to accept")
    plan.accepted_at, plan.accepted_ip = utcnow(), accepted_ip
    plan.accepted_user_agent = (accepted_user_agent or "")[:300] or None
    record_event(plan.customer_id, "plan_counter_accepted", actor="debtor", plan_id=plan.id,
                 ip=accepted_ip)
    return approve(plan, as_of, by=plan.decided_by or "accountant", note=plan.decision_note)


def reject(plan, by, note):
    """The accountant says no: the invoices' own reminders resume."""
    move(plan, "rejected")
    plan.decided_at, plan.decided_by, plan.decision_note = utcnow(), by, note
    for hold in plan_holds(plan, "instalment_request"):
        release_hold(hold, actor="accountant", reason="plan rejected")
    record_event(plan.customer_id, "plan_rejected", actor="accountant", plan_id=plan.id, by=by,
                 note=note)
    return plan


def decline_counter(plan):
    """The debtor declines the accountant's counter-proposal: the invoices' reminders resume."""
    if plan.state != "countered":
        raise PlanConflict(f"plan {plan.id} is {plan.state}: there is no proposal to decline")
    move(plan, "rejected")
    for hold in plan_holds(plan, "instalment_request"):
        release_hold(hold, actor="debtor", reason="counter-proposal declined")
    record_event(plan.customer_id, "plan_counter_declined", actor="debtor", plan_id=plan.id)
    return plan


def repeated_request(customer, invoice_ids, count, first_date, within=timedelta(hours=1)):
    """The debtor's active plan if it is this very request, made a moment ago (a double click
    or a resubmitted form), else None. `count` and `first_date` are the form's text."""
    try:
        count, first_date = int(count), date.fromisoformat(first_date)
    except (TypeError, ValueError):
        return None
    plan = active_plan(customer)
    if plan is None or plan.state == "countered" or plan.requested_at < utcnow() - within:
        return None
    same = (plan.count, plan.first_date, {i.id for i in plan.invoices}) == (
        count, first_date, set(invoice_ids))
    return plan if same else None


def plan_holds(plan, kind):
    return [h for h in db.session.scalars(
        select(Hold).where(Hold.kind == kind, Hold.released_at.is_(None),
                           Hold.invoice_id.in_([i.id for i in plan.invoices])))
        if h.details.get("plan_id") == plan.id]


def active_plan(customer):
    return db.session.scalar(select(InstalmentPlan).where(
        InstalmentPlan.customer_id == customer.id, InstalmentPlan.state.in_(ACTIVE))
        .order_by(InstalmentPlan.id.desc()).limit(1))


@dataclass
class InstalmentStatus:
    instalment: Instalment
    paid_cents: int
    state: str  # paid, partly_paid, due, late, upcoming

    @property
    def remaining_cents(self):
        return self.instalment.amount_cents - self.paid_cents


def progress(plan, as_of):
    """Each instalment with what is paid on it: payments on the plan's invoices since the plan
    began cover the instalments in order."""
    paid = sum(i.paid_cents for i in plan.invoices) - plan.paid_before_cents
    return [InstalmentStatus(instalment, covered, state) for instalment, covered, state in
            covered_in_order(plan.instalments, paid, as_of)]


def settle_plans(as_of):
    """Close the approved plans that are fully paid, and break those with an instalment unpaid
    past the policy's grace: their invoices' own reminders take over again. Returns
    (completed, broken) counts."""
    completed = broken = 0
    for plan in db.session.scalars(select(InstalmentPlan)
                                   .where(InstalmentPlan.state == "approved")).all():
        statuses = progress(plan, as_of)
        grace = policy_for(plan.customer.tier, plan.customer.policy).instalment_grace_days
        if all(s.state == "paid" for s in statuses):
            state = "completed"
        elif any(s.state == "late" and (as_of - s.instalment.due_date).days > grace
                 for s in statuses):
            state = "broken"
        else:
            continue
        try:
            move(plan, state)
        except PlanConflict:
            continue  # another run settled it
        completed, broken = completed + (state == "completed"), broken + (state == "broken")
        for hold in plan_holds(plan, "plan"):
            release_hold(hold, reason=f"plan {plan.state}")
        late = [s.instalment.seq for s in statuses if s.state == "late"]
        record_event(plan.customer_id, f"plan_{plan.state}", plan_id=plan.id, late=late)
    db.session.flush()
    return completed, broken


def instalment_allocations(plan, status):
    """How paying what is left of one instalment spreads over the plan's invoices, in order."""
    shares, _ = allocate(status.remaining_cents, [i.balance_cents for i in plan.invoices])
    return [(invoice, share) for invoice, share in zip(plan.invoices, shares) if share]


def next_unpaid(plan, as_of):
    return next((s for s in progress(plan, as_of) if s.state != "paid"), None)
