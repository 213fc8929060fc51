"""`flask demo` builds a database, writes today's e-mails to an outbox and prints a working link."""
import email
from email import policy

from portal import create_app
from portal.config import TestConfig


def test_demo_builds_data_sends_and_prints_a_working_link(tmp_path):
    outbox = tmp_path / "outbox"
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.db'}",
                                  "MAIL_OUTBOX_DIR": str(outbox)})
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Reminder run for" in result.output
    link = result.output.split("Open the debtor portal: ")[1].split()[0]
    assert link.startswith("http://127.0.0.1:5000/p/")
    files = sorted(outbox.glob("*.eml"))
    assert len(files) >= 5
    levels = set()
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        levels.add(int(message["X-Relance-Level"]))
        assert "/p/" in message.get_body(("plain",)).get_content()
    assert len(levels) >= 3  # the demo shows several levels on one day
    with app.app_context():
        page = app.test_client().get(link.replace("http://127.0.0.1:5000", ""))
        assert page.status_code == 200 and "Boulangerie Dupont &amp; Fils" in page.get_data(True)
        from sqlalchemy import func, select

        from portal.extensions import db
        from portal.models import Event, SentMessage
        # 200 days of history carry their own dates, not the minute the demo was built.
        days = db.session.scalar(select(func.count(func.distinct(func.date(SentMessage.sent_at)))))
        assert days >= 20
        first, last = db.session.execute(select(func.min(Event.at), func.max(Event.at))).one()
        assert (last - first).days >= 100
        # Level 2 sends an SMS too where the debtor gave a mobile number (into a folder).
        from portal.models import SmsMessage
        texts = db.session.scalars(select(SmsMessage)).all()
        assert len(texts) >= 3 and {t.to_number[:4] for t in texts} == {"+336"}
        assert len({t.sent_at.date() for t in texts if t.sent_at}) >= 3
        # A debtor handed over for an injonction de payer, its dossier kept; a 2 % discount.
        from portal.models import Attachment, Customer
        [handed] = db.session.scalars(select(Customer).where(
            Customer.handed_over_on.is_not(None))).all()
        zipped = db.session.get(Attachment, handed.handover["attachment_id"])
        assert zipped.data.startswith(b"PK")
        from portal import settings
        assert settings.current().policy_for().discount_percent is not None
        db.session.remove()
        db.engine.dispose()


def test_demo_refuses_a_non_sqlite_database(tmp_path):
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/x"})
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0 and "only builds a SQLite database" in str(result.output) + str(result.exception)
