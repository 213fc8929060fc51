"""Build a reminder for one debtor: subject, text and HTML parts, letter body, link, penalties.

What a message says is decided by the level's attributes (its template, whether it states
penalties, whether it is the formal notice, its deadline, its channels) and worded by the
creditor's templates, rendered in the sandbox (`portal.settings.templates`). Penalties follow
the debtor's category (`portal.rules.penalties`). `compose(...)` is a pure function of its
arguments plus the settings in force, so previews, tests and the run render the same message.
"""
import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.numbers import format_decimal
from functools import lru_cache

from flask import current_app
from markupsafe import Markup, escape

from portal import settings as relance_settings
from portal.rules.discount import discount_for
from portal.settings.templates import LANGUAGES, Both, Prepared, TemplateProblem, render

from portal.rules.penalties import (business_rate, consumer_rate, penalty_for, public_rate,
                                    semester_of)
from portal.rules.schedule import INSTALMENT_HEADS_UP

WHAT = {"fr": ("facture {n}", "{k} factures"), "en": ("invoice {n}", "{k} invoices")}
LABELS = {
    "fr": {"number": "facture", "issued": "émise le", "due": "échéance", "amount_due": "reste dû",
           "days_late": "jours de retard", "penalties": "pénalités", "total": "Total",
           "total_line": "Total :"},
    "en": {"number": "invoice", "issued": "issued", "due": "due", "amount_due": "amount due",
           "days_late": "days late", "penalties": "penalties", "total": "Total",
           "total_line": "Total:"},
}
RATE_OF = {"business": business_rate, "public": public_rate, "consumer": consumer_rate}


@dataclass
class Item:
    """One invoice in a reminder, with the facts the message states."""
    number: str
    issue_date: date
    due_date: date
    total_cents: int
    balance_cents: int
    level: int
    reason: str | None = None
    promise_date: date | None = None
    currency: str = "EUR"
    penalty: object = None
    rider: bool = False  # not yet due: named "pour information", never demanded

    def days_late(self, as_of):
        return max(0, (as_of - self.due_date).days)


@dataclass
class Composed:
    level: int
    subject: str
    text: str
    html: str
    channel: str = "email"  # how the run's report counts it
    letter: str | None = None  # the letter's body, where the level sends a letter
    steps: object = None  # the Level whose attributes decided it
    lang: str = "fr"
    facts: dict = field(default_factory=dict, repr=False)
    channels: set = field(default_factory=lambda: {"email"})  # of every invoice's level
    letter_invoices: list = field(default_factory=list)  # the invoices a letter names
    call_invoices: list = field(default_factory=list)  # the invoices a call is about
    body: str = ""  # the HTML the template wrote, before the layout frames it (previews)
    letter_is_formal_notice: bool = False  # the letter that goes with it is the mise en demeure
    variant: str = ""  # "A" or "B" when the level tests two templates (see variant_of)
    call_level: int = 0  # the level that asked for the call task
    letter_level: int = 0  # the level that asked for the letter
    sms: object = None  # (number, text, level) of the SMS that goes with it, if one does
    letter_stated: dict | None = None  # what the letter stated (reminders.letters.stated)


def creditor():
    return relance_settings.creditor()


def _render(name, **context):
    """One of our own e-mail templates (templates/emails/), rendered straight by the app's Jinja
    environment: they read only what they are given, so Flask's context processors (the web
    pages' forms and user) are skipped: the run renders several per message."""
    return current_app.jinja_env.get_template(name).render(context)


def _what(lang, items):
    singular, plural = WHAT[lang]
    return singular.format(n=items[0].number) if len(items) == 1 else \
        plural.format(k=len(items))


def _creditor_facts(row):
    return {k: getattr(row, k, "") or "" for k in (
        "name", "address", "siren", "vat_number", "iban", "bic", "email", "phone", "signature",
        "colour")}


def _penalties(items, category, as_of, legal):
    """Each item's penalty under the debtor's category. The formal notice is the policy's last
    level, so no message follows one: consumers' interest, which runs only from a formal
    notice, is stated as starting with it (formal_notice_on=None: nothing owed yet)."""
    for item in items:
        item.penalty = penalty_for(category, item.balance_cents, item.due_date, as_of,
                                   legal.rates, contract_rate_percent=legal.contract_rate_percent,
                                   indemnity_cents=legal.indemnity_cents, formal_notice_on=None)


def _rates(items, category, as_of, legal, lang):
    """The rate(s) the legal sentence states: the ones running today on the listed invoices (a
    public buyer's rate is fixed by the semester its interest started, so two invoices may have
    two), else today's rate for the category. "10,15 ou 11,15" when they differ."""
    rates = sorted({i.penalty.rate_percent for i in items if i.penalty and i.penalty.rate_percent})
    if not rates:
        row = legal.rates.for_semester(semester_of(as_of))
        rates = [business_rate(row, legal.contract_rate_percent) if category == "business"
                 else RATE_OF[category](row)]
    return (" ou " if lang == "fr" else " or ").join(_percent(r, lang) for r in rates), rates


