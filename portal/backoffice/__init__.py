"""The accountant's back office under /admin/: nothing without login; each page works for one
of the creditors the user is granted (chosen with the switcher, kept in the session), and every
query sees that creditor's rows only (`portal.tenancy`); admin pages by the role held there."""
from functools import wraps

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from markupsafe import Markup

from .. import tenancy
from ..users import granted

bp = Blueprint("backoffice", __name__, url_prefix="/admin")
PUBLIC = {"backoffice.login"}
# Pages that work for no creditor in particular (a user with no grant can still leave).
ANY_CREDITOR = {"backoffice.logout", "backoffice.language", "backoffice.switch_creditor",
                "backoffice.overview"}


@bp.before_request
def require_login():
    if request.endpoint in PUBLIC:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("backoffice.login", next=request.full_path.rstrip("?")))
    return _work_for_a_creditor()


FOR_CREDITOR = "for_creditor"  # the hidden field of every form: the creditor it was opened for


def _work_for_a_creditor():
    """Scope the request to the creditor chosen in the session, if the user is granted it;
    else to the first one they are granted. A form says which creditor it was opened for: saved
    after a switch to another creditor in another tab, it still applies to its own (and that
    creditor becomes the current one), never to whichever the session names by then."""
    grants = granted(current_user)
    g.grants = grants
    if not grants:
        if request.endpoint in ANY_CREDITOR:
            return None
        return render_template("backoffice/no_creditor.html"), 403
    chosen = session.get("creditor")
    posted = request.form.get(FOR_CREDITOR) if request.method == "POST" else None
    if posted is not None and request.endpoint not in ANY_CREDITOR:
        if not (posted.isascii() and posted.isdigit() and int(posted) in grants):
            abort(404)  # a creditor this user may not work for
        chosen = session["creditor"] = int(posted)
    if chosen not in grants:
        chosen = session["creditor"] = min(grants)
    tenancy.enter(chosen)
    g.creditor_role = grants[chosen]
    return None


@bp.app_template_global()
def for_creditor():
    """The hidden field that ties a back-office form to the creditor it was opened for."""
    current = tenancy.current_id()
    if current is None or request.blueprint != "backoffice":
        return ""
    return Markup(f'<input type="hidden" name="{FOR_CREDITOR}" value="{int(current)}">')


@bp.context_processor
def words():
    """`say(kind, code)` in every back-office template: states and codes as people read them."""
    from ..settings import creditor
    from .timeline import say
    return {"say": say, "relance_creditor": creditor}


def page_of(items, size):
    """(the items of the page asked for in ?page=, that page, the number of pages)."""
    pages = max(1, -(-len(items) // size))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    return items[(page - 1) * size:page * size], page, pages


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("creditor_role") != "admin":
            abort(403)
        return view(*args, **kwargs)
    return wrapper


from . import (bank, debtors, effectiveness, handoff, lists, preview, privacy,  # noqa: E402,F401
               received, settings_pages, upload, views, work)
