"""Erasing a debtor's personal data (right to erasure, end of retention), keeping the books.

What goes: the name, address, e-mails, phone, SIREN and Stripe customer of the debtor; every
free text (notes, the debtor's messages, hold reasons, call notes, plan reasons, IPs and
browsers, the e-mails and SMS as sent, bank-statement names and wording); the content of files
(attachments, the letters' and the invoices' own PDFs). Each is replaced by `ERASED` (or
emptied where a column must stay a number or an address). What stays: every amount, date,
state, invoice number, payment reference and the customer's ref (the accounting tool's
account, no one's name), so the books still add up (Code de commerce L123-22). The debtor's
portal links are revoked; one event "data_erased" says who and when, and holds no personal
data itself. A second erasure changes nothing.

Event, hold and task details (JSON) keep only the values whose keys are facts (`FACT_KEYS`:
numbers, dates, codes) and that name none of the debtor's own strings; all other text goes."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from ..answers import MESSAGE_REASONS
from ..extensions import db
from ..handover import RECIPIENTS
from ..bookkeeping import lock_customer, record_event
from ..models import (Attachment, BankCredit, Event, Hold, InstalmentPlan, Invoice, Payment,
                      SentMessage, ShortLink, SmsMessage, Task, utcnow)
from .rules import ERASED, verdict
# Keys of event, hold and task details whose values are facts of the books, not people.
FACT_KEYS = frozenset({
    "number", "invoices", "message_id", "level", "by", "source", "state", "status", "statuses",
    "kind", "provider", "until", "date", "at", "on", "closed_on", "first_date", "due_date",
    "received_on", "starts_on", "handed_over_on", "promise_date", "external_id", "error_code",
    "mimetype", "media_type", "sending_id", "provider_id", "registered_number", "formal_notice",
    "auto", "by_post", "claimed_by", "claimed_at", "channel", "channels", "group", "variant",
    "cycle"})
CODES = frozenset(MESSAGE_REASONS) | frozenset(RECIPIENTS)  # kept under any key


class ErasureRefused(ValueError):
    """The debtor's data cannot be erased (yet); the message says why, in the language of
    whoever reads it (the words stay lazy until then)."""

    def __str__(self):
        return "; ".join(str(words) for words in self.args)


def personal_strings(customer):
    """The debtor's own strings, lower-cased: a detail that contains one goes, whatever its
    key (a phone number in a "to", an e-mail in a reason from the mail server)."""
    values = [customer.name, customer.phone, customer.siren, customer.stripe_customer_id]
    values += [e.strip() for e in (customer.email or "").split(",")]
    values += [line.strip(" ,") for line in (customer.address or "").splitlines()]
    return {v.casefold() for v in values if v and len(v.strip()) >= 3}


def scrub(value, known, key=None):
    """`value` (JSON) with every text that is not a fact replaced by ERASED."""
    if isinstance(value, dict):
        return {k: scrub(v, known, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, known, key) for v in value]
    if not isinstance(value, str) or not value:
        return value
    fact = key in FACT_KEYS or value in CODES
    if fact and not any(k in value.casefold() for k in known):
        return value
    return ERASED


def inventory(customer):
    """{what: count} of what an erasure replaces, and of the books it keeps, for the
    confirmation page and `flask debtors erase-expired --dry-run`."""
    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(
            model.customer_id == customer.id, *where))
    return dict(messages=count(SentMessage), sms=count(SmsMessage), events=count(Event),
                attachments=count(Attachment), letters=count(Task, Task.pdf.is_not(None)),
                invoices=count(Invoice), payments=count(Payment),
                total_cents=int(db.session.scalar(select(func.coalesce(func.sum(
                    Invoice.total_cents), 0)).where(Invoice.customer_id == customer.id))))


def erase(customer, as_of, by, retention_months, on_request=False):
    """Erase `customer`'s personal data on `as_of`, by `by` (a user's e-mail, or "relance" for
    the sweep). `on_request`: the accountant erases before the retention period ends (the
    debtor asked); else only once it is over. True when erased now, False when already done;
    ErasureRefused (nothing changed) while something is owed or the period runs."""
    lock_customer(customer.id)  # a payment recorded meanwhile is seen, and one erasure runs
    db.session.refresh(customer)
    found = verdict(customer, as_of, retention_months)
    if found.erased:
        return False
    if not found.on_request:
        raise ErasureRefused(*(words for _code, words in found.owed))
    if not on_request and not found.expired:
        raise ErasureRefused(_l("The retention period runs until %(day)s.",
                                day=found.erasable_from.strftime("%d/%m/%Y")))
    known = personal_strings(customer)
    _replace_rows(customer.id, known)
    _replace_texts(customer.id)
    _forget_identity(customer, known)
    record_event(customer.id, "data_erased", actor="system" if by == "relance" else "accountant",
                 by=by, on_request=on_request)
    db.session.flush()
    return True


def _forget_identity(customer, known):
    customer.name, customer.email = ERASED, ""
    customer.phone = customer.address = customer.siren = customer.stripe_customer_id = None
    customer.link_version += 1  # every link and short link sent so far answers "invalid"
    if customer.handover:
        customer.handover = scrub(customer.handover, known)
    customer.erased_at = utcnow()


def _replace_rows(customer_id, known):
    """The JSON details of events, holds and tasks: facts kept, texts replaced."""
    for model in (Event, Hold, Task):
        for row in db.session.scalars(select(model).where(model.customer_id == customer_id)):
            cleaned = scrub(row.details or {}, known)
            if cleaned != row.details:
                row.details = cleaned  # a new dict: the change is seen and written
    db.session.flush()


def _replace_texts(customer_id):
    """The columns that are texts or files as a whole: replaced in one statement each."""
    mine = {"synchronize_session": False}
    db.session.execute(update(SentMessage).where(SentMessage.customer_id == customer_id)
                       .values(recipients="", subject=ERASED, body_text=ERASED, body_html="")
                       .execution_options(**mine))
    db.session.execute(update(SmsMessage).where(SmsMessage.customer_id == customer_id)
                       .values(to_number="", body=ERASED, error=None)
                       .execution_options(**mine))
    db.session.execute(update(Task).where(Task.customer_id == customer_id)
                       .values(pdf=None).execution_options(**mine))
    db.session.execute(update(Attachment).where(Attachment.customer_id == customer_id)
                       .values(filename=ERASED, data=b"", size=0).execution_options(**mine))
    db.session.execute(update(InstalmentPlan).where(InstalmentPlan.customer_id == customer_id)
                       .values(reason=None, decision_note=None, accepted_ip=None,
                               accepted_user_agent=None, mandate_payment_method=None)
                       .execution_options(**mine))
    db.session.execute(update(Invoice).where(Invoice.customer_id == customer_id)
                       .values(pdf=None).execution_options(**mine))
    payments = select(Payment.id).where(Payment.customer_id == customer_id)
    db.session.execute(update(BankCredit).where(BankCredit.payment_id.in_(payments))
                       .values(debtor_name=ERASED, remittance=ERASED).execution_options(**mine))
    db.session.execute(delete(ShortLink).where(ShortLink.customer_id == customer_id)
                       .execution_options(**mine))
    db.session.expire_all()  # rows loaded before show what was written


def due(as_of, retention_months, customers):
    """[(customer, verdict)] of `customers` whose retention period is over on `as_of` and who
    owe nothing: what the sweep erases."""
    found = [(c, verdict(c, as_of, retention_months)) for c in customers]
    return [(c, v) for c, v in found if v.expired]
