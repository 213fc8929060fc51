"""What a registered letter's progress makes of its task and of the debtor's timeline. Plain
functions of the provider's answers; the caller commits.

- submitted: the task becomes "sent" with the provider's sending id; "Lettre recommandée
  confiée à Maileva" on the timeline;
- each new status of the sending or of its delivery (accepted, processed, delivered, returned):
  one timeline entry, never twice for the same status;
- each deposit proof: kept as an attachment of the timeline (downloadable, in the hand-off
  dossier), once;
- refused by the provider: the task is the accountant's again ("open": to post by hand), with
  the reason on the timeline."""
from datetime import date

from flask import current_app

from .. import settings
from ..extensions import db
from ..bookkeeping import record_event
from ..handover.dossier import safe_name
from ..models import Attachment
from .maileva import FINAL, Maileva, PostUnavailable

PROVIDERS = ("maileva",)


def provider_for(parts=None):
    """The creditor's registered-mail provider, or None (letters are posted by hand)."""
    post = (parts or settings.outside_parts()).post
    if not post:
        return None
    if post["provider"] != "maileva":
        raise PostUnavailable(f"unknown postal provider {post['provider']!r}: use maileva")
    config = current_app.config
    return Maileva(post["client_id"], post["client_secret"], post["username"],
                   post["password"], config.get("MAILEVA_API_BASE"),
                   config.get("MAILEVA_AUTH_URL"))


def configured():
    return settings.outside_parts().post is not None


FOLLOW_DAYS = 45  # after this, a processed letter with its proof is no longer followed


def submitted(task, provider, sending_id, as_of):
    task.state = "sent"
    task.details = dict(task.details, provider=provider.name, sending_id=sending_id,
                        statuses=[], submitted_on=as_of.isoformat())
    record_event(task.customer_id, "letter_posted", provider=provider.name,
                 sending_id=sending_id, task_id=task.id, level=task.level,
                 invoices=task.details.get("invoices", []),
                 formal_notice=task.details.get("formal_notice", False))


def refused(task, reason):
    """The provider will not send it: the accountant posts it by hand."""
    task.state = "open"
    task.details = dict(task.details, refused=reason)
    record_event(task.customer_id, "letter_not_posted", task_id=task.id, level=task.level,
                 reason=reason)


def progressed(task, progress, proofs, as_of):
    """Apply a Progress (portal.post.maileva) and the deposit proofs [(id, pdf)] to the task:
    new statuses on the timeline, new proofs kept. Followed until the delivery (the
    acknowledgement of receipt comes days after the deposit proof) or FOLLOW_DAYS; a sending
    that ends without being posted (rejected, cancelled, in error) goes back to the
    accountant."""
    details = dict(task.details)
    seen = list(details.get("statuses", []))
    for status, kind in ((progress.status, "letter_status"),
                         (progress.delivery, "letter_delivery")):
        if status and status not in seen:
            seen.append(status)
            record_event(task.customer_id, kind, task_id=task.id, status=status,
                         registered_number=progress.registered_number,
                         date=progress.delivery_date if kind == "letter_delivery" else None)
    kept = list(details.get("proofs", []))
    for proof_id, pdf in proofs:
        if proof_id in kept:
            continue
        attachment = Attachment(customer_id=task.customer_id, size=len(pdf), data=pdf,
                                media_type="application/pdf",
                                filename=safe_name(f"preuve-de-depot-{proof_id}.pdf",
                                                   limit=200))
        db.session.add(attachment)
        db.session.flush()
        kept.append(proof_id)
        record_event(task.customer_id, "letter_deposit_proof", task_id=task.id,
                     attachment_id=attachment.id, filename=attachment.filename,
                     registered_number=progress.registered_number)
    details.update(statuses=seen, proofs=kept, status=progress.status,
                   registered_number=progress.registered_number, delivery=progress.delivery)
    task.details = details
    if progress.status in NOT_POSTED:
        refused(task, f"Maileva: {progress.status}")
    elif progress.status in FINAL and kept:
        started = date.fromisoformat(details.get("submitted_on") or as_of.isoformat())
        if progress.delivery or (as_of - started).days > FOLLOW_DAYS:
            task.state = "done"
    return task


NOT_POSTED = ("REJECTED", "CANCELED", "PROCESSED_WITH_ERRORS")

