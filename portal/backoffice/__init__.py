"""The accountant's back office under /admin/: nothing without login, admin pages by role."""
from functools import wraps

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

bp = Blueprint("backoffice", __name__, url_prefix="/admin")
PUBLIC = {"backoffice.login"}


@bp.before_request
def require_login():
    if request.endpoint in PUBLIC or current_user.is_authenticated:
        return None
    return redirect(url_for("backoffice.login", next=request.full_path.rstrip("?")))


@bp.context_processor
def words():
    """`say(kind, code)` in every back-office template: states and codes as people read them."""
    from .timeline import say
    return {"say": say}


def page_of(items, size):
    """(the items of the page asked for in ?page=, that page, the number of pages)."""
    pages = max(1, -(-len(items) // size))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    return items[(page - 1) * size:page * size], page, pages


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)
    return wrapper


from . import debtors, preview, settings_pages, views  # noqa: E402,F401
