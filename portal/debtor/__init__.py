"""The debtor portal blueprint: /p/<token> and its sub-paths."""
from flask import Blueprint

bp = Blueprint("debtor", __name__, url_prefix="/p")

from . import counter, pay, views  # noqa: E402,F401  (registers the routes)
