"""Everything Relance holds about one debtor, as one ZIP (right of access, RGPD art. 15):

    LISEZMOI.txt                    what each file is, in the debtor's language
    identite.json, identite.txt     identity and contact details (machine and human readable)
    factures.csv, factures/<number>.pdf   invoices (amount, paid, balance) and their copies
    paiements.csv                   payments and what they paid
    echeanciers.json                instalment plans and their instalments
    messages/<date>-niveau-<level>-<n>.eml   every e-mail as sent (`portal.handover.dossier.eml`)
    sms.csv                         every text message
    courriers/<date>-<id>.pdf       the letters prepared for posting
    historique.csv, historique.json the timeline (every event, its facts)
    notes.csv, pieces-jointes/<id>-<file>   the accountant's notes and the files attached

The hand-over dossier's pieces are reused (`portal.handover.dossier`: safe names, .eml, the ZIP writer;
`portal.documents`: the invoice copy), so a message reads the same in both."""
import csv
import io
import json

from flask_babel import force_locale, gettext as _
from sqlalchemy import select

from .. import settings as relance_settings
from ..documents import invoice_copy_pdf
from ..handover.dossier import _Zip, eml, safe_name
from ..extensions import db
from ..handover import language_of
from ..i18n import plain_amount
from ..models import (Attachment, Event, InstalmentPlan, Invoice, Payment, SentMessage,
                      SmsMessage, Task)

IDENTITY = ("ref", "name", "email", "phone", "address", "siren", "language", "debtor_type",
            "tier", "created_at", "erased_at")


def export_name(customer, as_of):
    return f"donnees-{safe_name(customer.ref, 'debiteur', 40)}-{as_of.isoformat()}.zip"


