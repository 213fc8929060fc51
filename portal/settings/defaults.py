"""The shipped settings: the `default` and `gentle` policies, the legal rules and rates, and the
templates read from the files under templates/emails/levels/ and templates/emails/legal/.

A new installation's first settings revision is this document; the accountant changes it from
there (back office or `flask settings import`)."""
import copy
import os
from functools import lru_cache

from ..rules.penalties import DEFAULT_RATES

from .templates import LANGUAGES

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "templates", "emails")
LEVEL_TEMPLATES = ("heads-up", "cordial", "firm", "penalties", "formal-notice")
CATEGORIES = ("business", "consumer", "public")
FILE_PARTS = {"subject": "subject", "text": "txt", "html": "html", "letter": "letter",
              "sms": "sms"}


def _level(number, offset, channels, template, penalties=False, formal_notice=False,
           deadline_days=0):
    return dict(number=number, offset_days=offset, channels=list(channels), template=template,
                penalties=penalties, formal_notice=formal_notice, deadline_days=deadline_days)


def _policy(name, label, offsets, **attributes):
    heads_up, first, second, third, notice = offsets
    return dict(
        name=name, label=label, **attributes,
        levels=[_level(0, heads_up, ["email"], "heads-up"),
                _level(1, first, ["email"], "cordial"),
                # The SMS goes only where the creditor has a provider and the debtor a mobile.
                _level(2, second, ["email", "sms"], "firm", deadline_days=8),
                _level(3, third, ["email", "call"], "penalties", penalties=True),
                _level(4, notice, ["letter", "email"], "formal-notice", penalties=True,
                       formal_notice=True, deadline_days=8)],
        # Key accounts get more room for their habits; risky ones are chased earlier, never
        # get a habit shift, and their instalment requests always wait for a human.
        tiers={"key": {"max_shift_days": 20},
               "risky": {"max_shift_days": 0, "instalment_auto_tiers": [],
                         "offsets": {"1": 3, "2": 14, "3": 30, "4": 40}}})


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


@lru_cache(maxsize=1)
def _templates():
    templates = {}
    for key in LEVEL_TEMPLATES:
        templates[key] = {}
        for lang in LANGUAGES:
            parts = {}
            for part, suffix in FILE_PARTS.items():
                path = os.path.join(ROOT, "levels", f"{key}.{lang}.{suffix}")
                if os.path.exists(path):
                    text = _read(path)
                    parts[part] = text.strip() if part == "subject" else text
            templates[key][lang] = parts
    for category in CATEGORIES:
        templates[f"legal-{category}"] = {
            lang: {"text": _read(os.path.join(ROOT, "legal", f"{category}.{lang}.txt"))}
            for lang in LANGUAGES}
    return templates


def default_template(key, lang):
    """The shipped wording of one template ({} when there is none): "reset to the default"."""
    return copy.deepcopy(_templates().get(key, {}).get(lang, {}))


def default_document():
    """A fresh copy of the shipped settings document."""
    return {
        "policies": [
            _policy("default", "Standard", (-3, 7, 21, 51, 60)),
            # For customers one wants to keep close: later and fewer reminders.
            _policy("gentle", "Souple", (-3, 10, 30, 60, 75), max_shift_days=15),
        ],
        "legal": {
            # Empty: the legal rate of each category (L441-10 for businesses: ECB + 10 points).
            "contract_rate_percent": "",
            "indemnity_cents": 4000,  # D441-5 and D2192-35: 40 EUR per invoice paid late
            "rates": [dict(semester=r.semester, ecb_percent=str(r.ecb_percent),
                           legal_individual_percent=str(r.legal_individual_percent),
                           legal_other_percent=str(r.legal_other_percent))
                      for r in DEFAULT_RATES],
        },
        "templates": copy.deepcopy(_templates()),
        # Personal data of a debtor who owes nothing are erased this many months after the
        # last invoice was settled (README, "Personal data").
        "privacy": {"retention_months": 36},
    }
