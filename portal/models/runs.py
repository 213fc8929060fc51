"""What each run did: one row per creditor and run (or `flask reminders sms`), and the alerts
sent to the creditor's accountants when runs fail or stop coming (portal.run_log)."""
from sqlalchemy import Index, UniqueConstraint

from ..extensions import db
from .base import UTCDateTime, utcnow

RUN_KINDS = ("run", "sms")  # the whole run (e-mails, SMS, letters), or the hourly SMS command
OUTCOMES = ("running", "succeeded", "failed")


class RunLog(db.Model):
    """One creditor's part of one run. Written "running" (and committed) before anything is
    sent, so a process that dies leaves a row that says so; finished as "succeeded" or
    "failed" with what went out and what did not. A "running" row whose process is gone is
    read as interrupted (portal.run_log.interrupted) and closed as failed by the next run."""

    __tablename__ = "run_log"
    id = db.Column(db.Integer, primary_key=True)
    creditor_id = db.Column(db.ForeignKey("creditor.id"), index=True)
    kind = db.Column(db.String(16), nullable=False, default="run")
    run_date = db.Column(db.Date, nullable=False)  # the date it ran as of (--date, or today)
    owner = db.Column(db.String(120), nullable=False)  # host:pid:token (reminders.claims)
    started_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    finished_at = db.Column(UTCDateTime)
    outcome = db.Column(db.String(16), nullable=False, default="running")
    # {"email": {"1": 3, "2": 1}, "sms": {"2": 1}, "letter": {"4": 1}, ...}: channel -> level -> n
    counts = db.Column(db.JSON, nullable=False, default=dict)
    # [{"what": "relay", "reason": "..."}, ...]: what failed and why (no debtor data)
    failures = db.Column(db.JSON, nullable=False, default=list)
    error = db.Column(db.String(1000))  # what stopped it, if something did

    __table_args__ = (Index("ix_run_log_creditor_started", "creditor_id", "started_at"),)


class RunAlert(db.Model):
    """An alert e-mail sent to a creditor's accountants, once per incident: an incident is
    "no successful run since `since`" (the last successful run's date, or "never"), so the
    retries of a failing run, and the days it stays missing, send nothing more."""

    __tablename__ = "run_alert"
    id = db.Column(db.Integer, primary_key=True)
    creditor_id = db.Column(db.ForeignKey("creditor.id"), nullable=False)
    incident = db.Column(db.String(32), nullable=False)  # "since:2026-12-04", "since:never"
    kind = db.Column(db.String(16), nullable=False)  # failed, missing
    run_log_id = db.Column(db.ForeignKey("run_log.id"))  # the failed run, if it is one
    recipients = db.Column(db.String(2000), nullable=False)
    sent_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("creditor_id", "incident", name="uq_run_alert_incident"),)
