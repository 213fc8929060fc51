"""The early-payment discount (escompte): one rule, read by the heads-up e-mail, the portal and
the checkout alike.

A policy may grant `discount_percent` (text such as "2" or "1.5", never a float) off an invoice
paid within `discount_days` calendar days of its issue date, both days included (0: by its due
date). The discount is the invoice's total times the percent, rounded to the cent half up
(Decimal, ROUND_HALF_UP). It is offered only while the invoice is wholly unpaid (no money and
no discount allocated to it yet: a part-paid invoice owes its full balance) and the creditor's
today is on or before the last day. Whoever pays then pays `pay_cents`; the discount itself is
recorded as an allocation of its own (kind "discount", portal.payments.lifecycle), never as a
change of the invoice.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .policies import discount_rate

CENT = Decimal(1)


@dataclass(frozen=True)
class Discount:
    percent: Decimal  # 2, 1.5
    cents: int  # off the invoice
    pay_cents: int  # what settles the invoice until the last day
    last_day: date  # the last day the discount holds (included)

    def percent_text(self, lang="fr"):
        """"2", "1,5" (fr), "1.5" (en): the percent as the debtor writes it."""
        text = f"{self.percent.normalize():f}"
        return text.replace(".", ",") if lang == "fr" else text


def last_day(policy, issue_date, due_date):
    """The last day of the policy's discount for an invoice issued and due on these dates
    (None: the policy grants no discount)."""
    if discount_rate(policy.discount_percent) is None:
        return None
    if policy.discount_days:
        return issue_date + timedelta(days=policy.discount_days)
    return due_date


def discount_for(policy, total_cents, paid_cents, issue_date, due_date, as_of):
    """The discount an invoice of `total_cents`, of which `paid_cents` is settled, gets if paid
    on `as_of`; None when there is none (no discount in the policy, something already paid,
    the last day passed, or less than a cent)."""
    rate = discount_rate(policy.discount_percent)
    if rate is None or paid_cents != 0 or total_cents <= 0:
        return None
    until = last_day(policy, issue_date, due_date)
    if as_of > until:
        return None
    cents = int((Decimal(total_cents) * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP))
    if cents <= 0:
        return None
    return Discount(rate, cents, total_cents - cents, until)


def invoice_discount(invoice, as_of, policy):
    """`discount_for` an Invoice row (its paid amount from the ledger): None unless it is open."""
    if invoice.status != "open":
        return None
    return discount_for(policy, invoice.total_cents, invoice.paid_cents, invoice.issue_date,
                        invoice.due_date, as_of)
