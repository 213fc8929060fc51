"""A reminder letter (the formal notice, or any level that sends a letter) as a PDF for
registered mail, with fpdf2 (pure Python). Its body is the level's `letter` template, rendered by
`reminders.compose`; this module only lays it out with the creditor's and debtor's addresses
and the table of the invoices it names.

Every invoice, amount, total and the date are the composed message's facts (`Composed.facts`),
never computed again here: the letter says what the e-mail of the same message says, and
`stated(composed)` is what the run keeps of it (the hand-over dossier reads it back)."""
from fpdf import FPDF

from portal.documents import draw_brand, pdf_text
from portal.i18n import day, money

TOTAL = {"fr": "Total", "en": "Total"}
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
    body, the invoices (with penalties where the level states them) and their total. The
    invoices, amounts and date are `composed.facts` (`items` and `as_of` are not read: the
    composed message is the one source)."""
    lang, facts = composed.lang, composed.facts
    as_of = facts["as_of"]
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
    pdf.set_font("Helvetica", style="B", size=9)
    cells = (TOTAL[lang], "", "", money(facts["total_cents"], lang), "",
             money(facts["penalties_cents"], lang))
    for w, c in zip(widths, cells[:len(headings)]):
        pdf.cell(w, 6, pdf_text(c), border=1)
    pdf.ln()


def stated(composed):
    """What a letter (and its e-mail) stated, as the run keeps it with the letter task
    (JSON): its day, deadline, total, penalties and each invoice's amount due and days late."""
    facts = composed.facts
    deadline = facts.get("deadline")
    return dict(
        on=facts["as_of"].isoformat(), deadline=deadline.isoformat() if deadline else None,
        total_cents=facts["total_cents"], penalties_cents=facts["penalties_cents"],
        invoices=[dict(number=i["number"], total_cents=i["total_cents"],
                       balance_cents=i["balance_cents"], currency=i["currency"],
                       due_date=i["due_date"].isoformat(), days_late=i["days_late"],
                       penalty_cents=i["penalty_cents"]) for i in facts["invoices"]])
