"""The hand-over dossier as a ZIP, for a bailiff or the injonction de payer procedure:

    resume.pdf                    the summary (`portal.handover.pdf`)
    injonction-de-payer.txt       the fields of the request form (Cerfa 12948), pre-filled
    factures/<number>.pdf         each invoice claimed: its own PDF, else the ledger's copy
    mise-en-demeure/<date>-<id>.pdf   the formal-notice letters the run prepared for posting
    preuves/<id>-<file>           the files attached to notes on the timeline (proofs)
    messages/<date>-niveau-<level>-<n>.eml   every message as sent

Messages are .eml files (RFC 5322, both the text and the HTML part, the Message-ID, date and
recipients as recorded): one file per message that any mail client opens, with the
identifiers a court or a bailiff can match against the mail server's logs. Every name in the
ZIP is made of safe characters: an invoice number or a file name cannot climb out of its
folder. The facts come from `portal.handover.Claim` and `portal.handover.facts`."""
import io
import re
import unicodedata
import zipfile
from email.message import EmailMessage
from email.utils import format_datetime

from .. import settings as relance_settings
from ..documents import invoice_copy_pdf
from .facts import history
from .pdf import summary_pdf
from ..i18n import plain_amount

RECIPIENT_WORDS = {"bailiff": "commissaire de justice (huissier)",
                   "injonction": "procédure d'injonction de payer"}


def safe_name(text, fallback="fichier", limit=80):
    """A file name of letters, digits, dots, dashes and underscores only, never "." or ".."."""
    ascii_ = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_).strip("._")[:limit]
    return name or fallback


def zip_name(customer, as_of):
    return f"dossier-{safe_name(customer.ref, 'debiteur', 40)}-{as_of.isoformat()}.zip"


def eml(sent, sender):
    """A SentMessage as the .eml it was: headers as recorded, text and HTML parts."""
    message = EmailMessage()
    message["Message-ID"] = sent.message_id
    message["Date"] = format_datetime(sent.sent_at)
    message["From"] = sender
    if sent.recipients:
        message["To"] = sent.recipients
    else:
        message["X-Relance-Channel"] = "letter"  # a level sent by letter only
    message["Subject"] = sent.subject
    message["X-Relance-Level"] = str(sent.level)
    message.set_content(sent.body_text)
    if sent.body_html:
        message.add_alternative(sent.body_html, subtype="html")
    return bytes(message)