@lru_cache(maxsize=256)
def _percent(rate, lang):
    """"12,15" in French, "12.15" in English: a rate as the debtor reads numbers."""
    return format_decimal(rate, format="0.00##", locale="fr_FR" if lang == "fr" else "en_GB")


def _invoice_facts(item, as_of, policy, lang):
    discount = discount_for(policy, item.total_cents, item.total_cents - item.balance_cents,
                            item.issue_date, item.due_date, as_of)
    return dict(number=item.number, issue_date=item.issue_date, due_date=item.due_date,
                total_cents=item.total_cents, balance_cents=item.balance_cents,
                currency=item.currency, days_late=item.days_late(as_of),
                penalty_cents=item.penalty.total_cents if item.penalty else 0,
                promise_date=item.promise_date,
                discount=dict(percent=discount.percent_text(lang), cents=discount.cents,
                              pay_cents=discount.pay_cents, last_day=discount.last_day)
                if discount else None)


def message_facts(customer, items, as_of, link, level, settings, creditor_row, policy):
    """The variables of the templates (portal.settings.templates.VARIABLES) for this message."""
    lang = customer.language if customer.language in LANGUAGES else creditor_row.language
    category = getattr(customer, "debtor_type", None) or "business"
    legal = settings.legal
    states = level.penalties or level.formal_notice
    _penalties(items, category, as_of, legal)  # true facts, whether the level states them or not
    items = sorted(items, key=lambda i: (i.due_date, i.number))
    # Invoices not due yet ride along with a reminder of late ones: named apart, never counted
    # in what is demanded (a formal notice does not demand an invoice that is not late).
    upcoming = [] if level.before_due else [i for i in items if i.rider or i.due_date > as_of]
    listed = [i for i in items if i not in upcoming] or items
    upcoming = [i for i in upcoming if i not in listed]
    invoices = [_invoice_facts(i, as_of, policy, lang) for i in listed]
    interest = sum(i.penalty.interest_cents for i in listed if i.penalty)
    indemnity = sum(i.penalty.indemnity_cents for i in listed if i.penalty)
    rate_text, rates = _rates(listed, category, as_of, legal, lang)
    contract = (category == "business" and legal.contract_rate_percent is not None
                and rates == [legal.contract_rate_percent])
    facts = dict(
        debtor=dict(name=customer.name, ref=customer.ref, email=customer.email,
                    phone=customer.phone or "", address=customer.address or "",
                    type=category, language=lang),
        creditor=_creditor_facts(creditor_row), invoices=invoices, invoice_count=len(listed),
        what=_what(lang, listed), total_cents=sum(i.balance_cents for i in listed),
        penalties_cents=interest + indemnity, interest_cents=interest, indemnity_cents=indemnity,
        indemnity_each_cents=0 if category == "consumer" else legal.indemnity_cents,
        rate_percent=rate_text, contract_rate=contract,
        days_late=max(i.days_late(as_of) for i in listed),
        oldest_days_late=max(i.days_late(as_of) for i in listed),
        newest_days_late=min(i.days_late(as_of) for i in listed),
        upcoming_count=len(upcoming), upcoming_cents=sum(i.balance_cents for i in upcoming),
        owed_cents=sum(i.balance_cents for i in listed + upcoming),
        oldest_due_date=min(i.due_date for i in listed),
        deadline=as_of + timedelta(days=level.deadline_days) if level.deadline_days else None,
        deadline_days=level.deadline_days, formal_notice=level.formal_notice,
        registered_letter="letter" in level.channels, call_planned="call" in level.channels,
        formal_notice_follows=any(lv.formal_notice for lv in policy.levels
                                  if lv.number > level.number),
        restarted=any(i.reason == "restart" for i in listed),
        restarted_invoices=[v for v, i in zip(invoices, listed) if i.reason == "restart"],
        promise_missed=[v for v, i in zip(invoices, listed) if i.reason == "broken_promise"],
        payment_failed=[v for v, i in zip(invoices, listed) if i.reason == "payment_failed"],
        link=link, link_max_age_days=current_app.config["LINK_MAX_AGE_DAYS"], as_of=as_of,
        level=level.number, lang=lang)
    facts["facts"] = _facts_block(facts, [_invoice_facts(i, as_of, policy, lang)
                                          for i in upcoming])
    facts["discount_offer"] = _discount_offer(invoices, lang)
    shown = states and facts["penalties_cents"] > 0  # a column of zeros says nothing
    table = {k: facts[k] for k in ("invoices", "lang", "total_cents", "penalties_cents")}
    facts["invoice_table"] = Both(
        _render("emails/_invoices.txt", LABELS=LABELS, show_penalties=shown, **table).strip(),
        _render("emails/_invoices.html", LABELS=LABELS, show_penalties=shown, **table))
    facts["legal_notice"] = _legal_notice(settings, category, lang, facts) if states else Both()
    return facts


def _facts_block(facts, upcoming):
    if not (facts["promise_missed"] or facts["payment_failed"] or facts["restarted_invoices"]
            or upcoming):
        return Both()  # nothing happened since: the block says nothing (most reminders)
    text = _render("emails/_facts.txt", upcoming=upcoming, **facts).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return Both("\n".join(lines), _render("emails/_facts.html", lines=lines)
                if lines else "")


