"""The formal-notice letter (level 4) as a PDF for registered mail, with fpdf2 (pure Python)."""
from fpdf import FPDF

from portal.i18n import day, money

# The PDF core fonts cover Latin-1; map the few common characters outside it.
_PDF_MAP = str.maketrans({"€": "EUR", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                          "œ": "oe", "Œ": "OE", "\u202f": " ", "\u00a0": " ", "…": "..."})


def pdf_text(text):
    return str(text).translate(_PDF_MAP).encode("latin-1", "replace").decode("latin-1")


def formal_notice_pdf(customer, items, as_of, creditor, link):
    """A one-page mise en demeure listing `items` (compose.Item with penalties computed)."""
    lang = "fr"
    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(f"Mise en demeure - {customer.name}"))
    pdf.set_creator("Relance")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in (creditor["name"], creditor["address"], f"SIREN {creditor['siren']}",
                 creditor["email"], creditor["phone"]):
        pdf.cell(0, 5, pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_x(110)
    pdf.multi_cell(0, 5, pdf_text(f"{customer.name}\n{getattr(customer, 'address', '') or ''}"))
    pdf.ln(6)
    pdf.cell(0, 5, pdf_text(f"Le {day(as_of, lang)}"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, pdf_text("Lettre recommandée avec accusé de réception"), new_x="LMARGIN",
             new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=12)
    pdf.cell(0, 8, pdf_text("Objet : mise en demeure de payer"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    total = sum(i.balance_cents for i in items)
    penalties = sum(i.penalty.total_cents for i in items)
    pdf.multi_cell(0, 5, pdf_text(
        f"Madame, Monsieur,\n\nMalgré nos relances, les factures ci-dessous demeurent impayées. "
        f"Nous vous mettons en demeure de nous régler la somme de {money(total, lang)} dans un "
        f"délai de huit jours à compter de la réception de la présente, augmentée des pénalités "
        f"de retard prévues à l'article L441-10 du Code de commerce (intérêts au taux de "
        f"{items[0].penalty.rate_percent} % l'an et indemnité forfaitaire de 40 EUR par facture), "
        f"soit {money(penalties, lang)} à ce jour."))
    pdf.ln(3)
    widths = (40, 30, 30, 35, 25, 30)
    pdf.set_font("Helvetica", style="B", size=9)
    for w, h in zip(widths, ("Facture", "Émise le", "Échéance", "Reste dû", "Retard (j)",
                             "Pénalités")):
        pdf.cell(w, 6, pdf_text(h), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for i in items:
        cells = (i.number, day(i.issue_date, lang, "short"), day(i.due_date, lang, "short"),
                 money(i.balance_cents, lang), str(i.days_late(as_of)),
                 money(i.penalty.total_cents, lang))
        for w, c in zip(widths, cells):
            pdf.cell(w, 6, pdf_text(c), border=1)
        pdf.ln()
    pdf.ln(4)
    pdf.multi_cell(0, 5, pdf_text(
        f"Règlement par virement : IBAN {creditor['iban']} - BIC {creditor['bic']}, ou en ligne : "
        f"{link}\n\nA défaut de paiement dans ce délai, nous engagerons une procédure de "
        f"recouvrement judiciaire sans autre avis.\n\nVeuillez agréer, Madame, Monsieur, "
        f"nos salutations distinguées.\n\n{creditor['name']}"))
    return bytes(pdf.output())
