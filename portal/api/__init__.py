"""JSON API for accounting tools (DESIGN.md 5): bearer token, JSON errors with 4xx codes."""
import hmac

from flask import Blueprint, current_app, request

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def api_error(status, code, message, fields=None):
    return {"error": {"code": code, "message": message, "fields": fields or {}}}, status


@bp.before_request
def require_token():
    expected = current_app.config.get("API_TOKEN")
    if not expected:
        return api_error(503, "api_disabled", "The API is disabled: set API_TOKEN on the server.")
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                             expected.encode()):
        return api_error(401, "unauthorized",
                         "Send the header 'Authorization: Bearer <API_TOKEN>'.")


from . import views  # noqa: E402,F401
