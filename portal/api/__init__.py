"""JSON API for accounting tools (DESIGN.md 5): bearer token, JSON errors with 4xx codes.

A token works for one creditor (`flask api-tokens create --creditor SLUG`), and every query of
the request sees that creditor's rows only (`portal.tenancy`): another creditor's invoice or
customer is a 404. The API_TOKEN variable, where set, still works for the first creditor."""
import hmac

from flask import Blueprint, current_app, request
from sqlalchemy import select

from .. import tenancy
from ..api_tokens import token_creditor
from ..extensions import db
from ..models import Creditor

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def api_error(status, code, message, fields=None):
    return {"error": {"code": code, "message": message, "fields": fields or {}}}, status


@bp.before_request
def require_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    creditor_id = token_creditor(token) if scheme.lower() == "bearer" else None
    expected = current_app.config.get("API_TOKEN")
    if creditor_id is None and expected and scheme.lower() == "bearer" \
            and hmac.compare_digest(token.encode(), expected.encode()):
        creditor_id = db.session.scalar(select(Creditor.id).order_by(Creditor.id).limit(1))
    if creditor_id is None:
        tenancy.enter(tenancy.NOBODY)
        return api_error(401, "unauthorized",
                         "Send the header 'Authorization: Bearer <token>' with a live token "
                         "(make one with `flask api-tokens create --creditor SLUG`).")
    tenancy.enter(creditor_id)


from . import views  # noqa: E402,F401
