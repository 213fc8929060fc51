"""Settings checked when saved, not when read (issue 26 item 1), on SQLite and PostgreSQL.

Every writer (save(), `flask settings import`, the back-office pages, revert) refuses a template
that fails on the examples, with the words it had; reading a stored revision compiles no
template; a revision stored by an older Relance (or one whose template this version would
refuse) is read, and only the messages its template cannot write are held back.
"""
from datetime import date

import pytest
import tomli_w
from sqlalchemy import func, select

from portal import settings
from portal.extensions import db
from portal.models import Event, Reminder, SettingsRevision
from portal.settings.document import parse
from portal.settings.templates import compiled
from tests.conftest import make_customer, make_invoice
from tests.helpers import csrf, login

DUE = date(2027, 3, 1)  # level 1 (+7, template "cordial") falls on Monday 2027-03-08
BROKEN = "Relance {{ invoices[2].number }}"  # compiles; fails on every example and debtor
REFUSAL = ("templates.cordial.fr.subject", "line 1: list object has no element 2")


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def revisions():
    return db.session.scalar(select(func.count(SettingsRevision.id)))


def broken_document():
    document = settings.default_document()
    document["templates"]["cordial"]["fr"]["subject"] = BROKEN
    return document


def read_afresh():
    """As a new process reads the settings: nothing parsed, nothing compiled."""
    settings._parsed.clear()
    settings.forget()
    compiled.cache_clear()
    return settings.current()


def test_a_stored_revision_is_read_without_compiling_a_template(any_app):
    document = settings.default_document()
    document["policies"][0]["levels"][1]["offset_days"] = 10
    saved = settings.save(document, author="test")
    db.session.commit()
    current = read_afresh()
    assert current.revision == saved.number == 2
    assert current.policy_for().first_reminder.offset_days == 10
    assert compiled.cache_info().misses == 0


def test_save_and_import_refuse_a_template_that_fails_on_the_examples(any_app, tmp_path):
    with pytest.raises(settings.SettingsInvalid) as refused:
        settings.save(broken_document(), author="test")
    assert refused.value.errors == [REFUSAL]
    # A Settings checked for another dict is not taken for this one's check.
    with pytest.raises(settings.SettingsInvalid):
        settings.save(broken_document(), author="test",
                      checked=parse(settings.default_document()))
    db.session.rollback()
    path = tmp_path / "relance.toml"
    path.write_text(tomli_w.dumps(broken_document(), multiline_strings=True), encoding="utf-8")
    result = cli(any_app, "settings", "import", str(path))
    assert result.exit_code == 1
    assert "templates.cordial.fr.subject: line 1: list object has no element 2" in result.output
    assert "nothing was changed" in result.output
    assert revisions() == 0


def test_the_template_page_refuses_it_and_saves_a_good_one_once(app, client, accountant):
    login(client)
    url = "/admin/settings/templates/cordial/fr"
    page = client.get(url).get_data(as_text=True)
    fields = dict(settings.current().template("cordial", "fr"), csrf_token=csrf(page),
                  action="save")
    body = client.post(url, data=dict(fields, subject=BROKEN)).get_data(as_text=True)
    assert "list object has no element 2" in body and revisions() == 0
    saved = client.post(url, data=dict(fields, subject="Relance {{ invoices[1].number }}"))
    assert saved.status_code == 302 and revisions() == 2  # the shipped settings, then this
    assert read_afresh().template("cordial", "fr")["subject"] == \
        "Relance {{ invoices[1].number }}"


def test_a_revision_stored_by_an_older_relance_is_read_and_only_its_messages_wait(
        any_app, smtp):
    """Revisions stored before the check moved to saving passed it when saved; one whose
    template this version would refuse (a check made stricter since) is still read: the run
    holds back the messages it cannot write, names the line, and the reminders stay due;
    putting it back is refused with the check's words; a good save lets them go."""
    owner = settings.ensure_creditor()
    document = dict(broken_document(), creditor=settings._identity(owner))
    db.session.add(SettingsRevision(creditor_id=owner.id, number=1, author="older relance",
                                    document=document, changes=[]))
    customer = make_customer(name="Martin", email="martin@example.org")
    make_invoice(customer, DUE, 10_000, number="M-1")
    db.session.commit()
    current = read_afresh()
    assert current.revision == 1 and current.template("cordial", "fr")["subject"] == BROKEN
    smtp.clear()
    result = cli(any_app, "reminders", "run", "--date", "2027-03-08")
    assert result.exit_code == 1 and "1 message(s) could not be written" in result.output
    assert smtp.messages == []
    assert db.session.scalar(select(Reminder.state).where(
        Reminder.customer_id == customer.id)) == "pending"
    event = db.session.scalar(select(Event).where(Event.customer_id == customer.id,
                                                  Event.kind == "reminder_not_written"))
    assert "line 1" in event.details["reason"]
    with pytest.raises(settings.SettingsInvalid) as refused:
        settings.revert(1, author="test")
    assert refused.value.errors == [REFUSAL]
    db.session.rollback()
    fixed = settings.editable()
    fixed["templates"]["cordial"]["fr"]["subject"] = "Relance : {{ what }}"
    settings.save(fixed, author="test")
    db.session.commit()
    smtp.clear()
    result = cli(any_app, "reminders", "run", "--date", "2027-03-09")
    assert result.exit_code == 0, result.output
    assert [(m["To"], m["Subject"]) for m in smtp.messages] == [
        ("martin@example.org", "Relance : facture M-1")]
