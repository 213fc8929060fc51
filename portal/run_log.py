"""Run health: what each run did (portal.models.RunLog) and whether the last one is late.

`late()` is the one rule: a pure function of the last successful run's date, today and the
creditor's business-day calendar (portal.rules.schedule.Calendar). Everything else here reads or
writes the log for it; the functions flush and never commit: the run (reminders.run) commits
each step so that a crash leaves its row behind. RunLog is not a tenant table
(portal.tenancy): every query names its creditor.

This module imports models, the clock, tenancy and the pure schedule (core layer): the health
endpoint (portal.health), the dashboard and the run all ask it."""
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import func, select

from . import clock, tenancy
from .extensions import db
from .models import Creditor, RunLog, utcnow
from .rules.schedule import calendar_for

ONE_DAY = timedelta(days=1)


def late(last_success_on, today, calendar):
    """Whether a whole business day went by without a successful run: the first business day
    after `last_success_on` is before `today` (today itself has not passed: the day's run may
    still come). A weekend or a public holiday in between is not a missed day."""
    return calendar.next_business_day(last_success_on + ONE_DAY) < today


class Health(NamedTuple):
    """One creditor's run health on `today`."""
    today: object
    last_run: RunLog | None  # the latest run of any outcome
    last_success_on: object  # run date of the latest successful run, or None
    reference: object  # what `late` was measured from: that date, else the creditor's start
    late: bool

    @property
    def incident(self):
        """The incident an alert belongs to: no success since this date (or ever)."""
        return f"since:{self.last_success_on.isoformat() if self.last_success_on else 'never'}"


def start(creditor_id, run_date, owner, kind="run"):
    """A "running" row for this creditor's part of a run. Flushes: commit it before sending."""
    row = RunLog(creditor_id=creditor_id, kind=kind, run_date=run_date, owner=owner,
                 outcome="running", counts={}, failures=[])
    db.session.add(row)
    db.session.flush()
    return row


def finish(row, counts, failures, error=None):
    """Close a run's row: "failed" when something stopped it or failed (`error`,
    `failures`), "succeeded" else. Flushes."""
    row.counts, row.failures = counts, failures
    row.error = error[:1000] if error else None
    row.outcome = "failed" if error or failures else "succeeded"
    row.finished_at = utcnow()
    db.session.flush()
    return row


def close_interrupted(creditor_id, is_dead, kind="run"):
    """Close as failed the "running" rows of this creditor whose process is gone (`is_dead`:
    a function of the owner and the start time, reminders.claims decides); return them."""
    rows = [r for r in db.session.scalars(select(RunLog).where(
        RunLog.creditor_id == creditor_id, RunLog.kind == kind, RunLog.outcome == "running"))
        if is_dead(r.owner, r.started_at)]
    for row in rows:
        row.outcome, row.finished_at = "failed", utcnow()
        row.error = "interrupted: the process stopped before the end of the run"
    db.session.flush()
    return rows


def last_runs(creditor_id, limit=10, kind=None):
    """The latest runs of a creditor, newest first."""
    query = select(RunLog).where(RunLog.creditor_id == creditor_id)
    if kind:
        query = query.where(RunLog.kind == kind)
    return db.session.scalars(query.order_by(RunLog.started_at.desc(), RunLog.id.desc())
                              .limit(limit)).all()


def last_success_before(creditor_id, day):
    """The run date of the creditor's latest successful run before `day`, or None: the days
    after it, up to `day`, had no run (portal.rules.schedule catches them up)."""
    return db.session.scalar(select(RunLog.run_date).where(
        RunLog.creditor_id == creditor_id, RunLog.kind == "run", RunLog.outcome == "succeeded",
        RunLog.run_date < day).order_by(RunLog.run_date.desc()).limit(1))


def last_success_on(creditor_id):
    """The run date of the creditor's latest successful run (the whole run, not `sms`)."""
    return db.session.scalar(select(RunLog.run_date).where(
        RunLog.creditor_id == creditor_id, RunLog.kind == "run",
        RunLog.outcome == "succeeded").order_by(RunLog.run_date.desc()).limit(1))


def health(creditor, today=None):
    """The creditor's Health on `today` (default: today where it works)."""
    return healths([creditor], today)[creditor.id]


def healths(creditors, today=None):
    """{creditor id: Health} in three queries whatever their number (/healthz/run is polled).
    A creditor that never ran successfully is measured from the day it was created: a new
    installation is not late before its first business day has passed."""
    ids = [c.id for c in creditors]
    successes = dict(db.session.execute(
        select(RunLog.creditor_id, func.max(RunLog.run_date)).where(
            RunLog.kind == "run", RunLog.outcome == "succeeded",
            RunLog.creditor_id.in_(ids)).group_by(RunLog.creditor_id)).all())
    latest = select(func.max(RunLog.id)).where(RunLog.kind == "run", RunLog.creditor_id.in_(
        ids)).group_by(RunLog.creditor_id)
    runs = {r.creditor_id: r for r in db.session.scalars(select(RunLog).where(
        RunLog.id.in_(latest)))}
    days = _todays(creditors) if today is None else {}
    found = {}
    for creditor in creditors:
        day = today or days[creditor.timezone]
        success = successes.get(creditor.id)
        reference = success or clock.today(now=creditor.created_at, tz=creditor.timezone)
        found[creditor.id] = Health(day, runs.get(creditor.id), success, reference,
                                    late(reference, day, calendar_for(creditor.holiday_country)))
    return found


def _todays(creditors):
    """{time zone: today there}, asked once per zone in a creditor's scope (portal.clock: a
    test's or the demo's pinned date holds)."""
    days = {}
    for creditor in creditors:
        if creditor.timezone not in days:
            with tenancy.scope(creditor.id):
                days[creditor.timezone] = clock.today()
    return days


def creditor_health(creditor_id, today=None):
    return health(db.session.get(Creditor, creditor_id), today)
