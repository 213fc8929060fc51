"""Payment gateways behind one interface: Stripe Checkout (card + SEPA Direct Debit), or the
built-in demo gateway when no STRIPE_SECRET_KEY is set. Which one is configuration only."""
import secrets
from dataclasses import dataclass

import stripe
from flask import current_app, has_app_context, url_for

from ..extensions import db
from ..settings import outside_parts
from ..models import Payment
from .lifecycle import transition


@dataclass
class Checkout:
    id: str
    url: str


class GatewayError(RuntimeError):
    """The payment provider could not be reached or refused the request."""


class StripeGateway:
    name = "stripe"

    def __init__(self, config, secret_key):
        base = config.get("STRIPE_API_BASE")
        self.real = not base  # parameters only real Stripe knows are sent only to real Stripe
        self.client = stripe.StripeClient(secret_key,
                                          base_addresses={"api": base} if base else {})

    def _call(self, what, *args, **kwargs):
        try:
            return what(*args, **kwargs)
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe: {exc.user_message or exc}") from exc

    def ensure_customer(self, customer):
        """The debtor's Stripe customer, created once and reused."""
        if customer.stripe_customer_id:
            return customer.stripe_customer_id
        params = {"name": customer.name, "email": customer.email.split(",")[0].strip(),
                  "metadata": {"customer_ref": customer.ref}}
        created = self._call(self.client.v1.customers.create, params=params,
                             options={"idempotency_key": f"relance-customer-{customer.id}"})
        customer.stripe_customer_id = created.id
        return created.id

    def create_checkout(self, customer, payment, lines, success_url, cancel_url):
        metadata = {"payment_id": str(payment.id), "customer_ref": customer.ref,
                    "invoices": ",".join(i.number for i, _ in payment_lines(payment)),
                    "plan_id": str(payment.instalment_plan_id or "")}
        params = {
            "mode": "payment", "customer": self.ensure_customer(customer),
            "payment_method_types": ["card", "sepa_debit"],
            "line_items": [{"quantity": 1, "price_data": {
                "currency": payment.currency.lower(), "unit_amount": amount,
                "product_data": {"name": label}}} for label, amount in lines],
            "metadata": metadata, "payment_intent_data": {"metadata": metadata},
            "client_reference_id": str(payment.id),
            "success_url": success_url, "cancel_url": cancel_url,
        }
        if self.real:
            params["payment_intent_data"]["description"] = f"{customer.ref} {metadata['invoices']}"
        session = self._call(self.client.v1.checkout.sessions.create, params=params,
                             options={"idempotency_key": f"relance-checkout-{payment.id}"})
        return Checkout(session.id, session.url)

    def expire_checkout(self, payment):
        """Close a replaced checkout at Stripe, so that it can no longer be paid."""
        self._call(self.client.v1.checkout.sessions.expire, payment.external_id)

    def start_mandate(self, customer, plan, success_url, cancel_url):
        """Checkout in setup mode: the debtor signs a SEPA mandate for the plan's instalments."""
        metadata = {"plan_id": str(plan.id), "purpose": "instalment_mandate",
                    "customer_ref": customer.ref}
        params = {"mode": "setup", "customer": self.ensure_customer(customer),
                  "payment_method_types": ["sepa_debit"], "metadata": metadata,
                  "setup_intent_data": {"metadata": metadata},
                  "success_url": success_url, "cancel_url": cancel_url}
        session = self._call(self.client.v1.checkout.sessions.create, params=params,
                             options={"idempotency_key": f"relance-mandate-{plan.id}"})
        return Checkout(session.id, session.url)

    def mandate_payment_method(self, setup_intent_id):
        intent = self._call(self.client.v1.setup_intents.retrieve, setup_intent_id)
        return intent.payment_method

    def collect(self, customer, plan, payment):
        """Debit one instalment off-session from the plan's mandate: (intent id, status)."""
        metadata = {"payment_id": str(payment.id), "plan_id": str(plan.id),
                    "instalment_id": str(payment.instalment_id), "customer_ref": customer.ref}
        params = {"amount": payment.amount_cents, "currency": payment.currency.lower(),
                  "customer": self.ensure_customer(customer),
                  "payment_method": plan.mandate_payment_method,
                  "payment_method_types": ["sepa_debit"], "off_session": True, "confirm": True,
                  "metadata": metadata}
        if self.real:
            params["description"] = f"{customer.ref} instalment {payment.instalment_id}"
        intent = self._call(self.client.v1.payment_intents.create, params=params,
                            options={"idempotency_key": f"relance-collect-{payment.id}"})
        return intent.id, intent.status

    def on_run(self, as_of):
        """Nothing to do: Stripe tells us about SEPA debits through webhooks."""
        return 0


class DemoGateway:
    """A stand-in for Stripe on a laptop: its checkout page (marked DEMO) has buttons that
    produce the same internal events as Stripe's webhooks; pending SEPA debits clear at the next
    reminder run."""
    name = "demo"

    def ensure_customer(self, customer):
        return None

    def create_checkout(self, customer, payment, lines, success_url, cancel_url):
        session_id = f"demo_cs_{secrets.token_hex(10)}"
        return Checkout(session_id, url_for("debtor.demo_checkout", session_id=session_id))

    def expire_checkout(self, payment):
        """The demo's page refuses a replaced checkout by itself."""

    def start_mandate(self, customer, plan, success_url, cancel_url):
        return Checkout(f"demo_setup_{plan.id}", url_for("debtor.demo_mandate"))

    def mandate_payment_method(self, setup_intent_id):
        return f"demo_pm_{setup_intent_id}"

    def collect(self, customer, plan, payment):
        return f"demo_pi_{payment.id}", "processing"  # clears at the next run, like SEPA

    def on_run(self, as_of):
        cleared = 0
        for payment in db.session.scalars(db.select(Payment).where(
                Payment.source == "demo", Payment.state == "pending")).all():
            cleared += transition(payment, "succeeded", as_of, actor="demo", method="sepa_debit")
        db.session.commit()
        return cleared


def payment_lines(payment):
    return [(a.invoice, a.amount_cents) for a in payment.allocations]


class NoGateway:
    """Production without a Stripe key: no online payment at all (never the demo's buttons,
    which would mark invoices paid with no money). Transfers and the API still work."""
    name = "none"

    def __bool__(self):
        return False

    def on_run(self, as_of):
        return 0

    def collect(self, customer, plan, payment):
        raise GatewayError("no payment gateway is configured (set STRIPE_SECRET_KEY)")


def gateway_for(app=None):
    """The creditor's Stripe account (its own keys, or the STRIPE_* variables for the first
    creditor), else the demo's checkout where PAYMENTS_DEMO is on, else none."""
    app = app or current_app
    secret_key = (outside_parts().stripe_secret_key if has_app_context()
                  else app.config.get("STRIPE_SECRET_KEY"))
    if secret_key:
        return StripeGateway(app.config, secret_key)
    if app.config.get("PAYMENTS_DEMO"):
        return DemoGateway()
    return NoGateway()
