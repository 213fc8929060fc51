"""The worklist's pages: /admin/ lists what needs a human today, debtor by debtor; one form
works any number of its tasks at once (done with an outcome, snoozed, assigned)."""
from datetime import date, timedelta

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from .. import clock, tenancy
from ..extensions import db
from . import bp, page_of
from .forms import PostForm
from .next_step import next_words
from .worklist import DUE, LABELS, OUTCOMES, SORTS, act, build, is_collector, users_here

WORK_PAGE = 50  # debtors a page
ACTIONS = ("done", "snooze", "assign")


def _filters():
    """The filters asked for in the query string; an unknown value is the default."""
    args = request.args
    assignee = args.get("assignee", "")
    if assignee not in ("me", "all"):
        assignee = "me" if is_collector(current_user.id) else "all"
    return {"kind": args.get("kind", "") if args.get("kind", "") in KINDS else "",
            "assignee": assignee,
            "due": args.get("due", "") if args.get("due", "") in DUE else "",
            "sort": args.get("sort", "") if args.get("sort", "") in SORTS else "priority"}


KINDS = LABELS


def _creditor_asked():
    """?creditor=ID: a user granted several creditors opens this one's worklist."""
    asked = request.args.get("creditor", "")
    if not asked:
        return
    if not (asked.isascii() and asked.isdigit() and int(asked) in g.grants):
        abort(404)
    session["creditor"] = int(asked)
    tenancy.enter(int(asked))
    g.creditor_role = g.grants[int(asked)]


@bp.get("/")
def inbox():
    """The worklist: debtors that need a human today, by priority (or as sorted), WORK_PAGE a
    page; below, the calls and letters the schedule holds back, with why and until when."""
    _creditor_asked()
    filters, today = _filters(), clock.today()
    found = build(today, current_user.id, **filters)
    rows, page, pages = page_of(found.rows, WORK_PAGE)
    users = users_here()
    return render_template(
        "backoffice/inbox.html", found=found, rows=rows, page=page, pages=pages,
        filters=filters, kinds=KINDS, sorts=SORTS, due_choices=DUE, outcomes=OUTCOMES,
        users=users, user_names={u.id: u.email for u in users}, today=today,
        tomorrow=today + timedelta(days=1),
        next_words=next_words, form=PostForm(), here=request.full_path.rstrip("?"),
        query={k: v for k, v in filters.items() if v})


@bp.post("/worklist")
def work():
    """One action on the tasks ticked: done (with an outcome), snoozed to a date, assigned."""
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    back = _back(request.form.get("next"))
    keys, action = request.form.getlist("task"), request.form.get("action", "")
    if not keys:
        flash(_("Tick at least one task, then choose what to do."), "warning")
        return redirect(back)
    if action not in ACTIONS:
        flash(_("Choose what to do with the tasks ticked: done, later or assign."), "warning")
        return redirect(back)
    try:
        options = _options(action)
    except ValueError as exc:
        flash(str(exc), "warning")
        return redirect(back)
    count = act(keys, action, clock.today(), current_user, **options)
    db.session.commit()
    if count < len(set(keys)):
        flash(ngettext("%(num)d task is no longer on the list; nothing was done to it.",
                       "%(num)d tasks are no longer on the list; nothing was done to them.",
                       len(set(keys)) - count), "warning")
    flash(DONE_WORDS[action](count), "success")
    return redirect(back)


DONE_WORDS = {
    "done": lambda n: ngettext("%(num)d task done.", "%(num)d tasks done.", n),
    "snooze": lambda n: ngettext("%(num)d task put off.", "%(num)d tasks put off.", n),
    "assign": lambda n: ngettext("%(num)d task assigned.", "%(num)d tasks assigned.", n),
}


def _options(action):
    """The action's own fields, checked; ValueError with what to do when one is wrong."""
    form, today = request.form, clock.today()
    if action == "done":
        outcome = form.get("outcome") or "done"
        note = (form.get("note") or "").strip()
        if outcome not in OUTCOMES:
            raise ValueError(_("Choose an outcome from the list."))
        if len(note) > 500:
            raise ValueError(_("The note is too long (500 characters at most)."))
        return {"outcome": outcome, "note": note or None}
    if action == "snooze":
        try:
            until = date.fromisoformat(form.get("until") or "")
        except ValueError:
            raise ValueError(_("Give the date the tasks come back (after today).")) from None
        if not today < until <= today + timedelta(days=366):
            raise ValueError(_("Give the date the tasks come back: after today and within "
                               "the coming year."))
        return {"until": until}
    chosen = form.get("assignee", "")
    if chosen == "":
        return {"assignee": None}
    users = {str(u.id): u.id for u in users_here()}
    if chosen not in users:
        raise ValueError(_("Choose a user of this creditor."))
    return {"assignee": users[chosen]}


def _back(target):
    """The worklist as it was filtered (only a path of the worklist itself)."""
    if target and target.startswith("/admin/?") and target.isprintable() \
            and "\\" not in target and "//" not in target:
        return target
    return url_for(".inbox")
