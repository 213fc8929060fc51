"""Payments: gateways (Stripe, demo) in `gateways`, the payment state machine in `ledger`, the
provider's events in `events` (all three read by the run too), and the Stripe webhook endpoint
in `webhook` (web layer only)."""
