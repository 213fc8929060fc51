"""The run's registered letters: the letter tasks the round queued for the provider ("to_send")
go to it one at a time, each committed as soon as it is handed over; then the letters on their
way are asked for their progress (deposit proof, delivery), so that the debtor's timeline
follows them even without the provider's callbacks.

A letter handed over is never handed over twice: it is marked "submitting" (committed) before
the call; one left "submitting" by a run that died goes back to the accountant ("open") with a
note to check the provider's site before posting it, rather than risk a second registered
letter. A provider that cannot be used stops this creditor's letters (they wait for the next
run) and the run says so."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from portal.extensions import db
from portal.ledger import record_event
from portal.models import Customer, Task, utcnow
from portal.post import tracking
from portal.post.maileva import PostRefused, PostUnavailable
from portal.settings import creditor

from .claims import _is_dead


@dataclass
class PostReport:
    posted: int = 0
    refused: int = 0
    proofs: int = 0
    failure: str | None = None

    def lines(self):
        if self.posted:
            yield f"  registered letters: {self.posted} handed to the postal provider"
        if self.proofs:
            yield f"  registered letters: {self.proofs} deposit proof(s) received"
        if self.refused:
            yield (f"  registered letters: {self.refused} refused by the provider: back on "
                   "the accountant's list to post by hand (the timeline says why)")
        if self.failure:
            yield f"  registered letters not sent: {self.failure}"


def send_letters(owner, report=None):
    """Hand over the letters waiting for the provider, then follow those on their way."""
    report = report or PostReport()
    _orphans(owner)
    if not db.session.scalar(select(Task.id).where(Task.kind == "letter", Task.state.in_(
            ("to_send", "sent"))).limit(1)):
        return report
    try:
        provider = tracking.provider_for()
    except PostUnavailable as exc:
        report.failure = str(exc)
        return report
    if provider is None:  # the provider was removed: the accountant posts them
        for task in db.session.scalars(select(Task).where(Task.kind == "letter",
                                                          Task.state == "to_send")):
            tracking.refused(task, "no postal provider configured any more")
        db.session.commit()
        return report
    try:
        _hand_over(provider, owner, report)
        _follow(provider, report)
    except PostUnavailable as exc:
        db.session.rollback()
        report.failure = str(exc)
    return report


def _hand_over(provider, owner, report):
    me = creditor()
    for task_id, details in db.session.execute(select(Task.id, Task.details).where(
            Task.kind == "letter", Task.state == "to_send").order_by(Task.id)).all():
        claim = dict(details, claimed_by=owner, claimed_at=utcnow().isoformat())
        taken = db.session.execute(update(Task).where(Task.id == task_id,
                                                      Task.state == "to_send")
                                   .values(state="submitting", details=claim)).rowcount
        db.session.commit()
        if not taken:
            continue  # another run took it
        task = db.session.get(Task, task_id)
        customer = db.session.get(Customer, task.customer_id)
        try:
            sending = provider.send(task.pdf, f"lettre-{task.id}.pdf",
                                    (customer.name, customer.address),
                                    (me.name, me.address), f"relance-task-{task.id}")
        except PostRefused as exc:
            tracking.refused(task, str(exc))
            report.refused += 1
        except PostUnavailable:
            task.state = "to_send"  # not handed over: the next run tries again
            db.session.commit()
            raise
        else:
            tracking.submitted(task, provider, sending)
            report.posted += 1
        db.session.commit()


def _follow(provider, report):
    for task in db.session.scalars(select(Task).where(Task.kind == "letter",
                                                      Task.state == "sent")).all():
        follow(task, provider, report)
        db.session.commit()


def follow(task, provider, report=None):
    """Ask the provider where one letter is and apply it (the callbacks call this too)."""
    sending = task.details.get("sending_id")
    progress = provider.status(sending)
    before = len(task.details.get("proofs", []))
    tracking.progressed(task, progress, provider.deposit_proofs(sending))
    if report is not None:
        report.proofs += len(task.details.get("proofs", [])) - before
    return task


def _orphans(me):
    """Letters a dead run was handing over: back to the accountant, never sent twice."""
    for task in db.session.scalars(select(Task).where(Task.kind == "letter",
                                                      Task.state == "submitting")):
        at = task.details.get("claimed_at")
        if not _is_dead(task.details.get("claimed_by"),
                        datetime.fromisoformat(at) if at else None, me):
            continue
        task.state = "open"
        record_event(task.customer_id, "letter_not_posted", task_id=task.id,
                     level=task.level, reason="the run stopped while handing it to the "
                     "postal provider: check the provider's site before posting it by hand")
    db.session.commit()
