"""A local stand-in for the part of Twilio's REST API that Relance uses, served over HTTP on
127.0.0.1 so that the official `twilio` package (pointed at it with TWILIO_API_BASE) does the
real requests: authentication, form encoding, JSON answers and Twilio's error documents, as
localstripe does for Stripe.

- `POST /2010-04-01/Accounts/<sid>/Messages.json` (To, From, Body, StatusCallback): 201 and a
  Message resource; 401 (code 20003) for wrong credentials; 400 with code 21211 for a 'To' that
  is not E.164, 21602 without a body, 21610 for a number that replied STOP; `outage` answers 503.
- The callbacks Twilio would post to Relance, signed as Twilio signs them (X-Twilio-Signature,
  HMAC-SHA1 of the URL and the sorted fields with the auth token): `status_callback(sid,
  status)` and `inbound(from_, body)` give (path, form, headers) for the test client to post.
"""
import json
import re
import threading
import time
import uuid
from base64 import b64decode
from email.utils import format_datetime
from datetime import datetime, timezone
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

E164 = re.compile(r"\+[1-9]\d{6,14}\Z")


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class TwilioStandIn:
    def __init__(self, account="AC" + "0" * 32, token="twilio-test-token", sender="+33700000000"):
        self.account, self.token, self.sender = account, token, sender
        self.accounts = {account: token}  # more with add_account (one per creditor)
        self.messages = []  # every accepted message, as posted
        self.requests = 0
        self.stopped = set()  # numbers that replied STOP
        self.outage = False
        self.refuse_sender = None  # a Twilio error code about the sender/account, e.g. 21606
        self.slow_once = 0  # seconds to wait before answering the next message (once)
        self._server = None

    # -- the API ------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests += 1
        if self.outage:
            return self._error(503, 20500, "Service unavailable")(environ, start_response)
        account = self._authorised(request)
        if account is None:
            return self._error(401, 20003, "Authenticate")(environ, start_response)
        path = f"/2010-04-01/Accounts/{account}/Messages.json"
        if request.method != "POST" or request.path != path:
            return self._error(404, 20404, "The requested resource was not found")(
                environ, start_response)
        return self._create(account, request.form)(environ, start_response)

    def add_account(self, account, token):
        self.accounts[account] = token

    def _authorised(self, request):
        """The account SID whose credentials the request carries, or None."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = b64decode(header[6:]).decode().partition(":")
        return user if self.accounts.get(user) == password else None

    def _create(self, account, form):
        to, body = form.get("To", ""), form.get("Body", "")
        if not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        if to in self.stopped:
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        if self.refuse_sender:
            return self._error(400, self.refuse_sender, "The From phone number is not a "
                               "valid, SMS-capable inbound phone number or short code")
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(timezone.utc))
        message = dict(sid=sid, account_sid=account, to=to, body=body,
                       status="queued", direction="outbound-api", num_segments="1",
                       date_created=now, date_updated=now, date_sent=None, price=None,
                       error_code=None, error_message=None, api_version="2010-04-01",
                       uri=f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
                       status_callback=form.get("StatusCallback"))
        message["from"] = form.get("From")
        self.messages.append(message)
        if self.slow_once:  # accepted, but the answer comes after the client gave up
            delay, self.slow_once = self.slow_once, 0
            time.sleep(delay)
        return Response(json.dumps(message), status=201, mimetype="application/json")

    @staticmethod
    def _error(status, code, message):
        return Response(json.dumps({"code": code, "message": message, "status": status,
                                    "more_info": f"https://www.twilio.com/docs/errors/{code}"}),
                        status=status, mimetype="application/json")

    # -- the callbacks ------------------------------------------------------------------------
    def _signed(self, url, form, account=None):
        token = self.accounts[account or self.account]
        signature = RequestValidator(token).compute_signature(url, form)
        parts = urlsplit(url)
        return parts.path, form, {"X-Twilio-Signature": signature}

    def status_callback(self, sid, status, error_code=None):
        """What Twilio posts to the message's StatusCallback when its status changes."""
        message = next(m for m in self.messages if m["sid"] == sid)
        message["status"] = status
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": message["account_sid"],
                "MessageStatus": status, "SmsStatus": status, "To": message["to"],
                "From": message["from"]}
        if error_code:
            form["ErrorCode"] = str(error_code)
        return self._signed(message["status_callback"], form, message["account_sid"])

    def inbound(self, url, from_, body, to=None):
        """What Twilio posts to the number's messaging webhook (`url`) when a debtor replies;
        a STOP makes Twilio refuse further messages to that number, as it does."""
        if body.strip().upper() in {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}:
            self.stopped.add(from_)
        form = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": self.account,
                "From": from_, "To": to or self.sender, "Body": body, "NumMedia": "0"}
        return self._signed(url, form)

    # -- serving ------------------------------------------------------------------------------
    def start(self):
        self._server = make_server("127.0.0.1", 0, self, threaded=True,
                                   request_handler=_Quiet)
        threading.Thread(target=self._server.serve_forever, args=(0.05,),
                         daemon=True).start()  # stop() waits for a poll: 0.05 s, not 0.5
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
