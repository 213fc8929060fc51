"""How money spreads over what is owed, and how it is taken back: one pure rule for every way
money arrives (checkout, SEPA debit, transfer by API, CSV or bank statement, the bank page,
the accounting tool's paid amount, an instalment) and every way it leaves (refund, failed debit).

No database, no Flask: plain integers in, plain integers out, so that the rule is tested on its
own and every path spreads a payment the same way. Amounts are integer cents.
"""


def allocate(amount_cents, owed_cents):
    """Spread `amount_cents` over the debts `owed_cents` (a list of cents, in the order they are
    paid: oldest first), never more than each one owes and never below zero.

    Returns (shares, left): `shares[i]` is what debt i receives, `left` what nobody takes (the
    debtor's credit). sum(shares) + left == amount_cents whenever amount_cents >= 0.
    """
    if amount_cents < 0:
        raise ValueError("an amount to allocate is never negative")
    shares, left = [], amount_cents
    for owed in owed_cents:
        share = min(left, max(0, owed))
        shares.append(share)
        left -= share
    return shares, left


def take_back(shares_cents, amount_cents):
    """Take `amount_cents` back from the shares of an allocation, the last one first (a refund
    or a failed debit reopens the newest debt before the oldest): the reverse of `allocate`.

    Returns (new_shares, not_taken): not_taken is what the shares could not give back.
    """
    if amount_cents < 0:
        raise ValueError("an amount to take back is never negative")
    shares, left = list(shares_cents), amount_cents
    for i in reversed(range(len(shares))):
        take = min(shares[i], left)
        shares[i] -= take
        left -= take
    return shares, left


def fit(asked, owed, budget_cents):
    """When the money of a checkout arrives: each share is cut to what its debt still owes and
    all of them together to the money received (`budget_cents`), in order.

    `asked`: [(debt key, cents asked)], several shares may name one debt; `owed`: {debt key:
    cents it owes besides this payment}. Returns (fitted shares, what each debt owes after
    them); what the shares do not take stays with the payer as credit.
    """
    owed, shares = dict(owed), []
    for key, cents in asked:
        share = max(0, min(cents, budget_cents, owed[key]))
        shares.append(share)
        budget_cents -= share
        owed[key] -= share
    return shares, owed
