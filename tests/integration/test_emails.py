"""Rendered reminders compared with saved copies (as Indico does): every level of the default
policy, in every language, for every debtor category, so a wording change is a visible diff.
Then the legal facts each category must (and must not) state, with figures computed by hand.

After an intended wording change: RELANCE_UPDATE_EMAILS=1 pytest tests/integration/test_emails.py
rewrites the copies under tests/integration/emails/; review them with `git diff`."""
import os
import re
from datetime import date
from pathlib import Path

import pytest

from portal import settings
from portal.models import Customer
from reminders.compose import Item, compose

COPIES = Path(__file__).parent / "emails"
AS_OF = date(2025, 7, 21)  # a Monday of 2025-H2: interest on A-1 spans two semesters
LINK = "http://portal.test/p/TOKEN"
LEVELS = [(lv.number, lv.template) for lv in settings.shipped().policy_for().levels]


def debtor(category, lang):
    return Customer(id=1, ref="C-42", name="Dupont & Fils <SARL>", email="compta@dupont.example",
                    phone="+33 6 00 00 00 00", address="3 place du Marché, 21000 Dijon",
                    language=lang, tier="standard", policy=None, debtor_type=category)


def items(level):
    """Two invoices: A-1 due 2025-05-15 (1,000.00 EUR left), A-2 due 2025-07-01 (250.00)."""
    return [Item("A-1", date(2025, 4, 15), date(2025, 5, 15), 120_000, 100_000, level),
            Item("A-2", date(2025, 6, 1), date(2025, 7, 1), 25_000, 25_000, level)]


def rendered(composed):
    return (f"Subject: {composed.subject}\n\n{composed.text}\n----- html -----\n{composed.html}"
            + (f"\n----- letter -----\n{composed.letter}" if composed.letter else ""))


@pytest.mark.parametrize("category", ["business", "consumer", "public"])
@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("number,template", LEVELS)
def test_every_reminder_matches_its_saved_copy(app, number, template, lang, category):
    composed = compose(debtor(category, lang), items(number), AS_OF, LINK)
    path = COPIES / f"{number}-{template}.{lang}.{category}.txt"
    if os.environ.get("RELANCE_UPDATE_EMAILS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered(composed), encoding="utf-8")
    assert path.exists(), f"no saved copy {path.name}: run with RELANCE_UPDATE_EMAILS=1"
    assert rendered(composed) == path.read_text(encoding="utf-8")


def level(attribute):
    return next(lv for lv in settings.shipped().policy_for().levels if getattr(lv, attribute))


def texts(category, attribute, lang="fr"):
    composed = compose(debtor(category, lang), items(level(attribute).number), AS_OF, LINK)
    return composed.text + composed.html + (composed.letter or "")


def test_a_business_pays_ecb_plus_ten_with_each_semesters_rate(app):
    # 1,000.00 EUR from 2025-05-16 to 2025-07-21: 46 days of H1 at 3.15 + 10 = 13.15 %,
    # then 21 days of H2 at 2.15 + 10 = 12.15 %:
    # 1000 x 13.15 % x 46 / 365 = 16.5726 ; 1000 x 12.15 % x 21 / 365 = 6.9904 ; = 23.56 EUR.
    # 250.00 EUR, 20 days of H2: 250 x 12.15 % x 20 / 365 = 1.66 EUR.
    # Indemnities: 2 x 40 EUR. Penalties: 23.56 + 1.66 + 80 = 105.22 EUR.
    text = texts("business", "penalties")
    assert "L441-10" in text and "D441-5" in text
    assert "12,15 %" in text and "40,00\u00a0€" in text
    assert "105,22\u00a0€" in text
    assert "63,56\u00a0€" in text and "41,66\u00a0€" in text  # per invoice: interest + 40


def test_a_public_buyer_pays_ecb_plus_eight_of_the_semester_interest_started(app):
    # R2192-31: the ECB rate in force on the first day of the semester in which interest began
    # 2025-H1, 3.15 %; A-2: 2025-H2, 2.15 %), plus 8 points, for the whole period.
    # 1000 x 11.15 % x 67 / 365 = 20.47 EUR ; A-2: 250 x 10.15 % x 20 / 365 = 1.39 EUR.
    # With 2 x 40 EUR: 101.86 EUR.
    text = texts("public", "penalties")
    assert "L2192-13" in text and "L441-10" not in text and "10,15 ou 11,15 %" in text
    assert "101,86\u00a0€" in text and "60,47\u00a0€" in text and "41,39\u00a0€" in text


@pytest.mark.parametrize("attribute", ["penalties", "formal_notice"])
def test_a_consumer_is_never_told_of_business_penalties(app, attribute):
    text = texts("consumer", attribute)
    assert "L441-10" not in text and "D441-5" not in text
    assert "40,00" not in text and "40 €" not in text and "indemnité" not in text
    assert "pénalités" not in text.lower()


def test_a_consumers_formal_notice_states_legal_interest_from_now_on(app):
    # Code civil 1231-6: legal interest (2025-H2, creditors other than individuals: 2.76 %)
    # runs from the formal notice: nothing is owed yet on the day it is sent.
    text = texts("consumer", "formal_notice")
    assert "1231-6" in text and "2,76 %" in text and "à compter de la présente" in text
    english = texts("consumer", "formal_notice", "en")
    assert "2.76%" in english and "from the date of this formal notice" in english


def test_days_late_and_deadlines_come_from_the_data(app):
    """No "fifty days" written into a template: the level-3 text says how late it really is,
    and the formal notice's deadline is the run's date plus the level's deadline_days."""
    text = texts("business", "penalties")
    # A-1, due 2025-05-15, on 2025-07-21: the oldest; A-2 is only 20 days late.
    assert "la plus ancienne depuis 67 jours" in text
    notice = texts("business", "formal_notice")
    assert "au plus tard le 29 juillet 2025" in notice  # 2025-07-21 + 8 days
    assert not re.search(r"cinquante|fifty", notice + text)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_heads_up_with_an_early_payment_discount_matches_its_saved_copy(app, lang):
    """The discount's sentence where an invoice gets one (A-3, wholly unpaid), none for A-2's
    neighbour A-1 (part-paid): 1.5 % of 1,000.00 until the due date."""
    from portal.settings.document import parse
    document = settings.default_document()
    document["policies"][0].update(discount_percent="1.5")
    with_discount = parse(document)
    listed = [Item("A-1", date(2025, 6, 20), date(2025, 7, 24), 120_000, 100_000, 0),
              Item("A-3", date(2025, 7, 15), date(2025, 7, 24), 100_000, 100_000, 0)]
    composed = compose(debtor("business", lang), listed, AS_OF, LINK, settings=with_discount)
    path = COPIES / f"0-heads-up-discount.{lang}.business.txt"
    if os.environ.get("RELANCE_UPDATE_EMAILS") == "1":
        path.write_text(rendered(composed), encoding="utf-8")
    assert path.exists(), f"no saved copy {path.name}: run with RELANCE_UPDATE_EMAILS=1"
    assert rendered(composed) == path.read_text(encoding="utf-8")
    assert composed.text.count("985,00" if lang == "fr" else "985.00") == 1
