"""The alert to a creditor's accountants when its run fails or stops coming.

One e-mail per incident: an incident is "no successful run since <date>" (portal.run_log.Health),
so the retries of a failing run, and the days a broken cron stays silent, add nothing. The
alert is recorded (portal.models.RunAlert, unique per creditor and incident) before it is sent
and forgotten again if the relay refuses it, so the next check tries again. It goes over the
creditor's own relay, like its reminders: when that relay is what fails, the alert cannot go
either, and /healthz/run (for a monitor) is the signal that still works.

A missing run is checked by `flask reminders status --alert` (a cron line, README), apart from
the runs; a failure, at the end of the run that failed."""
import secrets
from collections import defaultdict
from email.utils import parseaddr

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import run_log, tenancy
from portal.extensions import db
from portal.i18n import day
from portal.models import Creditor, CreditorGrant, RunAlert, User
from portal.settings import mail_identity

from .mime import Outgoing
from .transport import DeliveryError, MessageRejected, transport_for


def recipients(creditor):
    """{language: [e-mail, ...]} of the active users with access to the creditor, each in the
    language they chose for the back office (else the creditor's)."""
    found = defaultdict(list)
    for email, language in db.session.execute(
            select(User.email, User.language).join(CreditorGrant, CreditorGrant.user_id == User.id)
            .where(CreditorGrant.creditor_id == creditor.id, User.active.is_(True))
            .order_by(User.email)):
        found[language if language in ("fr", "en") else
              creditor.language if creditor.language in ("fr", "en") else "fr"].append(email)
    return dict(found)


def check_missing(creditor, today=None):
    """Alert once if a business day passed without a successful run. Returns the RunAlert
    sent, or None (not late, already alerted, nobody to tell, or the relay failed)."""
    health = run_log.health(creditor, today)
    return alert(creditor, health, "missing") if health.late else None


def alert(creditor, health, kind, run=None):
    """Send the alert of `kind` ("failed": `run` is the RunLog that failed; "missing") unless
    this incident was already told. Commits: the record must outlive a crash that follows."""
    to = recipients(creditor)
    if not to or db.session.scalar(select(RunAlert.id).where(
            RunAlert.creditor_id == creditor.id, RunAlert.incident == health.incident)):
        return None
    row = RunAlert(creditor_id=creditor.id, incident=health.incident, kind=kind,
                   run_log_id=run.id if run else None,
                   recipients=", ".join(e for emails in to.values() for e in emails)[:2000])
    db.session.add(row)
    try:
        db.session.commit()  # taken: a second process alerting at once stops here
    except IntegrityError:
        db.session.rollback()
        return None
    try:
        with tenancy.scope(creditor.id):
            _send(creditor, health, kind, run, to, row.id)
    except (DeliveryError, MessageRejected, OSError) as exc:
        db.session.delete(row)  # not told: the next check tries again
        db.session.commit()
        current_app.logger.warning("run alert for %s not sent: %s", creditor.slug, exc)
        return None
    return row


def _send(creditor, health, kind, run, to, alert_id):
    sender, reply_to = mail_identity(creditor)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "relance.invalid"
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    with transport_for().connect() as connection:
        for language, emails in sorted(to.items()):
            with force_locale(language):
                context = dict(creditor=creditor, health=health, kind=kind, run=run, lang=language,
                               dashboard=f"{base}/admin/dashboard")
                connection.send(Outgoing(
                    msg_id=f"<relance.run-alert.{alert_id}.{language}.{secrets.token_hex(4)}"
                           f"@{domain}>",
                    sender=sender, recipients=emails,
                    subject=_subject(creditor, health, kind, language),
                    text=render_template("emails/run_alert.txt", **context),
                    html=render_template("emails/run_alert.html", **context),
                    reply_to=None, headers={"Auto-Submitted": "auto-generated",
                                            "X-Relance-Alert": kind}))


def _subject(creditor, health, kind, language):
    if kind == "failed":
        return _("Relance: the reminder run failed (%(name)s)", name=creditor.name)
    return _("Relance: no reminder run since %(date)s (%(name)s)",
             name=creditor.name, date=day(health.reference, language))


def why_not(creditor, health):
    """Why no alert went for this incident, for `flask reminders status --alert` to say."""
    told = db.session.scalar(select(RunAlert).where(RunAlert.creditor_id == creditor.id,
                                                    RunAlert.incident == health.incident))
    if told is not None:
        return f"already e-mailed for this incident on {told.sent_at:%Y-%m-%d %H:%M} UTC " \
               f"to {told.recipients}"
    if not recipients(creditor):
        return ("nobody to tell: no active user has access to this creditor (`flask users "
                f"create EMAIL --role accountant --creditor {creditor.slug}`)")
    return "not sent: the mail relay failed (see the log); the next check tries again"


def failed(creditor_id, run):
    """The alert for a run that failed (`run`: its RunLog, finished)."""
    creditor = db.session.get(Creditor, creditor_id)
    return alert(creditor, run_log.health(creditor, run.run_date), "failed", run)
