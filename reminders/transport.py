"""Where the run's e-mails go: SMTP (smtplib, one connection per sender thread), or a folder of
.eml files (the demo's outbox). Chosen by configuration: MAIL_OUTBOX_DIR set means the folder.
The relay is the creditor's own where it has one (`portal.settings.outside_parts`), else the
installation's MAIL_* variables."""
import os
import smtplib
from contextlib import contextmanager
from email.utils import parseaddr

from flask import current_app

from portal.settings import outside_parts


class DeliveryError(RuntimeError):
    """The mail server cannot be reached or fails: stop the run, keep the rest due."""


class MessageRejected(Exception):
    """The server refused this one message for good (5xx: unknown mailbox, content refused):
    record it and go on with the other debtors."""


class SmtpTransport:
    def __init__(self, relay, timeout=60):
        self.relay = relay  # server, port, username, password, use_tls, use_ssl
        self.where = f"{relay['server']}:{relay['port']}"
        # A relay that stops answering is an outage after MAIL_TIMEOUT seconds, not a run that
        # waits forever.
        self.timeout = timeout

    def _open(self):
        relay = self.relay
        kind = smtplib.SMTP_SSL if relay.get("use_ssl") else smtplib.SMTP
        host = kind(relay["server"], relay["port"], timeout=self.timeout)
        try:
            if relay.get("use_tls"):
                host.starttls()
            if relay.get("username") and relay.get("password"):
                host.login(relay["username"], relay["password"])
        except BaseException:
            host.close()
            raise
        return host

    @contextmanager
    def connect(self):
        try:
            host = self._open()
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot reach the mail server {self.where}: {exc}") from exc
        try:
            yield _SmtpSender(host, self.where)
        finally:
            try:
                host.quit()
            except (OSError, smtplib.SMTPException):
                host.close()


class _SmtpSender:
    def __init__(self, host, where):
        self.host, self.where = host, where

    def send(self, message):
        """Send a mime.Outgoing over the batch's connection; return {address: refusal} for the
        recipients refused when others were accepted."""
        envelope_from = parseaddr(message.sender)[1]
        try:
            refused = self.host.sendmail(envelope_from, message.recipients,
                                                    message.as_bytes())
            return {addr: f"{code} {_text(answer)}" for addr, (code, answer) in refused.items()}
        except smtplib.SMTPRecipientsRefused as exc:
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise MessageRejected("; ".join(f"{addr}: {code} {_text(answer)}" for addr, (
                    code, answer) in exc.recipients.items())) from exc
            raise DeliveryError(f"the mail server {self.where} deferred the recipients: "
                                f"{exc.recipients}") from exc
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code >= 500:
                raise MessageRejected(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
            raise DeliveryError(f"the mail server {self.where} deferred the message: "
                                f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"the mail server {self.where} failed while sending: {exc}") from exc


def _text(answer):
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


class OutboxTransport:
    """Writes each message as an .eml file, named after its Message-ID."""

    def __init__(self, folder):
        self.folder = folder
        self.where = folder

    @contextmanager
    def connect(self):
        os.makedirs(self.folder, exist_ok=True)
        yield self

    def send(self, message):
        name = message.msg_id.strip("<>").replace("@", "_at_").replace("/", "_") + ".eml"
        path = os.path.join(self.folder, name)
        with open(path + ".tmp", "wb") as f:
            f.write(message.as_bytes())
        os.replace(path + ".tmp", path)
        return {}


def transport_for(app=None):
    app = app or current_app
    folder = app.config.get("MAIL_OUTBOX_DIR")
    if folder:
        return OutboxTransport(folder if os.path.isabs(folder)
                               else os.path.join(app.instance_path, folder))
    return SmtpTransport(outside_parts().mail, app.config.get("MAIL_TIMEOUT", 60))
