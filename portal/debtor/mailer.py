"""E-mails the portal sends at once (not through the scheduled run): the copy of an invoice the
debtor says never arrived, and a fresh link for an expired one. Same transport as the run."""
import secrets
from email.utils import parseaddr

from flask import current_app, render_template

from reminders.mime import Outgoing
from reminders.transport import transport_for

from ..settings import creditor, mail_identity
from ..settings import logo as logo_bytes
from ..documents import invoice_copy_pdf
from ..links import portal_url

SUBJECTS = {
    "plan_decision": {"fr": "Votre demande d'échéancier", "en": "Your instalment plan request"},
    "copy": {"fr": "Copie de la facture {number}", "en": "Copy of invoice {number}"},
    "fresh_link": {"fr": "Votre lien pour consulter et régler vos factures",
                   "en": "Your link to see and pay your invoices"},
}


def _send(customer, kind, attachments=(), **context):
    cfg = current_app.config
    language = customer.language if customer.language in ("fr", "en") else "fr"
    context.update(customer=customer, lang=language, creditor=creditor(),
                   link=portal_url(customer), link_max_age_days=cfg["LINK_MAX_AGE_DAYS"])
    sender, reply_to = mail_identity()
    domain = parseaddr(sender)[1].rpartition("@")[2] or "relance.invalid"
    message = Outgoing(
        # Ids only: no imported text (an invoice number) ever reaches a header unencoded.
        msg_id=f"<relance.{kind}.{customer.id}.{secrets.token_hex(6)}@{domain}>",
        sender=sender,
        recipients=[e.strip() for e in customer.email.split(",") if e.strip()],
        subject=SUBJECTS[kind][language].format(**context),
        text=render_template(f"emails/{language}/{kind}.txt", **context),
        html=render_template(f"emails/{language}/{kind}.html", **context),
        reply_to=reply_to, headers={"Auto-Submitted": "auto-generated"},
        attachments=list(attachments))
    with transport_for().connect() as connection:
        connection.send(message)
    return message


def send_invoice_copy(customer, invoice):
    pdf = invoice_copy_pdf(invoice, creditor(), customer.language, logo=logo_bytes())
    return _send(customer, "copy", [(f"{invoice.number}.pdf", "application/pdf", pdf)],
                 number=invoice.number, invoice=invoice)


def send_fresh_link(customer):
    return _send(customer, "fresh_link")


def send_plan_decision(customer, plan):
    return _send(customer, "plan_decision", plan=plan)
