"""Serialise a reminder e-mail to RFC 5322 bytes.

Python's `email` generator (used by Flask-Mail's Message.as_bytes) costs about 2 ms per message,
more than everything else the run does per debtor; the structure of a reminder is fixed
(multipart/alternative text + HTML, optionally inside multipart/mixed with a PDF), so it is written
directly here: base64 bodies, RFC 2047 headers through the standard library's own encoders.
The tests parse every message back with `email.message_from_bytes`.
"""
import base64
import re
import secrets
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr, formatdate, getaddresses

CRLF = "\r\n"


@dataclass
class Outgoing:
    msg_id: str
    sender: str
    recipients: list
    subject: str
    text: str
    html: str
    reply_to: str | None = None
    headers: dict = field(default_factory=dict)
    attachments: list = field(default_factory=list)  # (filename, content type, bytes)

    def as_bytes(self):
        return to_bytes(self)


def _one_line(value):
    """No CR, LF or other control character may reach a header (header injection through an
    imported field)."""
    value = str(value)
    return value if value.isprintable() else "".join(c if c.isprintable() else " " for c in value)


def _header(value):
    """The one encoder of header values: one line, RFC 2047 words where it is not ASCII."""
    value = _one_line(value)
    return value if value.isascii() else Header(value, "utf-8").encode()


def _message_id(value):
    """A Message-ID is built from ids; refuse anything else rather than send a broken header."""
    value = _one_line(value)
    if not (value.isascii() and value.startswith("<") and value.endswith(">") and " " not in value):
        raise ValueError(f"not a Message-ID: {value!r}")
    return value


def _addresses(value):
    values = [value] if isinstance(value, str) else list(value)
    pairs = getaddresses([_one_line(v) for v in values])
    return ", ".join(formataddr(pair, charset="utf-8") for pair in pairs)


def _b64(data):
    return base64.encodebytes(data).decode("ascii").replace("\n", CRLF)


def _part(content_type, payload, extra=()):
    head = [f"Content-Type: {content_type}", "Content-Transfer-Encoding: base64", *extra]
    return CRLF.join(head) + CRLF + CRLF + _b64(payload)


def _multipart(subtype, parts):
    boundary = f"=_relance_{secrets.token_hex(8)}"
    body = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts) + f"--{boundary}--{CRLF}"
    return f'multipart/{subtype}; boundary="{boundary}"', body


def to_bytes(message):
    alt_type, alt_body = _multipart("alternative", [
        _part('text/plain; charset="utf-8"', message.text.encode("utf-8")),
        _part('text/html; charset="utf-8"', message.html.encode("utf-8")),
    ])
    content_type, body = alt_type, alt_body
    if message.attachments:
        parts = [f"Content-Type: {alt_type}{CRLF}{CRLF}{alt_body}"]
        for filename, mimetype, data in message.attachments:
            filename = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
            parts.append(_part(mimetype, data, (f'Content-Disposition: attachment; '
                                                f'filename="{filename}"',)))
        content_type, body = _multipart("mixed", parts)
    headers = [
        ("From", _addresses(message.sender)),
        ("To", _addresses(message.recipients)),
        ("Subject", _header(message.subject)),
        ("Date", formatdate(localtime=False)),
        ("Message-ID", _message_id(message.msg_id)),
        ("MIME-Version", "1.0"),
    ]
    if message.reply_to:
        headers.append(("Reply-To", _addresses(message.reply_to)))
    headers += [(k, _header(v)) for k, v in message.headers.items()]
    headers.append(("Content-Type", content_type))
    head = CRLF.join(f"{k}: {v}" for k, v in headers)
    return (head + CRLF + CRLF + body).encode("ascii")
