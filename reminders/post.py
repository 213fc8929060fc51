"""The run's registered letters: the letter tasks the round queued for the provider ("to_send")
go to it one at a time, each committed as soon as it is handed over; then the letters on their
way are asked for their progress (deposit proof, delivery), so that the debtor's timeline
follows them even without the provider's callbacks.

A letter handed over is never handed over twice: it is marked "submitting" (committed) before
the first call, and the provider's sending id is kept (committed) as soon as it exists. One left
"submitting" (a run that died, or a provider that stopped answering half-way) is settled by the
next run: with no sending yet, it goes back to the accountant ("open") with a note to check the
provider's site; with one, the provider says whether it was submitted (then it is followed) or
is still a draft (then the accountant decides). No second registered letter is ever created. A provider that cannot be used stops this creditor's letters (they wait for the next
run) and the run says so."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from portal import clock
from portal.extensions import db
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
    if not db.session.scalar(select(Task.id).where(Task.kind == "letter", Task.state.in_(
            ("to_send", "submitting", "sent"))).limit(1)):
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
        _orphans(provider, owner)
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

        def created(sending_id, task=task):  # kept before anything else can fail
            task.details = dict(task.details, sending_id=sending_id)
            db.session.commit()
        try:
            sending = provider.send(task.pdf, f"lettre-{task.id}.pdf",
                                    (customer.name, customer.address),
                                    (me.name, me.address), f"relance-task-{task.id}", created)
        except PostRefused as exc:
            tracking.refused(task, str(exc))
            report.refused += 1
        except PostUnavailable as exc:
            if exc.sending_id is None:  # nothing was created: the next run tries again
                task.state = "to_send"
            db.session.commit()  # else it stays "submitting": the next run asks Maileva
            raise
        else:
            tracking.submitted(task, provider, sending, clock.today())
            report.posted += 1
        db.session.commit()


def _follow(provider, report):
    for task_id in db.session.scalars(select(Task.id).where(Task.kind == "letter",
                                                            Task.state == "sent")).all():
        follow(task_id, provider, report)
        db.session.commit()


def follow(task_id, provider, report=None):
    """Ask the provider where one letter is and apply it (the callbacks call this too). The
    task is locked meanwhile (PostgreSQL), so a callback and a run never both record it. A
    sending the provider no longer knows goes back to the accountant."""
    task = db.session.get(Task, task_id, with_for_update=True, populate_existing=True)
    if task is None or task.state != "sent":
        return task
    sending = task.details.get("sending_id")
    try:
        progress = provider.status(sending)
        proofs = provider.deposit_proofs(sending)
    except PostRefused as exc:
        tracking.refused(task, f"Maileva no longer answers for sending {sending} ({exc}): "
                         "check on its site whether the letter went before posting it")
        return task
    before = len(task.details.get("proofs", []))
    tracking.progressed(task, progress, proofs, clock.today())
    if report is not None:
        report.proofs += len(task.details.get("proofs", [])) - before
    return task


def _orphans(provider, me):
    """Letters a run that died was handing over. Without a sending yet: back to the accountant
    (never sent twice). With one: Maileva says whether it was submitted (then it is followed)
    or is still a draft (then the accountant decides, with its id)."""
    for task in db.session.scalars(select(Task).where(Task.kind == "letter",
                                                      Task.state == "submitting")).all():
        at = task.details.get("claimed_at")
        if not _is_dead(task.details.get("claimed_by"),
                        datetime.fromisoformat(at) if at else None, me):
            continue
        sending = task.details.get("sending_id")
        if sending is None:
            tracking.refused(task, "the run stopped while handing it to the postal provider: "
                             "check the provider's site before posting it by hand")
            continue
        try:
            status = provider.status(sending).status
        except PostRefused as exc:
            status = f"unknown ({exc})"
        if status in ("DRAFT",) or status.startswith("unknown"):
            tracking.refused(task, f"sending {sending} was not submitted to Maileva (status "
                             f"{status}): complete it there, or post the letter by hand")
        else:
            tracking.submitted(task, provider, sending, clock.today())
    db.session.commit()
