"""The payment's states and the moves allowed between them: one table that every way money
arrives is checked against (a checkout's events in `payments.lifecycle.transition`, a transfer
recorded by `portal.bookkeeping.record_payment`). Pure: no database, no Flask."""

NEXT = {
    "created": {"pending", "succeeded", "failed", "review", "cancelled"},
    "pending": {"succeeded", "failed", "review"},
    "review": {"succeeded", "failed"},
    # A replaced checkout that is paid all the same: the money is real, it is applied.
    "cancelled": {"pending", "succeeded", "review"},
    "succeeded": {"refunded", "disputed"},
    "failed": set(),
    "refunded": set(),
    "disputed": set(),
}
HOLDING = {"pending", "review"}  # states in which the invoices are not reminded


def can_move(before, after):
    """Whether a payment may go from `before` to `after` (a repeat is not a move)."""
    return after in NEXT.get(before, ())