class _Zip:
    """Files added once each under a unique, safe name; the list kept for the summary."""

    def __init__(self, buffer, as_of):
        self.zip = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)
        self.stamp = (as_of.year, as_of.month, as_of.day, 0, 0, 0)
        self.names = []

    def add(self, folder, name, data):
        base, dot, ext = name.rpartition(".")
        stem, ext = (base, dot + ext) if dot else (name, "")
        path, n = f"{folder}{name}", 1
        while path in self.names:
            n += 1
            path = f"{folder}{stem}-{n}{ext}"
        info = zipfile.ZipInfo(path, self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        self.names.append(path)
        return path


def build_zip(claim, letters, proofs):
    """The dossier's bytes: `claim` (portal.handover.Claim), the formal-notice letters (Task
    rows with a PDF) and the proofs ([(Attachment, note text)])."""
    creditor = relance_settings.creditor()
    logo = relance_settings.logo()
    facts = history(claim)
    buffer = io.BytesIO()
    out = _Zip(buffer, claim.as_of)
    documents = []  # (path, what it is) for the summary and the request form
    for line in claim.lines:
        invoice = line.invoice
        path = out.add("factures/", safe_name(invoice.number, f"facture-{invoice.id}") + ".pdf",
                       invoice_copy_pdf(invoice, creditor, claim.lang, logo=logo))
        documents.append((path, f"Facture {invoice.number}"))
    for task in letters:
        path = out.add("mise-en-demeure/", f"{task.due_on.isoformat()}-{task.id}.pdf", task.pdf)
        documents.append((path, f"Mise en demeure du {task.due_on.strftime('%d/%m/%Y')}"))
    for attachment, text in proofs:
        path = out.add("preuves/", f"{attachment.id}-{safe_name(attachment.filename)}",
                       attachment.data)
        documents.append((path, f"Pièce jointe : {text}" if text else "Pièce jointe"))
    sender = relance_settings.mail_identity()[0]
    for n, sent in enumerate(facts.messages, start=1):
        path = out.add("messages/", f"{sent.sent_at.date().isoformat()}-niveau-{sent.level}-"
                       f"{n}.eml", eml(sent, sender))
        documents.append((path, f"Message du {sent.sent_at.strftime('%d/%m/%Y')} : "
                          f"{sent.subject}"))
    sheet = injonction_sheet(claim, creditor, documents)
    documents.insert(0, ("injonction-de-payer.txt", "Champs de la requête en injonction de "
                         "payer (Cerfa 12948)"))
    summary = summary_pdf(claim, creditor, facts, [p for p, _ in documents], logo)
    out.add("", "resume.pdf", summary)
    out.add("", "injonction-de-payer.txt", sheet.encode("utf-8"))
    out.zip.close()
    return buffer.getvalue()


def _euros(cents):
    return plain_amount(cents).replace(".", ",") + " EUR"


def injonction_sheet(claim, creditor, documents):
    """The fields the request for an injonction de payer asks for (Cerfa 12948), in French,
    pre-filled from the ledger; what Relance cannot know is marked "À COMPLÉTER"."""
    lines = [
        "REQUÊTE EN INJONCTION DE PAYER (Cerfa 12948) — champs pré-remplis par Relance",
        f"Arrêté au {claim.as_of.strftime('%d/%m/%Y')}", "",
        "1. JURIDICTION COMPÉTENTE",
        f"   {TODO} (tribunal de commerce si le débiteur est commerçant, sinon tribunal "
        "judiciaire ; celui du domicile ou du siège du débiteur)", ""]
    lines += _parties(claim, creditor) + _amounts(claim)
    lines += ["", "6. PIÈCES JOINTES (bordereau)"]
    lines += [f"   {n}. {path} — {what}" for n, (path, what) in enumerate(documents, start=1)]
    lines += ["", f"Fait à {TODO}, le {TODO}", f"Signature : {TODO}", ""]
    return "\n".join(lines)


TODO = "À COMPLÉTER"


def _parties(claim, creditor):
    customer = claim.customer
    siren = customer.siren or (TODO if customer.debtor_type != "consumer" else "-")
    return [
        "2. DEMANDEUR (créancier)",
        f"   Dénomination : {creditor.name}",
        f"   Siège social : {creditor.address or TODO}",
        f"   SIREN : {creditor.siren or TODO}",
        f"   Forme juridique et représentant légal : {TODO}",
        f"   Courriel : {creditor.email}    Téléphone : {creditor.phone or '-'}", "",
        "3. DÉFENDEUR (débiteur)",
        f"   Nom ou dénomination : {customer.name}",
        f"   Adresse : {(customer.address or TODO).replace(chr(10), ', ')}",
        f"   SIREN : {siren}",
        f"   Référence client : {customer.ref}", ""]


def _amounts(claim):
    principal, interest = claim.total("balance_cents"), claim.total("interest_cents")
    indemnity = claim.total("indemnity_cents")
    lines = [
        "4. MONTANT DE LA DEMANDE",
        f"   Principal : {_euros(principal)}",
        f"   Intérêts de retard au {claim.as_of.strftime('%d/%m/%Y')} : {_euros(interest)}",
        f"   Indemnité forfaitaire pour frais de recouvrement : {_euros(indemnity)}",
        f"   Frais accessoires : {TODO}",
        f"   Total (hors frais) : {_euros(principal + interest + indemnity)}", "",
        "5. FONDEMENT DE LA CRÉANCE", "   Factures impayées :"]
    for line in claim.lines:
        invoice, notice = line.invoice, line.notice
        lines.append(
            f"   - {invoice.number} émise le {invoice.issue_date.strftime('%d/%m/%Y')}, échue "
            f"le {invoice.due_date.strftime('%d/%m/%Y')}, montant {_euros(invoice.total_cents)}"
            f", reste dû {_euros(line.balance_cents)}"
            + (f", mise en demeure du {notice.on.strftime('%d/%m/%Y')} (délai au "
               f"{notice.deadline.strftime('%d/%m/%Y')})" if notice else "")
            + (f", montant mis en demeure {_euros(line.demanded_cents)}"
               if line.demanded_cents is not None else ""))
    if claim.apart:
        lines += ["   Factures non comprises dans la demande :"]
        for standing in claim.apart:
            invoice, notice = standing.invoice, standing.notice
            why = (f"mise en demeure du {notice.on.strftime('%d/%m/%Y')}, délai en cours "
                   f"jusqu'au {notice.deadline.strftime('%d/%m/%Y')}" if notice else
                   "pas encore mise en demeure")
            lines.append(f"   - {invoice.number} échue le "
                         f"{invoice.due_date.strftime('%d/%m/%Y')}, reste dû "
                         f"{_euros(invoice.balance_cents)} : {why}")
    return lines
