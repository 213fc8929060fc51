"""The debtor's answer to the accountant's counter-proposal of an instalment plan."""

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from .. import clock
from ..extensions import db
from ..instalments import PlanConflict, accept_counter, active_plan, decline_counter
from . import bp
from .forms import ActionForm
from .views import _landing


@bp.post("/<token>/plan/counter")
def answer_counter():
    if not ActionForm().validate_on_submit():
        abort(400)
    plan = active_plan(g.customer)
    if plan is None or plan.state != "countered":
        abort(404)
    try:
        if request.form.get("answer") == "accept":
            if request.form.get("accept") != "y":
                # The page again, opened at the proposal, with what to do said at its top.
                return _landing(counter_error=_("Tick the box to accept the schedule."),
                                status=422)
            accept_counter(plan, clock.today(), accepted_ip=request.remote_addr,
                           accepted_user_agent=request.user_agent.string)
            flash(_("Your instalment plan is approved. We will remind you a few days before "
                    "each instalment."), "success")
        else:
            decline_counter(plan)
            flash(_("You declined our proposal. Our accounts department will contact you."),
                  "warning")
    except PlanConflict:
        db.session.rollback()  # answered meanwhile: the page shows the plan as it now is
        return redirect(url_for(".landing"))
    db.session.commit()
    return redirect(url_for(".landing"))
