"""`/healthz/run`: whether the reminder run is late, for a monitor to poll (DESIGN.md 9).

200 with {"late": false, ...} while every creditor (or the one named by ?creditor=SLUG) had a
successful run on the last business day that has passed, 503 with {"late": true, ...} once a
whole business day went by without one (portal.run_log.late). Anonymous, like `/healthz`
(which stays the web server's own check): it says dates and outcomes only, no debtor, amount or
creditor name."""
from flask import Blueprint, jsonify, request
from sqlalchemy import select

from . import run_log
from .extensions import db
from .models import Creditor

bp = Blueprint("health", __name__)


def _run(row):
    if row is None:
        return None
    return {"date": row.run_date.isoformat(), "started_at": row.started_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
            "outcome": row.outcome}


@bp.get("/healthz/run")
def run_health():
    """The latest run and whether any creditor's run is late (one creditor's with ?creditor=)."""
    query = select(Creditor).order_by(Creditor.id)
    slug = request.args.get("creditor")
    if slug is not None:
        query = query.where(Creditor.slug == slug)
    creditors = db.session.scalars(query).all()
    if slug is not None and not creditors:
        return jsonify(error={"code": "unknown_creditor",
                              "message": "No creditor has this slug; leave ?creditor= out to "
                                         "check every creditor."}), 404
    healths = list(run_log.healths(creditors).values())
    runs = [h.last_run for h in healths if h.last_run is not None]
    late = [h for h in healths if h.late]
    successes = [h.last_success_on for h in healths]
    body = {"late": bool(late),
            "last_run": _run(max(runs, key=lambda r: r.started_at) if runs else None),
            # the oldest of the creditors' last successes: what "late" is measured from
            "last_success": (None if not successes or None in successes
                             else min(successes).isoformat()),
            "creditors": len(healths), "late_creditors": len(late)}
    response = jsonify(body)
    response.status_code = 503 if late else 200
    response.headers["Cache-Control"] = "no-store"
    return response
