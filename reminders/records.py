"""The run reports itself: each creditor's part of a run is written to portal.models.RunLog
as "running" before anything is sent (committed), then closed with what went out per channel
and level and what failed and why; a crash closes it "failed" with the error, and a process
that died without a word leaves it "running" until the next run closes it as interrupted.
A failed run, or a business day without a successful one, alerts the accountants once
(reminders.alerts; missed days are checked apart from the run, see `begin`)."""
from collections import defaultdict

from flask import current_app

from portal import run_log
from portal.extensions import db

from . import alerts
from .claims import _is_dead

UNWRITTEN_LISTED = 20


def begin(creditor_id, day, owner, kind="run"):
    """Close what dead runs left "running", then open this run's row. Commits.

    Missed days are not alerted from here: a run that starts is the cure, not the symptom;
    what notices that runs stopped coming must run apart from them (`flask reminders status
    --alert` from cron, /healthz/run for a monitor, the dashboard's banner)."""
    run_log.close_interrupted(creditor_id, lambda who, at: _is_dead(who, at, owner), kind)
    row = run_log.start(creditor_id, day, owner, kind)
    db.session.commit()  # one commit per creditor and end: they cost more than the rest
    return row


def end(row, result):
    """Close the row of a creditor's part of a run (`result`: reminders.run.CreditorRun) and
    alert if it failed. Commits."""
    failed = run_log.finish(row, counts_of(result.report), failures_of(result)).outcome == "failed"
    db.session.commit()
    if failed:  # read before the commit expired the row: no query for a run that went well
        _quietly(alerts.failed, row.creditor_id, row)
    return row


def end_sms(row, report):
    """Close the row of `flask reminders sms` for one creditor (no alert: the run's own SMS
    are part of the run, which alerts). Commits."""
    failures = [{"what": "sms", "reason": report.failure}] if report.failure else []
    run_log.finish(row, {"sms": {str(k): v for k, v in sorted(report.by_level.items())},
                         "sms_refused": report.refused, "sms_waiting": report.waiting},
                   failures)
    db.session.commit()


def crashed(rows, exc):
    """Something the run did not expect stopped it: close every row still open as failed,
    with the error, and alert. Commits; never raises (the caller raises `exc` again, which must
    not be hidden by a second error, the database being down for instance)."""
    error = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
    try:
        db.session.rollback()
        for row in rows:
            db.session.refresh(row)
            if row.outcome == "running":
                run_log.finish(row, row.counts or {}, row.failures or [], error)
                db.session.commit()
                _quietly(alerts.failed, row.creditor_id, row)
    except Exception:  # noqa: BLE001 - the row stays "running": read as interrupted later
        db.session.rollback()
        current_app.logger.exception("run log: could not record the error %s", error)


def counts_of(report):
    """What went out, as JSON: {channel: {level: n}} and the other figures of the report."""
    if report is None:
        return {}
    channels = defaultdict(dict)
    for (level, channel), count in sorted(report.by_level.items()):
        channels[channel][str(level)] = count
    counts = {"channels": dict(channels), "planned": report.planned, "skipped": report.skipped,
              "rejected": report.rejected, "collected": report.collected,
              "to_review": report.to_review}
    if report.sms is not None:
        counts["sms_sent"] = report.sms.sent
        counts["sms_refused"] = report.sms.refused
        counts["sms_waiting"] = report.sms.waiting
    if report.post is not None:
        counts["letters_posted"] = report.post.posted
        counts["letters_refused"] = report.post.refused
    return counts


def failures_of(result):
    """What failed and why, as JSON: the relay, the SMS or postal provider, the messages a
    template could not write (the debtor's name, for the accountant who fixes it)."""
    report, found = result.report, []
    if result.failure:
        found.append({"what": "email", "reason": result.failure,
                      "still_due": result.still_due})
    if report is not None:
        if report.unwritten:
            found += [{"what": "template", "debtor": name, "reason": f"{name}: {why}"}
                      for name, why in report.unwritten[:UNWRITTEN_LISTED]]
        if report.sms is not None and report.sms.failure:
            found.append({"what": "sms", "reason": report.sms.failure})
        if report.post is not None and report.post.failure:
            found.append({"what": "letter", "reason": report.post.failure})
    return found


def _quietly(step, *args):
    """An alert must never stop the run it is about: log what went wrong and go on."""
    try:
        return step(*args)
    except Exception:  # noqa: BLE001 - logged; the run's own outcome is what matters
        db.session.rollback()
        current_app.logger.exception("run alert: %s failed", step.__name__)
        return None
