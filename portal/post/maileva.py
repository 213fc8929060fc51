"""A client of Maileva's registered-mail API (registered_mail/v4), over `requests`.

One letter = one sending: authenticate (OAuth2 password grant, client id and secret in Basic
auth), create the sending (sender's address, acknowledgement of receipt), upload the PDF
(multipart: `document` + JSON `metadata`), add the recipient (address lines 1-6, country code),
submit. Then `status()` reads the sending and its recipient (registered number, last delivery
status) and `deposit_proofs()` the global deposit proofs, each downloaded as a PDF.

Errors: `PostRefused` when Maileva will not take this letter (4xx about its content or
address: posting it by hand is the way out), `PostUnavailable` when it cannot be reached or
refuses the credentials (the letter waits for the next run)."""
import json
import re
from dataclasses import dataclass
from functools import lru_cache

import requests
from babel import Locale

TIMEOUT = 30
PRODUCTION_API = "https://api.maileva.com"
PRODUCTION_AUTH = "https://connexion.maileva.com/auth/realms/services/protocol/openid-connect/token"
LINE = 38  # characters in an address line (La Poste's norm, NF Z10-011)


class PostRefused(Exception):
    """The provider will not send this letter (address, document): post it by hand."""


class PostUnavailable(Exception):
    """The provider cannot be used now (down, credentials refused): try again later.
    `sending_id`: set when it happened after the sending was created (it may have gone)."""

    sending_id = None


@dataclass(frozen=True)
class Progress:
    status: str  # the sending's: PENDING, ACCEPTED, PROCESSED, REJECTED...
    registered_number: str | None = None
    delivery: str | None = None  # the recipient's last delivery status, as Maileva words it
    delivery_date: str | None = None


FINAL = ("PROCESSED", "PROCESSED_WITH_ERRORS", "REJECTED", "CANCELED")


class Maileva:
    name = "maileva"

    def __init__(self, client_id, client_secret, username, password, api_base=None,
                 auth_url=None):
        if not all((client_id, client_secret, username, password)):
            raise PostUnavailable("Maileva needs a client id, client secret, user name and "
                                  "password (flask creditors set --post-... or POST_* variables)")
        self.credentials = (client_id, client_secret, username, password)
        self.base = (api_base or PRODUCTION_API).rstrip("/") + "/registered_mail/v4"
        self.auth_url = auth_url or PRODUCTION_AUTH
        self.session = requests.Session()
        self.token = None

    # -- plumbing -------------------------------------------------------------------------
    def _authenticate(self):
        client_id, secret, username, password = self.credentials
        answer = self._call("post", self.auth_url, auth=(client_id, secret), data={
            "grant_type": "password", "username": username, "password": password},
            authenticated=False)
        self.token = answer.json()["access_token"]

    def _call(self, method, url, authenticated=True, **kwargs):
        if authenticated and self.token is None:
            self._authenticate()
        headers = {"Accept": "application/json"}
        if authenticated:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            answer = self.session.request(method, url, headers=headers, timeout=TIMEOUT,
                                          **kwargs)
        except requests.RequestException as exc:
            raise PostUnavailable(f"Maileva cannot be reached ({exc.__class__.__name__})") \
                from None
        if answer.status_code in (401, 403) or answer.status_code >= 500 or \
                answer.status_code == 429:
            raise PostUnavailable(f"Maileva answered {answer.status_code}: {_said(answer)}; "
                                  "check the credentials or try again later")
        if answer.status_code >= 400:
            raise PostRefused(f"Maileva refused the letter ({answer.status_code}): "
                              f"{_said(answer)}")
        return answer

    # -- a letter -------------------------------------------------------------------------
    def send(self, pdf, filename, recipient, sender, reference, created=None):
        """Create, fill and submit a sending; returns its id. `recipient` and `sender` are
        (name, address) with the address as people write it; `reference` our own id;
        `created(sending_id)` is called as soon as the sending exists (the caller keeps it: a
        failure after that point must not lead to a second letter)."""
        to_lines, to_country = address_lines(*recipient)
        from_lines, from_country = address_lines(*sender, whose="your company's (the sender's)")
        sending = self._call("post", f"{self.base}/sendings", json={
            "name": reference, "custom_id": reference, "acknowledgement_of_receipt": True,
            "color_printing": False, "duplex_printing": True,
            "optional_address_sheet": True, "envelope_windows_type": "DOUBLE",
            **{f"sender_address_line_{i}": v for i, v in enumerate(from_lines, start=1)},
            "sender_country_code": from_country}).json()["id"]
        if created is not None:
            created(sending)
        try:
            self._fill_and_submit(sending, pdf, filename, reference, to_lines, to_country)
        except (PostUnavailable, PostRefused) as exc:
            exc.sending_id = sending
            raise
        return sending

    def _fill_and_submit(self, sending, pdf, filename, reference, to_lines, to_country):
        self._call("post", f"{self.base}/sendings/{sending}/documents", files={
            "document": (filename, pdf, "application/pdf"),
            "metadata": ("metadata", json.dumps({"priority": 1, "name": filename}),
                         "application/json")})
        self._call("post", f"{self.base}/sendings/{sending}/recipients", json={
            "custom_id": reference, "country_code": to_country,
            **{f"address_line_{i}": v for i, v in enumerate(to_lines, start=1)}})
        self._call("post", f"{self.base}/sendings/{sending}/submit")

    def status(self, sending_id):
        sending = self._call("get", f"{self.base}/sendings/{sending_id}").json()
        recipients = self._call("get", f"{self.base}/sendings/{sending_id}/recipients").json()
        first = (recipients.get("recipients") or [{}])[0]
        delivery = first.get("last_main_delivery_status") or {}
        return Progress(sending.get("status", "PENDING"), first.get("registered_number"),
                        delivery.get("label"), delivery.get("date"))

    def deposit_proofs(self, sending_id):
        """[(proof id, PDF bytes)] of the deposit proofs La Poste issued for the sending."""
        listed = self._call("get", f"{self.base}/global_deposit_proofs",
                            params={"sending_id": sending_id}).json()
        found = []
        for proof in listed.get("global_deposit_proofs", []):
            pdf = self._call("get", f"{self.base}{proof['download_url']}").content
            found.append((proof["id"], pdf))
        return found


