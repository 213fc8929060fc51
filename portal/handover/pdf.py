"""The summary of the hand-over dossier (resume.pdf), with fpdf2 and the letters' helpers
(`portal.documents`: the creditor's colour and logo, Latin-1 text): who is owed what by whom,
each invoice with its interest and indemnity to the day, the formal notice and its proofs,
every reminder, the debtor's answers and broken promises, and the documents in the ZIP. In the
debtor's language, as the letters are. Every figure comes from the Claim (`portal.handover`):
the formal notice's invoices and what it demanded on its day (as the letter and its e-mail
said), the balance today apart where a payment changed it since, and the invoices still owed
that the dossier leaves out, with why (`portal.rules.notices`)."""
from flask_babel import force_locale, gettext as _
from fpdf import FPDF

from ..documents import draw_brand, pdf_text
from ..i18n import day, money

WORDS = {
    "fr": dict(
        title="Dossier de recouvrement", as_of="Situation arrêtée au {}",
        creditor="Créancier", debtor="Débiteur", ref="Référence client : {}",
        invoices="Factures impayées", notice="Mise en demeure",
        notice_line="Envoyée le {} — délai de paiement jusqu'au {} — factures : {}",
        no_notice="Aucune", letters="Lettre(s) préparée(s) pour envoi recommandé : {}",
        proofs="Preuves jointes (envoi, distribution) : {}", none="aucune",
        reminders="Relances envoyées", answers="Réponses du débiteur",
        promises="Promesses de paiement", broken="non tenue", not_broken="en cours",
        promise_line="Faite le {} pour le {} ({}) : {}", documents="Pièces du dossier",
        level="niveau {}", total="Total",
        heads=("Facture", "Émise le", "Échéance", "Montant", "Réglé", "Reste dû", "Jours",
               "Intérêts", "Indemnité"),
        claimed="Total réclamé (principal, intérêts et indemnités) : {}"),
    "en": dict(
        title="Collection file", as_of="As of {}",
        creditor="Creditor", debtor="Debtor", ref="Customer reference: {}",
        invoices="Unpaid invoices", notice="Formal notice",
        notice_line="Sent on {} — deadline to pay {} — invoices: {}",
        no_notice="None", letters="Letter(s) prepared for registered mail: {}",
        proofs="Proofs attached (posting, delivery): {}", none="none",
        reminders="Reminders sent", answers="Debtor's answers",
        promises="Promises to pay", broken="broken", not_broken="pending",
        promise_line="Made on {} for {} ({}): {}", documents="Documents in this file",
        level="level {}", total="Total",
        heads=("Invoice", "Issued", "Due", "Amount", "Paid", "Balance", "Days",
               "Interest", "Indemnity"),
        claimed="Total claimed (principal, interest and indemnities): {}"),
}
LEGAL = {
    "fr": {"business": "Intérêts de retard (art. L441-10 du Code de commerce) et indemnité "
                       "forfaitaire de 40 EUR par facture (art. D441-5), calculés au jour près.",
           "public": "Intérêts moratoires (art. R2192-31 du Code de la commande publique) et "
                     "indemnité forfaitaire (art. D2192-35), calculés au jour près.",
           "consumer": "Intérêts au taux légal à compter de la mise en demeure (art. 1231-6 "
                       "du Code civil), calculés au jour près ; pas d'indemnité forfaitaire."},
    "en": {"business": "Late-payment interest (French Code de commerce L441-10) and a fixed "
                       "40 EUR indemnity per invoice (D441-5), computed to the day.",
           "public": "Late-payment interest (Code de la commande publique R2192-31) and fixed "
                     "indemnity (D2192-35), computed to the day.",
           "consumer": "Legal interest from the formal notice on (Code civil 1231-6), computed "
                       "to the day; no fixed indemnity."},
}
CHANNELS = {"fr": {"email": "e-mail", "letter": "lettre recommandée", "call": "appel",
                   "refused": "e-mail refusé par le serveur", "sms": "SMS"},
            "en": {"email": "e-mail", "letter": "registered letter", "call": "phone call",
                   "refused": "e-mail refused by the server", "sms": "SMS"}}
