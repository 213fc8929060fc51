"""Build a reminder e-mail for one debtor: subject, text and HTML parts, signed link, penalties.

`compose(...)` is a pure function of its arguments plus the application's Jinja environment, so that
previews, tests and the run render exactly the same message.
"""
from dataclasses import dataclass
from datetime import date

from flask import current_app, render_template

from portal.config import creditor as creditor_details

from .penalties import penalty_for

SUBJECTS = {
    "fr": {
        0: "Rappel : échéance prochaine de {what}",
        1: "Relance : {what} en attente de règlement",
        2: "Deuxième relance : {what} impayée(s)",
        3: "Dernier rappel avant mise en demeure : {what}",
        4: "Mise en demeure de payer : {what}",
    },
    "en": {
        0: "Reminder: {what} due soon",
        1: "Reminder: {what} awaiting payment",
        2: "Second reminder: {what} unpaid",
        3: "Final reminder before formal notice: {what}",
        4: "Formal notice to pay: {what}",
    },
}
WHAT = {"fr": ("facture {n}", "{k} factures"), "en": ("invoice {n}", "{k} invoices")}


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

    def days_late(self, as_of):
        return max(0, (as_of - self.due_date).days)


@dataclass
class Composed:
    level: int
    subject: str
    text: str
    html: str
    channel: str = "email"  # how the run's report counts it


def subject_for(language, level, items):
    singular, plural = WHAT[language]
    what = singular.format(n=items[0].number) if len(items) == 1 else plural.format(k=len(items))
    return SUBJECTS[language][level].format(what=what)


def creditor():
    return creditor_details(current_app.config)


def compose(customer, items, as_of, link):
    """The message for `customer` listing `items`; its tone is the highest level among them."""
    language = customer.language if customer.language in SUBJECTS else "fr"
    level = max(item.level for item in items)
    cfg = current_app.config
    if level >= 3:
        for item in items:
            item.penalty = penalty_for(item.balance_cents, item.due_date, as_of,
                                       cfg["LATE_INTEREST_RATE_PERCENT"],
                                       cfg["RECOVERY_INDEMNITY_CENTS"])
    context = dict(
        customer=customer, items=items, as_of=as_of, link=link, level=level, lang=language,
        creditor=creditor(),
        total_cents=sum(i.balance_cents for i in items),
        penalties_cents=sum(i.penalty.total_cents for i in items if i.penalty),
        broken_promises=[i for i in items if i.reason == "broken_promise"],
        restarted=[i for i in items if i.reason == "restart"],
        failed_payments=[i for i in items if i.reason == "payment_failed"],
        link_max_age_days=cfg["LINK_MAX_AGE_DAYS"],
    )
    text = render_template(f"emails/{language}/level{level}.txt", **context)
    html = render_template(f"emails/{language}/level{level}.html", **context)
    return Composed(level, subject_for(language, level, items), text, html)


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
                   lang=language, creditor=creditor(), debited=any(i.debited for i in items),
                   total_cents=sum(i.balance_cents for i in items),
                   link_max_age_days=current_app.config["LINK_MAX_AGE_DAYS"])
    return Composed(level, INSTALMENT_SUBJECTS[language][level].format(what=what),
                    render_template(f"emails/{language}/instalment.txt", **context),
                    render_template(f"emails/{language}/instalment.html", **context),
                    channel="instalment e-mail")
