"""The accountant's worklist, as the accountant works it: what became of each task (done with
an outcome, snoozed to a date, assigned to a user). The tasks themselves are not stored: they
come from the ledger (a plan to decide, a dispute, a call the run queued...), each named by its
kind and the id of the row it comes from; this table keeps only what a human did about one."""
from sqlalchemy import UniqueConstraint

from ..extensions import db
from .base import UTCDateTime, utcnow


class WorkItem(db.Model):
    """One task of the worklist that a human touched: (kind, ref) names it (a dispute's hold id,
    a message's event id, a call task's id...). `state`: "open" (assigned only), "done" (with
    its outcome: it leaves the list) or "snoozed" (back on the list on `snoozed_until`)."""

    __tablename__ = "work_item"
    id = db.Column(db.Integer, primary_key=True)
    creditor_id = db.Column(db.ForeignKey("creditor.id"), nullable=False)
    customer_id = db.Column(db.ForeignKey("customer.id"), index=True)  # None: a bank credit
    kind = db.Column(db.String(24), nullable=False)
    ref = db.Column(db.Integer, nullable=False)
    state = db.Column(db.String(16), nullable=False, default="open")
    snoozed_until = db.Column(db.Date)
    assignee_id = db.Column(db.ForeignKey("user_account.id"), index=True)
    outcome = db.Column(db.String(24))  # a choice of worklist.OUTCOMES
    note = db.Column(db.String(500))
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_by = db.Column(db.String(320))

    __table_args__ = (UniqueConstraint("creditor_id", "kind", "ref",
                                       name="uq_work_item_creditor_kind_ref"),)