def _cell(value):
    """A CSV cell a spreadsheet will not run (=, +, -, @ first: a quote before)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(rows):
    out = io.StringIO()
    csv.writer(out).writerows([[_cell(v) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _json(value):
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def _of(model, customer, *order):
    return db.session.scalars(select(model).where(model.customer_id == customer.id)
                              .order_by(*order)).all()


def export_zip(customer, as_of, describe=None):
    """The ZIP bytes of everything about `customer` on `as_of`. `describe(event, number)`, if
    given, is each event as a sentence (the back office's words), written beside its facts."""
    buffer = io.BytesIO()
    out = _Zip(buffer, as_of)
    lang = language_of(customer)
    identity = {k: getattr(customer, k) for k in IDENTITY}
    out.add("", "identite.json", _json(identity))
    invoices = _of(Invoice, customer, Invoice.issue_date, Invoice.number)
    _invoices(out, invoices, lang)
    _payments(out, customer, {i.id: i.number for i in invoices})
    out.add("", "echeanciers.json", _json([_plan(p) for p in _of(
        InstalmentPlan, customer, InstalmentPlan.id)]))
    _messages(out, customer)
    _timeline(out, customer, {i.id: i.number for i in invoices}, describe)
    with force_locale(lang):
        out.add("", "identite.txt", _identity_text(identity).encode("utf-8"))
        out.add("", "LISEZMOI.txt", _readme(customer, as_of).encode("utf-8"))
    out.zip.close()
    return buffer.getvalue()


def _invoices(out, invoices, lang):
    creditor, logo = relance_settings.creditor(), relance_settings.logo()
    rows = [["number", "issue_date", "due_date", "currency", "total", "paid", "balance",
             "status"]]
    for invoice in invoices:
        rows.append([invoice.number, invoice.issue_date, invoice.due_date, invoice.currency,
                     plain_amount(invoice.total_cents), plain_amount(invoice.paid_cents),
                     plain_amount(invoice.balance_cents), invoice.status])
        out.add("factures/", safe_name(invoice.number, f"facture-{invoice.id}") + ".pdf",
                invoice_copy_pdf(invoice, creditor, lang, logo=logo))
    out.add("", "factures.csv", _csv(rows))


def _payments(out, customer, numbers):
    rows = [["received_on", "source", "reference", "amount", "currency", "state", "method",
             "refunded", "allocated_to"]]
    for p in _of(Payment, customer, Payment.received_on, Payment.id):
        paid = "; ".join(f"{numbers.get(a.invoice_id, a.invoice_id)} {plain_amount(a.amount_cents)}"
                         f"{' (' + a.kind + ')' if a.kind != 'payment' else ''}"
                         for a in p.allocations)
        rows.append([p.received_on, p.source, p.external_id, plain_amount(p.amount_cents),
                     p.currency, p.state, p.method or "", plain_amount(p.refunded_cents), paid])
    out.add("", "paiements.csv", _csv(rows))


def _plan(plan):
    return dict(state=plan.state, count=plan.count, total=plain_amount(plan.total_cents),
                requested_at=plan.requested_at, reason=plan.reason, decided_at=plan.decided_at,
                decision_note=plan.decision_note, accepted_at=plan.accepted_at,
                accepted_ip=plan.accepted_ip, accepted_user_agent=plan.accepted_user_agent,
                instalments=[dict(seq=i.seq, due_date=i.due_date,
                                  amount=plain_amount(i.amount_cents)) for i in plan.instalments])


def _messages(out, customer):
    sender = relance_settings.mail_identity()[0]
    for n, sent in enumerate(_of(SentMessage, customer, SentMessage.sent_at), start=1):
        out.add("messages/", f"{sent.sent_at.date().isoformat()}-niveau-{sent.level}-{n}.eml",
                eml(sent, sender))
    rows = [["created_at", "sent_at", "to", "state", "level", "text"]]
    rows += [[s.created_at, s.sent_at or "", s.to_number, s.state, s.level, s.body]
             for s in _of(SmsMessage, customer, SmsMessage.created_at, SmsMessage.id)]
    out.add("", "sms.csv", _csv(rows))
    for task in _of(Task, customer, Task.due_on, Task.id):
        if task.pdf:
            out.add("courriers/", f"{task.due_on.isoformat()}-{task.id}.pdf", task.pdf)


def _timeline(out, customer, numbers, describe):
    events = _of(Event, customer, Event.at, Event.id)
    rows = [["at", "actor", "kind", "what", "details"]]
    notes = [["at", "by", "text", "file"]]
    for e in events:
        number = numbers.get(e.invoice_id)
        what = describe(e, number) if describe else ""
        rows.append([e.at.isoformat(), e.actor, e.kind, what,
                     json.dumps(e.details, ensure_ascii=False, default=str)])
        if e.kind == "note":
            notes.append([e.at.isoformat(), e.details.get("by", ""), e.details.get("text", ""),
                          e.details.get("filename", "")])
    out.add("", "historique.csv", _csv(rows))
    out.add("", "historique.json", _json([dict(at=e.at, actor=e.actor, kind=e.kind,
                                               invoice=numbers.get(e.invoice_id),
                                               details=e.details) for e in events]))
    out.add("", "notes.csv", _csv(notes))
    for kept in _of(Attachment, customer, Attachment.id):
        out.add("pieces-jointes/", f"{kept.id}-{safe_name(kept.filename)}", kept.data)


def _identity_text(identity):
    labels = {"ref": _("Customer reference"), "name": _("Name"), "email": _("E-mail"),
              "phone": _("Phone"), "address": _("Postal address"), "siren": _("SIREN"),
              "language": _("Language"), "debtor_type": _("Debtor type"),
              "tier": _("Category"), "created_at": _("Known since"),
              "erased_at": _("Personal data erased on")}
    return "\n".join(f"{labels[k]}: {'' if v is None else v}" for k, v in identity.items()) + "\n"


def _readme(customer, as_of):
    creditor = relance_settings.creditor()
    return "\n".join([
        _("Personal data held by %(creditor)s about %(ref)s, exported on %(day)s.",
          creditor=creditor.name, ref=customer.ref, day=as_of.strftime("%d/%m/%Y")), "",
        _("identite.json, identite.txt: identity and contact details."),
        _("factures.csv and factures/: the invoices, what was paid and what is owed."),
        _("paiements.csv: the payments and the invoices they paid."),
        _("echeanciers.json: the instalment plans."),
        _("messages/: every e-mail as sent (.eml files any mail program opens)."),
        _("sms.csv: every text message; courriers/: the letters."),
        _("historique.csv, historique.json: the history of the account."),
        _("notes.csv and pieces-jointes/: the notes and the files attached to them."), ""])