WIDTHS = (26, 19, 19, 22, 20, 22, 12, 24, 24)


def _heading(pdf, text):
    pdf.ln(3)
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.cell(0, 7, pdf_text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)


def _para(pdf, text):
    pdf.multi_cell(0, 5, pdf_text(text), new_x="LMARGIN", new_y="NEXT")


def summary_pdf(claim, creditor, facts, paths, logo=None):
    """resume.pdf for `claim`, with the History `facts` and the ZIP's `paths`."""
    lang, w = claim.lang, WORDS[claim.lang]
    customer = claim.customer
    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(f"{w['title']} - {customer.name}"))
    pdf.set_creator("Relance")
    pdf.add_page()
    draw_brand(pdf, creditor, logo)
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.cell(0, 9, pdf_text(f"{w['title']} — {customer.name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    _para(pdf, w["as_of"].format(day(claim.as_of, lang)))
    _parties(pdf, claim, creditor, w)
    _invoices(pdf, claim, w)
    _para(pdf, LEGAL[lang][customer.debtor_type or "business"])
    with force_locale(lang):
        _changed(pdf, claim)
        _apart(pdf, claim)
    _notice(pdf, claim, facts, paths, w)
    _history(pdf, claim, facts, w)
    _heading(pdf, w["documents"])
    for path in paths:
        _para(pdf, f"- {path}")
    return bytes(pdf.output())


def _parties(pdf, claim, creditor, w):
    customer = claim.customer
    _heading(pdf, w["creditor"])
    for line in (creditor.name, creditor.address, f"SIREN {creditor.siren}" if creditor.siren
                 else "", creditor.email, creditor.phone):
        if line:
            _para(pdf, line)
    _heading(pdf, w["debtor"])
    for line in (customer.name, customer.address or "", f"SIREN {customer.siren}"
                 if customer.siren else "", w["ref"].format(customer.ref), customer.email,
                 customer.phone or ""):
        if line:
            _para(pdf, line)


def _invoices(pdf, claim, w):
    lang = claim.lang
    _heading(pdf, w["invoices"])
    pdf.set_font("Helvetica", style="B", size=8)
    for width, head in zip(WIDTHS, w["heads"]):
        pdf.cell(width, 6, pdf_text(head), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", size=8)
    for line in claim.lines:
        i = line.invoice
        cells = (i.number, day(i.issue_date, lang, "short"), day(i.due_date, lang, "short"),
                 money(i.total_cents, lang, i.currency), money(line.paid_cents, lang, i.currency),
                 money(line.balance_cents, lang, i.currency), str(line.days_late),
                 money(line.interest_cents, lang, i.currency),
                 money(line.indemnity_cents, lang, i.currency))
        for width, cell in zip(WIDTHS, cells):
            pdf.cell(width, 6, pdf_text(cell), border=1)
        pdf.ln()
    pdf.set_font("Helvetica", style="B", size=8)
    totals = ("total_cents", "paid_cents", "balance_cents")
    cells = (w["total"], "", "", money(sum(l.invoice.total_cents for l in claim.lines), lang),
             money(claim.total(totals[1]), lang), money(claim.total(totals[2]), lang), "",
             money(claim.total("interest_cents"), lang),
             money(claim.total("indemnity_cents"), lang))
    for width, cell in zip(WIDTHS, cells):
        pdf.cell(width, 6, pdf_text(cell), border=1)
    pdf.ln(8)
    claimed = sum(claim.total(k) for k in ("balance_cents", "interest_cents", "indemnity_cents"))
    _para(pdf, w["claimed"].format(money(claimed, lang)))


def _notice(pdf, claim, facts, paths, w):
    lang = claim.lang
    _heading(pdf, w["notice"])
    lines = {line.invoice.id: line for line in claim.lines}
    for notice in claim.notices or ():
        named = ", ".join(sorted(lines[i].invoice.number for i in notice.invoices
                                 if i in lines)) or "—"
        _para(pdf, w["notice_line"].format(day(notice.on, lang, "short"),
                                           day(notice.deadline, lang, "short"), named))
        with force_locale(lang):
            _demanded(pdf, notice, lines, lang)
    if not claim.notices:
        _para(pdf, w["no_notice"])
    letters = [p for p in paths if p.startswith("mise-en-demeure/")]
    proofs = [p for p in paths if p.startswith("preuves/")]
    _para(pdf, w["letters"].format(", ".join(letters) or w["none"]))
    _para(pdf, w["proofs"].format(", ".join(proofs) or w["none"]))


def _demanded(pdf, notice, lines, lang):
    """What the formal notice demanded on its day, invoice by invoice, as its letter said."""
    if not notice.demanded:
        return
    numbers = {line.invoice.id: line.invoice.number for line in lines.values()}
    named = [(numbers[i], cents) for i, cents in notice.demanded if i in numbers]
    for number, cents in sorted(named):
        _para(pdf, _("Invoice %(number)s: %(amount)s demanded by the formal notice",
                     number=number, amount=money(cents, lang)))
    if len(named) > 1:
        _para(pdf, _("Total demanded by the formal notice of %(on)s: %(amount)s",
                     on=day(notice.on, lang, "short"),
                     amount=money(sum(cents for _n, cents in named), lang)))


def _changed(pdf, claim):
    """The balances that changed since the formal notice (a payment since): both figures."""
    lang = claim.lang
    changed = [line for line in claim.lines if line.changed]
    if not changed:
        return
    _heading(pdf, _("Since the formal notice"))
    for line in changed:
        i = line.invoice
        figures = dict(number=i.number, demanded=money(line.demanded_cents, lang, i.currency),
                       on=day(line.notice.on, lang, "short"),
                       balance=money(line.balance_cents, lang, i.currency),
                       today=day(claim.as_of, lang, "short"),
                       paid=money(line.demanded_cents - line.balance_cents, lang, i.currency))
        if line.balance_cents < line.demanded_cents:
            _para(pdf, _("Invoice %(number)s: %(demanded)s demanded by the formal notice of "
                         "%(on)s; %(balance)s still due on %(today)s (%(paid)s paid since).",
                         **figures))
        else:
            _para(pdf, _("Invoice %(number)s: %(demanded)s demanded by the formal notice of "
                         "%(on)s; %(balance)s due on %(today)s.", **figures))


def _apart(pdf, claim):
    """The invoices still owed that this dossier does not claim, each with why."""
    if not claim.apart:
        return
    lang = claim.lang
    _heading(pdf, _("Invoices not in this dossier"))
    for s in claim.apart:
        i = s.invoice
        if s.notice is not None:
            text = _("Invoice %(number)s (%(amount)s): formal notice of %(on)s, its deadline "
                     "runs until %(deadline)s.", number=i.number,
                     amount=money(i.balance_cents, lang, i.currency),
                     on=day(s.notice.on, lang, "short"),
                     deadline=day(s.notice.deadline, lang, "short"))
        else:
            text = _("Invoice %(number)s (%(amount)s, due %(due)s): no formal notice yet.",
                     number=i.number, amount=money(i.balance_cents, lang, i.currency),
                     due=day(i.due_date, lang, "short"))
        _para(pdf, text)


def _history(pdf, claim, facts, w):
    lang = claim.lang
    _heading(pdf, w["reminders"])
    for sent in facts.reminders:
        channels = " + ".join(CHANNELS[lang].get(c, c) for c in sent.channels) or "—"
        _para(pdf, f"{day(sent.on, lang, 'short')} — {w['level'].format(sent.level)} — "
                   f"{channels} — {', '.join(sent.invoices) or '—'}"
                   + (f" — {sent.subject}" if sent.subject else ""))
    if not facts.reminders:
        _para(pdf, w["none"])
    _heading(pdf, w["answers"])
    for on, text in facts.answers:
        _para(pdf, f"{day(on, lang, 'short')} — {text}")
    if not facts.answers:
        _para(pdf, w["none"])
    _heading(pdf, w["promises"])
    for p in facts.promises:
        _para(pdf, w["promise_line"].format(day(p.made_on, lang, "short"),
                                            day(p.until, lang, "short"), p.number,
                                            w["broken"] if p.broken else w["not_broken"]))
    if not facts.promises:
        _para(pdf, w["none"])
