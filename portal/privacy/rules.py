"""When a debtor's personal data may be erased, and why not.

Two doors, one rule about money: nothing may be owed either way (no open balance, no open
instalment plan, no payment still clearing or under review, no credit the creditor must still
pay back, no case handed over), because while a claim lives the creditor needs the debtor's
identity to pursue it (RGPD art. 17(3)(e): defence of legal claims).
- The retention sweep erases once `retention_months` have passed since the last invoice was
  settled (`[privacy] retention_months`, the creditor's choice).
- The accountant may erase earlier, on the debtor's request (art. 17(1)(a): the data are no
  longer needed once nothing is owed), after a confirmation page.
Amounts, dates and invoice numbers always stay: they are the books (Code de commerce L123-22,
ten years), and they are not personal data once the name is gone."""
import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from ..i18n import plain_amount
from ..models import Customer, InstalmentPlan, Invoice, Payment
from ..payments.lifecycle import HOLDING, customer_credit_cents
from ..instalments import ACTIVE

ERASED = "[effacé]"  # what replaces a name or a text


def is_erased(customer):
    """Erased, and not filled in again since (an import that names the ref again writes the
    identity back: then it may be erased again)."""
    return customer.erased_at is not None and customer.name == ERASED


@dataclass(frozen=True)
class Verdict:
    """What stands between a debtor and the erasure of their personal data on `as_of`."""
    owed: tuple  # ((code, words), ...): refused while anything is here
    settled_on: date  # the last invoice settled (or the relationship's start)
    erasable_from: date  # the retention period is over from this day
    erased: bool  # already erased (a second erasure changes nothing)
    as_of: date

    @property
    def on_request(self):
        """The accountant may erase now, on the debtor's request (nothing owed)."""
        return not self.erased and not self.owed

    @property
    def expired(self):
        """The retention sweep erases now (nothing owed and the period over)."""
        return self.on_request and self.as_of >= self.erasable_from

    @property
    def reason(self):
        """Why not, in words ("" when it may be erased on request)."""
        if self.erased:
            return str(_l("The personal data were already erased."))
        return "; ".join(str(words) for _code, words in self.owed)


def add_months(day, months):
    """`day` plus whole months, the day of the month kept where the month has it (31 January
    + 1 month = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _euros(cents):
    return f"{plain_amount(cents)} EUR"


def owed(customer):
    """((code, words), ...) of what the debtor still owes or has pending, read from the ledger:
    "balance", "plan", "payment", "credit", "handed_over"."""
    found = []
    open_cents = sum(max(0, i.balance_cents) for i in db.session.scalars(select(Invoice).where(
        Invoice.customer_id == customer.id, Invoice.status == "open")))
    if open_cents:
        found.append(("balance", _l("invoices still owe %(amount)s", amount=_euros(open_cents))))
    if db.session.scalar(select(InstalmentPlan.id).where(
            InstalmentPlan.customer_id == customer.id, InstalmentPlan.state.in_(ACTIVE)).limit(1)):
        found.append(("plan", _l("an instalment plan is under way")))
    if db.session.scalar(select(Payment.id).where(
            Payment.customer_id == customer.id, Payment.state.in_(HOLDING)).limit(1)):
        found.append(("payment", _l("a payment is still clearing or awaits a decision")))
    credit = customer_credit_cents(customer.id)
    if credit > 0:
        found.append(("credit", _l("money received beyond the invoices (%(amount)s) must be "
                                   "paid back first", amount=_euros(credit))))
    if customer.handed_over_on is not None:
        found.append(("handed_over", _l("the file is handed over (bailiff or injonction de "
                                        "payer)")))
    return tuple(found)


SETTLING = ("created", "cancelled", "failed")  # payment states that settled nothing


def last_settled_on(customer):
    """The day the debtor's last invoice was settled, as the ledger can tell it: the latest
    payment received, or the latest due date when later (an invoice cancelled, or settled
    before its due date: the later day keeps the data longer, never shorter); a debtor with
    neither, the day it was created."""
    paid = db.session.scalar(select(func.max(Payment.received_on)).where(
        Payment.customer_id == customer.id, Payment.state.not_in(SETTLING)))
    due = db.session.scalar(select(func.max(Invoice.due_date)).where(
        Invoice.customer_id == customer.id))
    days = [d for d in (paid, due) if d is not None]
    if not days:
        return customer.created_at.astimezone(clock.zone()).date()
    return max(days)


def erasable_from(customer, retention_months):
    """The first day the retention sweep may erase the debtor's data."""
    return add_months(last_settled_on(customer), retention_months)


def candidates(creditor_id, as_of, retention_months):
    """The statement of the creditor's debtors the sweep must look at on `as_of`: not erased,
    no open invoice, nothing settled or due within the period (a few days' margin for the
    month ends: `verdict` decides each one exactly). One statement instead of a verdict for
    every debtor of the books."""
    cutoff = add_months(as_of, -retention_months) + timedelta(days=3)
    late_due = select(Invoice.id).where(Invoice.customer_id == Customer.id,
                                        (Invoice.status == "open") | (Invoice.due_date > cutoff))
    late_paid = select(Payment.id).where(Payment.customer_id == Customer.id,
                                         Payment.state.not_in(SETTLING),
                                         Payment.received_on > cutoff)
    return (select(Customer).where(Customer.creditor_id == creditor_id,
                                   Customer.erased_at.is_(None) | (Customer.name != ERASED),
                                   ~late_due.exists(),
                                   ~late_paid.exists()).order_by(Customer.ref))


def verdict(customer, as_of, retention_months):
    """Whether `customer`'s personal data may be erased on `as_of`, on request or by the
    sweep, and why not."""
    settled, erased = last_settled_on(customer), is_erased(customer)
    return Verdict(owed=() if erased else owed(customer), settled_on=settled,
                   erasable_from=add_months(settled, retention_months), erased=erased,
                   as_of=as_of)
