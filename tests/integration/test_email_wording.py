"""The shipped wording is true of every invoice a message names (issue 20, item 2): a debtor's
account gets one message listing invoices of very different ages, some of which never had a
reminder of their own, so no sentence gives the oldest invoice's lateness to all of them, and
the sentences about earlier reminders speak of the account, not of the invoices."""
import re
from datetime import date, timedelta

import pytest

from portal import settings
from portal.models import Customer
from reminders.compose import Item, compose, compose_sms

AS_OF = date(2025, 7, 21)
LINK = "http://portal.test/p/TOKEN"
LEVELS = [(lv.number, lv.template) for lv in settings.shipped().policy_for().levels
          if not lv.before_due]
AGES = (130, 70, 38, 16)  # days late of the account's four overdue invoices
# A number of days in a sentence (the tables write "jours de retard 16": label first).
DAYS = re.compile(r"(\d+)\s(?:jours?|j|days?)\b")
# What must come just before the oldest invoice's lateness when several invoices are listed.
OLDEST = re.compile(r"(plus ancienne|jusqu'à|oldest of them|up to)\D{0,12}$")


def debtor(lang):
    return Customer(id=7, ref="C-7", name="Caves Legrand", email="compta@legrand.example",
                    phone="+33 6 00 00 00 00", address="1 quai des Chartrons, 33000 Bordeaux",
                    language=lang, tier="standard", policy=None, debtor_type="business")


def account(level, ages=AGES):
    return [Item(f"L-{n}", AS_OF - timedelta(days=n + 30), AS_OF - timedelta(days=n),
                 50_000 + n, 50_000 + n, level) for n in ages]


def parts(composed, sms):
    return {"subject": composed.subject, "text": composed.text, "html": composed.body,
            "letter": composed.letter or "", "sms": sms or ""}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("number,template", LEVELS)
def test_no_sentence_gives_the_oldest_invoices_lateness_to_all(app, number, template, lang):
    composed = compose(debtor(lang), account(number), AS_OF, LINK)
    sms = compose_sms(composed, settings.shipped(), "http://portal.test/s/x") \
        if "sms" in composed.steps.channels else None
    for part, text in parts(composed, sms).items():
        for found in DAYS.finditer(text):
            if re.search(r"(valable|valid for) $", text[:found.start()]):
                continue  # "valable 60 jours": the link's life, not a lateness
            assert int(found.group(1)) == max(AGES), (part, found.group(0))
            assert OLDEST.search(text[:found.start()]), (part, text[found.start() - 60:
                                                                    found.end()])


@pytest.mark.parametrize("number,template", LEVELS)
def test_earlier_reminders_are_told_of_the_account_not_of_the_invoices(app, number, template):
    """An invoice that joined the account's message never had a reminder of its own: "restent
    impayées" after "malgré notre précédent rappel" would be false for it."""
    for lang in ("fr", "en"):
        composed = compose(debtor(lang), account(number), AS_OF, LINK)
        said = composed.text + str(composed.body) + (composed.letter or "")
        assert not re.search(r"restent|demeurent|reste impayée|remain|still unpaid|no effect",
                             said), (template, lang)
        if number > 1:  # a reminder came before in the cycle: it is said of the account
            assert re.search(r"votre compte.{0,20} présente toujours un solde échu" if lang == "fr"
                             else "your account .{0,30}still shows an overdue balance", said)


def test_a_mixed_age_account_reads_its_oldest_invoice_as_the_oldest(app):
    firm = compose(debtor("fr"), account(2), AS_OF, LINK)
    assert ("Malgré notre précédent rappel, votre compte présente toujours un solde échu : les 4 "
            "factures ci-dessous sont impayées, la plus ancienne avec 130 jours de retard.") \
        in firm.text
    sms = compose_sms(firm, settings.shipped(), "http://portal.test/s/x")
    assert " : 4 factures impayées (2 002,54 €, jusqu'à 130 j de retard)." in sms
    penalties = compose(debtor("en"), account(3), AS_OF, LINK)
    assert ("The 4 invoices below are overdue and unpaid, the oldest of them for 130 days."
            in penalties.text)
    notice = compose(debtor("fr"), account(4), AS_OF, LINK)
    assert ("votre compte présente toujours un solde échu : les 4 factures ci-dessous sont échues "
            "et impayées. Nous vous mettons en demeure de nous régler la somme de 2 002,54") \
        in notice.letter.replace("\u202f", " ").replace("\xa0", " ")


@pytest.mark.parametrize("lang,firm,penalties", [
    ("fr", "la facture ci-dessous est impayée, avec 1 jour de retard.",
     "la facture ci-dessous est échue et impayée depuis 1 jour."),
    ("en", "the invoice below is unpaid, 1 day late.",
     "The invoice below has been overdue and unpaid for 1 day."),
])
def test_a_lone_invoice_that_joined_yesterday_is_one_day_late(app, lang, firm, penalties):
    """The account's older invoice was paid: the next level names the one that fell due
    yesterday, alone, in the singular, and never says it was reminded before."""
    assert firm in compose(debtor(lang), account(2, (1,)), AS_OF, LINK).text
    assert penalties in compose(debtor(lang), account(3, (1,)), AS_OF, LINK).text
    sms = compose_sms(compose(debtor(lang), account(2, (1,)), AS_OF, LINK), settings.shipped(),
                      "http://portal.test/s/x")
    assert ("(500,01 €, 1 j de retard)" if lang == "fr" else "€500.01, 1 day late)") in sms
