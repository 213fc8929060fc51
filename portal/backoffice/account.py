"""Where a debtor's account stands, as the debtor page says it first: what is owed and overdue,
the last payment, the level reached in the current cycle and who chases it. Plain sums over the
rows the page has already read (its invoices and payments): nothing recomputed from the ledger."""
from typing import NamedTuple


class Standing(NamedTuple):
    owed_cents: int  # the open invoices' balances
    overdue_cents: int  # ...of those past their due date
    overdue_count: int
    oldest_late: int  # days late of the oldest overdue invoice (0: none)
    open_total_cents: int  # the open invoices' amounts, before payments
    last_payment: object  # the latest payment received (a Payment), or None


def standing(invoices, payments, today):
    """The account's figures from its invoices and payments (newest payment first)."""
    owing = [i for i in invoices if i.status == "open" and i.balance_cents > 0]
    overdue = [i for i in owing if i.due_date < today]
    received = [p for p in payments if p.state == "succeeded"]
    return Standing(sum(i.balance_cents for i in owing), sum(i.balance_cents for i in overdue),
                    len(overdue), max(((today - i.due_date).days for i in overdue), default=0),
                    sum(i.total_cents for i in invoices if i.status == "open"),
                    max(received, key=lambda p: (p.received_on, p.id), default=None))
