"""The debtor's answer to the accountant's counter-proposal of an instalment plan."""

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from .. import clock
from ..extensions import db
from ..ledger import record_event, release_hold
from ..plans import accept_counter, active_plan, plan_holds
from . import bp
from .forms import ActionForm


@bp.post("/<token>/plan/counter")
def answer_counter():
    if not ActionForm().validate_on_submit():
        abort(400)
    plan = active_plan(g.customer)
    if plan is None or plan.state != "countered":
        abort(404)
    if request.form.get("answer") == "accept":
        if request.form.get("accept") != "y":
            flash(_("Tick the box to accept the schedule."), "error")
            return redirect(url_for(".landing"))
        accept_counter(plan, clock.today(), accepted_ip=request.remote_addr,
                       accepted_user_agent=request.user_agent.string)
        flash(_("Your instalment plan is approved. We will remind you a few days before each "
                "instalment."), "success")
    else:
        plan.state = "rejected"
        for hold in plan_holds(plan, "instalment_request"):
            release_hold(hold, actor="debtor", reason="counter-proposal declined")
        record_event(g.customer.id, "plan_counter_declined", actor="debtor", plan_id=plan.id)
        flash(_("You declined our proposal. Our accounts department will contact you."),
              "warning")
    db.session.commit()
    return redirect(url_for(".landing"))
