"""Error pages: a clear page for people, a JSON error for the API; never a bare 500."""
from flask import render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from .extensions import db


def _wants_json():
    return request.path.startswith("/api/") or request.path.startswith("/stripe/")


def init_app(app):
    @app.errorhandler(HTTPException)
    def http_error(exc):
        db.session.rollback()  # the page below may read the database: start from a clean state
        if _wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            return {"error": {"code": code, "message": exc.description, "fields": {}}}, exc.code
        if request.blueprint == "backoffice" and current_user.is_authenticated:
            # In the back office, with its header (menu, creditor switcher) and in its words.
            return render_template("backoffice/error.html", error=exc), exc.code
        return render_template("errors/http.html", error=exc), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc):
        app.logger.exception("unexpected error on %s", request.path)
        db.session.rollback()
        if _wants_json():
            return {"error": {"code": "internal_error",
                              "message": "Something went wrong on our side; retry later.",
                              "fields": {}}}, 500
        return render_template("errors/500.html"), 500
