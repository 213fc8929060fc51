"""A reminder letter (the formal notice, or any level that sends a letter) as a PDF for
registered mail, with fpdf2 (pure Python). Its body is the level's `letter` template, rendered by
`reminders.compose`; this module only lays it out with the creditor's and debtor's addresses
and the table of the invoices it names."""
from fpdf import FPDF

from portal.documents import draw_brand, pdf_text
from portal.i18n import day, money

HEADINGS = {
    "fr": ("Facture", "Émise le", "Échéance", "Reste dû", "Retard (j)", "Pénalités"),
    "en": ("Invoice", "Issued", "Due", "Amount due", "Days late", "Penalties"),
}
REGISTERED = {"fr": "Lettre recommandée avec accusé de réception",
              "en": "Registered letter with acknowledgement of receipt"}
ON = {"fr": "Le {}", "en": "{}"}
SUBJECT = {"fr": "Objet : {}", "en": "Subject: {}"}


def letter_pdf(customer, items, as_of, creditor, composed, logo=None):
    """One page: the creditor's logo (if given), addresses, date, subject, the letter's
    body, the invoices (with penalties where the level states them)."""
    lang, facts = composed.lang, composed.facts
    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(f"{composed.subject} - {customer.name}"))
    pdf.set_creator("Relance")
    pdf.add_page()
    draw_brand(pdf, creditor, logo)
    pdf.set_font("Helvetica", size=10)
    for line in (creditor.name, creditor.address, f"SIREN {creditor.siren}" if creditor.siren
                 else "", creditor.email, creditor.phone):
        if line:
            pdf.cell(0, 5, pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_x(110)
    pdf.multi_cell(0, 5, pdf_text(f"{customer.name}\n{customer.address or ''}"),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.cell(0, 5, pdf_text(ON[lang].format(day(as_of, lang))), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, pdf_text(REGISTERED[lang]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=12)
    pdf.multi_cell(0, 8, pdf_text(SUBJECT[lang].format(composed.subject)), new_x="LMARGIN",
                   new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, pdf_text(composed.letter.strip()), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _table(pdf, facts, lang)
    return bytes(pdf.output())


def _table(pdf, facts, lang):
    with_penalties = facts["penalties_cents"] > 0
    headings = HEADINGS[lang] if with_penalties else HEADINGS[lang][:5]
    widths = (40, 30, 30, 35, 25, 30)
    pdf.set_font("Helvetica", style="B", size=9)
    for w, h in zip(widths, headings):
        pdf.cell(w, 6, pdf_text(h), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for i in facts["invoices"]:
        cells = (i["number"], day(i["issue_date"], lang, "short"), day(i["due_date"], lang, "short"),
                 money(i["balance_cents"], lang, i["currency"]), str(i["days_late"]),
                 money(i["penalty_cents"], lang, i["currency"]))
        for w, c in zip(widths, cells[:len(headings)]):
            pdf.cell(w, 6, pdf_text(c), border=1)
        pdf.ln()
