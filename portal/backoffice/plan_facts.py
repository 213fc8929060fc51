"""What the plan page says besides the plan: why it waits for a human (the policy's rules,
`plans.waiting_rules`, worded here), the debtor's account and history, the plan's own story."""
from flask_babel import gettext as _
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..i18n import current_lang, money
from ..models import Event, InstalmentPlan, Invoice, Payment
from ..instalments import waiting_rules
from ..settings import current as current_settings
from .account import standing
from .timeline import describe, say

HISTORY = 10  # the debtor's latest events shown under the plan


def why_it_waits(plan):
    """The rules of the debtor's policy that keep this request for a human, in words."""
    customer = plan.customer
    policy = current_settings().policy_for(customer.tier, customer.policy)
    first = plan.instalments[0].amount_cents if plan.instalments else plan.total_cents
    lang = current_lang()
    words = {
        "count": lambda v: _("%(count)d instalments asked for: more than the %(max)d the policy "
                             "approves by itself", count=v["count"], max=v["max"]),
        "total": lambda v: _("%(total)s in all: more than the %(max)s the policy approves by "
                             "itself", total=money(v["total"], lang), max=money(v["max"], lang)),
        "first_share": lambda v: _("a first instalment of %(first)s: under the %(percent)d %% "
                                   "of the total the policy asks for",
                                   first=money(v["first"], lang), percent=v["percent"]),
        "tier": lambda v: _("a debtor in the category “%(tier)s”: the policy approves no plan "
                            "by itself for it", tier=say("tier", v["tier"])),
    }
    return [words[code](values) for code, values in
            waiting_rules(policy, customer.tier, plan.count, plan.total_cents, first)]


def plan_facts(plan):
    """Everything the plan page shows around the decision."""
    customer, today = plan.customer, clock.today()
    invoices = db.session.scalars(select(Invoice).where(Invoice.customer_id == customer.id)
                                  .order_by(Invoice.due_date)).all()
    payments = db.session.scalars(select(Payment).where(Payment.customer_id == customer.id)
                                  .order_by(Payment.received_on.desc())).all()
    events = db.session.execute(
        select(Event, Invoice.number).outerjoin(Invoice, Invoice.id == Event.invoice_id)
        .where(Event.customer_id == customer.id).order_by(Event.at.desc(), Event.id.desc()))
    lines, story = [], []
    for event, number in events:
        line = describe(event, number)
        if (event.details or {}).get("plan_id") == plan.id:
            story.append(line)
        elif len(lines) < HISTORY:
            lines.append(line)
    others = db.session.scalars(select(InstalmentPlan).where(
        InstalmentPlan.customer_id == customer.id, InstalmentPlan.id != plan.id)
        .order_by(InstalmentPlan.requested_at.desc())).all()
    return dict(plan=plan, account=standing(invoices, payments, today), today=today,
                why=why_it_waits(plan) if plan.state == "requested" else [],
                story=story[::-1], history=lines, other_plans=others)
