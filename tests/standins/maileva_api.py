"""A local stand-in for the part of Maileva's registered-mail API (registered_mail/v4) and its
OAuth2 token endpoint that Relance uses, served over HTTP on 127.0.0.1, so that Relance's own
client (portal/post/maileva.py, over `requests`) makes real requests: password grant with the
client in Basic auth, JSON and multipart bodies, Maileva-style errors.

The test moves a letter along as La Poste would: `advance(sending_id, "ACCEPTED")` gives it a
registered number, "PROCESSED" issues a deposit proof (a PDF), `deliver(sending_id, label)`
records the recipient's delivery status; `notification(sending_id, event)` is the body
Maileva's notification center posts."""
import json
import re
import threading
import uuid
from base64 import b64decode
from datetime import datetime, timezone

from fpdf import FPDF
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

BASE = "/registered_mail/v4"
POSTCODE_TOWN = re.compile(r"\d{5} \S")


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def _proof_pdf(text):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


class MailevaStandIn:
    def __init__(self, client=("client-id", "client-secret"), user=("compta", "motdepasse")):
        self.client, self.user = client, user
        self.tokens = set()
        self.sendings = {}  # id -> dict with documents, recipients, status, proofs
        self.proofs = {}  # id -> (sending id, pdf)
        self.outage = False
        self.fail_submit_once = False  # take the next submit, then answer 503 (a lost answer)

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            return self._answer(request)(environ, start_response)
        finally:
            request.close()  # the uploaded files' spooled buffers

    def _answer(self, request):
        if self.outage:
            return _json({"code": "SERVICE_UNAVAILABLE", "message": "maintenance"}, 503)
        if request.path == "/auth/token":
            return self._token(request)
        if request.headers.get("Authorization", "")[7:] not in self.tokens:
            return _json({"code": "UNAUTHORIZED", "message": "invalid token"}, 401)
        return self._api(request)

    # -- OAuth2 -----------------------------------------------------------------------------
    def _token(self, request):
        header = request.headers.get("Authorization", "")
        client = tuple(b64decode(header[6:]).decode().split(":", 1)) if header.startswith(
            "Basic ") else None
        form = request.form
        if client != self.client or form.get("grant_type") != "password" or \
                (form.get("username"), form.get("password")) != self.user:
            return _json({"error": "invalid_grant", "error_description": "Invalid user "
                          "credentials"}, 401)
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return _json({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    # -- the API ----------------------------------------------------------------------------
    def _api(self, request):
        path, method = request.path, request.method
        if path == f"{BASE}/sendings" and method == "POST":
            return self._create(request.get_json())
        if path == f"{BASE}/global_deposit_proofs" and method == "GET":
            sending = request.args.get("sending_id")
            return _json({"global_deposit_proofs": [
                {"id": pid, "sending_id": sid, "download_url":
                 f"/global_deposit_proofs/{pid}/download"}
                for pid, (sid, _pdf) in self.proofs.items() if sid == sending]})
        match = re.fullmatch(rf"{BASE}/global_deposit_proofs/([\w-]+)/download", path)
        if match and match.group(1) in self.proofs:
            return Response(self.proofs[match.group(1)][1], mimetype="application/pdf")
        match = re.fullmatch(rf"{BASE}/sendings/([\w-]+)(/\w+)?", path)
        if not match or match.group(1) not in self.sendings:
            return _json({"code": "NOT_FOUND", "message": "resource not found"}, 404)
        sending, action = self.sendings[match.group(1)], match.group(2)
        if action is None and method == "GET":
            return _json({k: v for k, v in sending.items() if k not in ("documents",)})
        if action == "/documents" and method == "POST":
            return self._document(sending, request)
        if action == "/recipients" and method == "POST":
            return self._recipient(sending, request.get_json())
        if action == "/recipients" and method == "GET":
            return _json({"recipients": sending["recipients"]})
        if action == "/submit" and method == "POST":
            if not sending["documents"] or not sending["recipients"]:
                return _json({"code": "SENDING_INCOMPLETE", "message": "a sending needs a "
                              "document and a recipient"}, 400)
            sending["status"] = "PENDING"
            if self.fail_submit_once:
                self.fail_submit_once = False
                return _json({"code": "GATEWAY_TIMEOUT", "message": "upstream timeout"}, 504)
            return Response(status=202)
        return _json({"code": "NOT_FOUND", "message": "resource not found"}, 404)

    def _create(self, body):
        if not body or not body.get("name") or not body.get("sender_address_line_6"):
            return _json({"code": "INVALID_SENDING", "message": "name and sender address "
                          "are mandatory"}, 400)
        sid = str(uuid.uuid4())
        self.sendings[sid] = dict(body, id=sid, status="DRAFT", documents=[], recipients=[],
                                  creation_date=_now())
        return _json({"id": sid, "status": "DRAFT", "name": body["name"]}, 201)

    def _document(self, sending, request):
        upload, metadata = request.files.get("document"), request.files.get("metadata")
        data = upload.read() if upload else b""
        if not data.startswith(b"%PDF") or metadata is None:
            return _json({"code": "INVALID_DOCUMENT", "message": "the document must be a "
                          "PDF, with its metadata"}, 400)
        meta = json.loads(metadata.read())
        sending["documents"].append({"id": str(uuid.uuid4()), "name": meta.get("name"),
                                     "size": len(data), "pdf": data})
        return _json({"id": sending["documents"][-1]["id"]}, 201)

    def _recipient(self, sending, body):
        line6 = (body or {}).get("address_line_6", "")
        if body.get("country_code") == "FR" and not POSTCODE_TOWN.match(line6):
            return _json({"code": "INVALID_ADDRESS", "message": f"address_line_6 {line6!r} "
                          "must be a postcode and a town"}, 400)
        recipient = dict(body, id=str(uuid.uuid4()), status="PENDING",
                         registered_number=None, last_main_delivery_status=None)
        sending["recipients"].append(recipient)
        return _json({"id": recipient["id"]}, 201)

    # -- La Poste's side ----------------------------------------------------------------------
    def advance(self, sending_id, status):
        sending = self.sendings[sending_id]
        sending["status"] = status
        if status in ("ACCEPTED", "PROCESSED"):
            for n, recipient in enumerate(sending["recipients"], start=1):
                recipient["registered_number"] = f"1A 123 456 7890 {n}"
        if status == "PROCESSED":
            pid = str(uuid.uuid4())
            self.proofs[pid] = (sending_id, _proof_pdf(
                f"Preuve de dépôt - lettre recommandée {sending['name']} - "
                f"{sending['recipients'][0]['registered_number']}"))

    def deliver(self, sending_id, label):
        for recipient in self.sendings[sending_id]["recipients"]:
            recipient["last_main_delivery_status"] = {"label": label, "date": _now()}

    @staticmethod
    def notification(sending_id, event_type):
        return {"event_type": event_type, "event_date": _now(),
                "resource_type": "registered_mail/v4/sendings", "resource_id": sending_id,
                "resource_location": f"https://api.maileva.com{BASE}/sendings/{sending_id}"}

    def start(self):
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=_Quiet)
        threading.Thread(target=self._server.serve_forever, args=(0.05,),
                         daemon=True).start()  # stop() waits for a poll: 0.05 s, not 0.5
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def _now():
    return datetime.now(timezone.utc).isoformat()


def _json(body, status=200):
    return Response(json.dumps(body), status=status, mimetype="application/json")