def _said(answer):
    try:
        body = answer.json()
        return str(body.get("message") or body.get("error_description") or body)[:200]
    except ValueError:
        return answer.text[:200]


def address_lines(name, address, whose="the debtor's"):
    """(six address lines, country code) from a name and an address as people write it
    ("12 rue des Tanneurs, 69002 Lyon", "Hauptstr. 1, 10115 Berlin, Allemagne"): line 1 the
    name, line 6 the postcode and town, the rest in between, each cut to 38 characters; the
    country from its name in French or English (France when none is written). PostRefused when
    there is no address or a French one has no "postcode town" line."""
    parts = [p.strip() for p in (address or "").replace("\n", ",").split(",") if p.strip()]
    if not parts:
        raise PostRefused(f"no postal address on file for {whose} letter: add one, or post "
                          "the letter by hand")
    country = "FR"
    if len(parts) > 1 and _country(parts[-1]):
        country = _country(parts.pop())
    if country == "FR" and not re.match(r"\d{5} +\S", parts[-1]):
        raise PostRefused(f"cannot read {whose} postal address {address!r}: write it as "
                          "\"12 rue des Tanneurs, 69002 Lyon\" (street, then postcode and town, "
                          "separated by a comma), or post the letter by hand")
    middle = parts[:-1]
    # NF Z10-011: 1 the name, 2-3 what comes before the street (a building...), 4 the street,
    # 5 a locality or PO box (none here), 6 the postcode and town.
    lines = [name, "", "", middle[-1] if middle else "", "", parts[-1]]
    before = middle[:-1]
    if before:
        lines[2] = before[-1]
        if len(before) > 1:
            lines[1] = " ".join(before[:-1])
    return [line[:LINE] for line in lines], country


@lru_cache(maxsize=1)
def _countries():
    """{country name in French or English, upper case: ISO code}, from Babel's territories."""
    names = {}
    for language in ("en", "fr"):
        for code, name in Locale.parse(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names[name.upper()] = code
    names.update({"UK": "GB", "ROYAUME UNI": "GB", "USA": "US", "DEUTSCHLAND": "DE",
                  "ITALIA": "IT", "ESPAÑA": "ES", "NEDERLAND": "NL", "SCHWEIZ": "CH"})
    return names


def _country(text):
    return _countries().get(text.strip().upper())
