"""Invoice copies: the stored PDF when the accounting tool sent one, else a copy generated from
the ledger (clearly titled as a copy), with fpdf2."""
from fpdf import FPDF

from .i18n import day, money

# The PDF core fonts cover Latin-1; map the few common characters outside it.
_PDF_MAP = str.maketrans({"€": "EUR", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                          "œ": "oe", "Œ": "OE", "\u202f": " ", "\u00a0": " ", "…": "..."})


def pdf_text(text):
    return str(text).translate(_PDF_MAP).encode("latin-1", "replace").decode("latin-1")


def invoice_copy_pdf(invoice, creditor, language="fr"):
    """PDF bytes for `invoice`: its stored original, or a generated duplicate."""
    if invoice.pdf:
        return invoice.pdf
    fr = language != "en"
    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(("Facture " if fr else "Invoice ") + invoice.number))
    pdf.set_creator("Relance")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in (creditor.name, creditor.address, f"SIREN {creditor.siren}",
                 creditor.email):
        pdf.cell(0, 5, pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_x(110)
    customer = invoice.customer
    pdf.multi_cell(0, 5, pdf_text(f"{customer.name}\n{customer.address or ''}"))
    pdf.ln(6)
    pdf.set_font("Helvetica", style="B", size=14)
    title = (f"Facture {invoice.number} (duplicata)" if fr
             else f"Invoice {invoice.number} (copy)")
    pdf.cell(0, 10, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    rows = [
        ("Date d'émission" if fr else "Issue date", day(invoice.issue_date, language)),
        ("Échéance" if fr else "Due date", day(invoice.due_date, language)),
        ("Montant TTC" if fr else "Total", money(invoice.total_cents, language, invoice.currency)),
        ("Déjà réglé" if fr else "Paid", money(invoice.paid_cents, language, invoice.currency)),
        ("Reste dû" if fr else "Balance due",
         money(invoice.balance_cents, language, invoice.currency)),
    ]
    for label, value in rows:
        pdf.cell(60, 7, pdf_text(label), border=1)
        pdf.cell(60, 7, pdf_text(value), border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.multi_cell(0, 5, pdf_text(
        (f"Règlement par virement : IBAN {creditor.iban} - BIC {creditor.bic}, référence "
         f"{invoice.number}.\nCe duplicata est établi à partir de notre comptabilité." if fr else
         f"Pay by bank transfer: IBAN {creditor.iban} - BIC {creditor.bic}, reference "
         f"{invoice.number}.\nThis copy was produced from our ledger.")))
    return bytes(pdf.output())
