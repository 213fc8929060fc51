"""SMS providers behind one interface: `send(to, body) -> Accepted`, raising `SmsRefused` when
the provider will never deliver to that number (invalid, not a mobile, the debtor replied STOP)
and `SmsUnavailable` when it cannot take messages now (down, credentials refused): the SMS stays
queued for the next run.

- `TwilioProvider` goes through Twilio's official package (`twilio`); TWILIO_API_BASE points it
  at a local stand-in of Twilio's HTTP API in the tests, as STRIPE_API_BASE does for Stripe.
  Twilio calls back with delivery reports and inbound replies (STOP), signed with the account's
  auth token (`portal.webhooks.sms`).
- `OutboxProvider` writes each SMS to a file (the demo's and a development machine's outbox).
"""
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import requests
from flask import current_app
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from .. import settings

TIMEOUT = 15  # seconds the provider may take to accept one message


@dataclass(frozen=True)
class Accepted:
    provider_id: str
    state: str = "sent"  # what the provider says at once: sent (queued there), delivered


class SmsRefused(Exception):
    """This number will never get the message: `opted_out` when the debtor replied STOP."""

    def __init__(self, reason, code=None, opted_out=False):
        super().__init__(reason)
        self.code, self.opted_out = code, opted_out


class SmsUnavailable(Exception):
    """The provider cannot take messages now; say what to do in the message."""


class SmsUncertain(Exception):
    """The provider got the message but did not answer in time: it may have been sent."""


# Twilio's error codes that concern the recipient (https://www.twilio.com/docs/api/errors); any
# other refusal is about the account or the sender (not SMS-capable, region not enabled...):
# the SMS stays queued until it is fixed.
TWILIO_OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient"
TWILIO_BAD_NUMBER = {21211, 21214, 21217, 21401, 21407, 21612, 21614}


class TwilioProvider:
    name = "twilio"

    def __init__(self, account, token, sender, api_base=None, status_url=None,
                 timeout=TIMEOUT):
        if not (account and token and sender):
            raise SmsUnavailable("the Twilio account SID, auth token and sender are all needed "
                                 "(flask creditors set --sms-account ... or SMS_* variables)")
        self.client = Client(account, token, http_client=TwilioHttpClient(timeout=timeout))
        self.timeout = timeout
        if api_base:
            self.client.api.base_url = api_base.rstrip("/")
        self.sender, self.status_url = sender, status_url
        self.validator = RequestValidator(token)

    def send(self, to, body):
        try:
            message = self.client.messages.create(to=to, from_=self.sender, body=body,
                                                  status_callback=self.status_url)
        except TwilioRestException as exc:
            if exc.code == TWILIO_OPTED_OUT:
                raise SmsRefused(f"the debtor replied STOP to the sender ({exc.code})",
                                 exc.code, opted_out=True) from None
            if exc.code in TWILIO_BAD_NUMBER:
                raise SmsRefused(f"Twilio refused the number: {exc.msg} ({exc.code})",
                                 exc.code) from None
            raise SmsUnavailable(f"Twilio answered {exc.status}: {exc.msg} (error {exc.code}); "
                                 "check the account SID, auth token and sender, or try again "
                                 "later") from None
        except requests.ReadTimeout:
            raise SmsUncertain(f"Twilio did not answer within {self.timeout} s: the SMS may have "
                               "been sent; check Twilio's message log before sending it again"
                               ) from None
        except (TwilioException, requests.RequestException) as exc:
            raise SmsUnavailable(f"Twilio cannot be reached ({exc.__class__.__name__}); the "
                                 "SMS stay queued for the next run") from None
        return Accepted(message.sid, "sent")

    def authentic(self, url, params, signature):
        """Whether a callback comes from Twilio: its X-Twilio-Signature over our URL and the
        posted fields, made with the account's auth token."""
        return bool(signature) and self.validator.validate(url, params, signature)


class OutboxProvider:
    """Each SMS becomes a file in SMS_OUTBOX_DIR: what the demo sent, readable as is."""
    name = "outbox"

    def __init__(self, directory, sender=""):
        self.directory, self.sender = directory, sender

    def send(self, to, body):
        os.makedirs(self.directory, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{re.sub(r'[^0-9+]', '', to)}.txt"
        with open(os.path.join(self.directory, name), "w", encoding="utf-8") as f:
            f.write(f"To: {to}\nFrom: {self.sender}\n\n{body}\n")
        return Accepted(f"outbox-{stamp}", "delivered")

    def authentic(self, url, params, signature):
        return False  # an outbox sends no callbacks


def provider_for(parts=None):
    """The provider of the creditor this context works for, or None where it has none."""
    sms = (parts or settings.outside_parts()).sms
    if not sms:
        return None
    config = current_app.config
    if sms["provider"] == "outbox":
        directory = config.get("SMS_OUTBOX_DIR") or os.path.join(current_app.instance_path,
                                                                 "outbox", "sms")
        return OutboxProvider(directory, sms["sender"])
    if sms["provider"] == "twilio":
        return TwilioProvider(sms["account"], sms["token"], sms["sender"],
                              config.get("TWILIO_API_BASE"), status_url=callback_url("status"),
                              timeout=config.get("SMS_TIMEOUT") or TIMEOUT)
    raise SmsUnavailable(f"unknown SMS provider {sms['provider']!r}: use twilio or outbox")


PROVIDERS = ("twilio", "outbox")


def callback_url(kind):
    """The public address of a provider callback for this creditor (PORTAL_BASE_URL)."""
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    return f"{base}/sms/twilio/{settings.creditor().slug}/{kind}"