def _discount_offer(invoices, lang):
    """The ready sentence of the early-payment discounts the listed invoices get (empty: none),
    one line per invoice: its discounted amount, its last day and the percent."""
    offered = [i for i in invoices if i["discount"]]
    if not offered:
        return Both()
    text = _render("emails/_discount.txt", invoices=offered, lang=lang).strip()
    return Both(text, _render("emails/_discount.html", invoices=offered, lang=lang).strip())


def _legal_notice(settings, category, lang, facts):
    source = settings.template(f"legal-{category}", lang)["text"]
    text = render(source, "legal", {k: facts[k] for k in (
        "penalties_cents", "interest_cents", "indemnity_cents", "indemnity_each_cents",
        "rate_percent", "contract_rate", "as_of", "formal_notice", "invoice_count", "lang")})
    text = text.strip()
    return Both(text, escape(text))


def compose(customer, items, as_of, link, settings=None):
    """The message for `customer` listing `items`; its level is the highest among them, and
    that level's attributes decide its wording, penalties, deadline and channels."""
    return _compose(customer, items, as_of, link, settings or relance_settings.current())


def variant_of(customer_id):
    """"A" or "B": the half of the debtors a debtor belongs to in every A/B test, for good
    (the same debtor always reads the same variant), drawn from its id alone."""
    return "B" if hashlib.sha256(f"relance-ab:{customer_id}".encode()).digest()[0] & 1 else "A"


def _compose(customer, items, as_of, link, settings):
    creditor_row = creditor()
    policy = settings.policy_for(customer.tier, customer.policy)
    level = policy.level_for(max(item.level for item in items))
    facts = message_facts(customer, items, as_of, link, level, settings, creditor_row, policy)
    lang = facts["lang"]
    variant = variant_of(customer.id) if level.variant_template else ""
    template = settings.template(level.variant_template if variant == "B" else level.template,
                                 lang)
    prepared = Prepared(facts)
    subject = render(template["subject"], "subject", prepared)
    text = render(template["text"], "text", prepared).rstrip() + "\n\n" + _footer(creditor_row,
                                                                                 lang)
    body = Markup(render(template["html"], "html", prepared))
    html = _render("emails/layout.html", lang=lang, creditor=facts["creditor"],
                           body=body)
    letter = render(template["letter"], "letter", prepared) \
        if "letter" in level.channels and template.get("letter") else None
    return Composed(level.number, subject, text, html, letter=letter, steps=level, lang=lang,
                    facts=facts, body=body, variant=variant)


def compose_sms(composed, settings, link):
    """The SMS text of a composed message (its level's `sms` template, or its variant's), with
    `link` (the short link) as the link."""
    level = composed.steps
    key = level.variant_template if composed.variant == "B" else level.template
    source = settings.template(key, composed.lang).get("sms")
    if not source:
        raise TemplateProblem(f"the template {key!r} has no sms part in {composed.lang}")
    return render(source, "sms", dict(composed.facts, link=link))


VAT = {"fr": "TVA", "en": "VAT"}


def _footer(creditor_row, lang):
    line = f"{creditor_row.name}, {creditor_row.address}"
    if creditor_row.siren:
        line += f" - SIREN {creditor_row.siren}"
    if creditor_row.vat_number:
        line += f" - {VAT.get(lang, 'TVA')} {creditor_row.vat_number}"
    return line + "\n"


INSTALMENT_SUBJECTS = {
    "fr": {0: "Prochaine échéance de votre échéancier : {what}",
           1: "Échéance de votre échéancier non reçue : {what}"},
    "en": {0: "Your next instalment: {what}", 1: "Instalment not received: {what}"},
}


@dataclass
class InstalmentItem:
    """One instalment in a reminder: "2/3" of the plan for invoices ..."""
    number: str  # "2/3"
    due_date: date
    amount_cents: int
    balance_cents: int  # what is left to pay on it
    level: int
    invoices: str
    currency: str = "EUR"
    debited: bool = False  # on automatic collection: the heads-up is the SEPA pre-notification

    def days_late(self, as_of):
        return max(0, (as_of - self.due_date).days)


def compose_instalments(customer, items, as_of, link):
    """A heads-up before instalments fall due (level 0) or a reminder after (level 1)."""
    language = customer.language if customer.language in INSTALMENT_SUBJECTS else "fr"
    level = max(item.level for item in items)
    what = ", ".join(i.number for i in items)
    context = dict(customer=customer, items=items, as_of=as_of, link=link, level=level,
                   heads_up=level == INSTALMENT_HEADS_UP, lang=language,
                   creditor=_creditor_facts(creditor()), debited=any(i.debited for i in items),
                   total_cents=sum(i.balance_cents for i in items),
                   link_max_age_days=current_app.config["LINK_MAX_AGE_DAYS"])
    return Composed(level, INSTALMENT_SUBJECTS[language][level].format(what=what),
                    _render(f"emails/{language}/instalment.txt", **context),
                    _render(f"emails/{language}/instalment.html", **context),
                    channel="instalment e-mail")
