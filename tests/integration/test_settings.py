"""Settings as data, through the CLI: export, edit, import, run; a bad file refused whole; the
sandbox; revert; the policy's attributes (not level numbers) deciding channels."""
import tomllib
from datetime import date

import pytest
import tomli_w
from sqlalchemy import func, select

from portal import settings
from portal.extensions import db
from portal.models import SettingsRevision, Task
from tests.conftest import make_customer, make_invoice
from tests.helpers import CAL

# A Monday with no holiday around it: an invoice due on it gets level 1 at +7 (the next Monday)
# by default, at +10 (Thursday) once the settings say so.
DUE = date(2027, 3, 1)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def sent(app, smtp, day):
    smtp.clear()
    result = cli(app, "reminders", "run", "--date", day.isoformat())
    assert result.exit_code == 0, result.output
    return [(m["To"], m["Subject"], m.get_body(("plain",)).get_content()) for m in smtp.messages]


def exported(app, tmp_path):
    result = cli(app, "settings", "export")
    assert result.exit_code == 0, result.output
    return tomllib.loads(result.output)


def write(tmp_path, document, name="relance.toml"):
    path = tmp_path / name
    path.write_text(tomli_w.dumps(document, multiline_strings=True), encoding="utf-8")
    return str(path)


def revisions():
    return db.session.scalar(select(func.count(SettingsRevision.id)))


def test_export_edit_import_and_the_run_follows(any_app, smtp, tmp_path):
    customer = make_customer(name="Garage Lefèvre", email="garage@example.org")
    make_invoice(customer, DUE, 80_000, number="G-1")
    db.session.commit()
    document = exported(any_app, tmp_path)
    assert document["creditor"]["name"] == any_app.config["CREDITOR_NAME"]
    default = next(p for p in document["policies"] if p["name"] == "default")
    first = next(lv for lv in default["levels"] if lv["template"] == "cordial")
    assert first["offset_days"] == 7
    first["offset_days"] = 10
    document["templates"]["cordial"]["fr"]["subject"] = \
        "Petit rappel de {{ creditor.name }} : {{ what }}"
    path = write(tmp_path, document)

    dry = cli(any_app, "settings", "import", path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "policies.default.levels[1].offset_days: 7 -> 10" in dry.output
    assert "templates.cordial.fr.subject" in dry.output and "nothing was changed" in dry.output
    assert settings.current().policy_for().first_reminder.offset_days == 7

    result = cli(any_app, "settings", "import", path)
    assert result.exit_code == 0, result.output
    settings.forget()
    assert settings.current().policy_for().first_reminder.offset_days == 10
    # The old day sends nothing, the new day sends the new subject; the preview agrees.
    assert sent(any_app, smtp, date(2027, 3, 8)) == []
    preview = cli(any_app, "reminders", "preview", "--date", "2027-03-11")
    assert preview.exit_code == 0 and "level 1" in preview.output
    got = sent(any_app, smtp, date(2027, 3, 11))
    assert [(to, subject) for to, subject, _ in got] == [
        ("garage@example.org", f"Petit rappel de {any_app.config['CREDITOR_NAME']} : facture G-1")]
    # Importing the same file again changes nothing and writes no revision.
    count = revisions()
    again = cli(any_app, "settings", "import", path)
    assert again.exit_code == 0 and "nothing to change" in again.output
    assert revisions() == count


def test_a_bad_file_is_refused_whole_with_every_error_named(app, tmp_path):
    document = exported(app, tmp_path)
    levels = document["policies"][0]["levels"]
    levels[2]["offset_days"] = 5  # before level 1 (+7)
    levels[3]["channels"] = []
    levels[1]["formal_notice"] = True
    document["templates"]["firm"]["fr"]["text"] = "Bonjour\n{% if debtor.name %}\nsans fin"
    document["templates"]["firm"]["en"]["html"] = "<p>{{ debtor.nme }}</p>\n<p>{{ config }}</p>"
    document["creditor"]["timezone"] = "Mars/Olympus"
    before = revisions()
    result = cli(app, "settings", "import", write(tmp_path, document))
    assert result.exit_code == 1
    out = result.output
    for expected in (
            "policies[0].levels[2].offset_days: each level must come at least one day after",
            "policies[0].levels[3].channels: at least one channel",
            "policies[0].levels[1].formal_notice: only the last level may be the formal notice",
            "templates.firm.fr.text: line 2:",
            "templates.firm.en.html: line 2: unknown variable 'config'",
            "creditor.timezone: 'Mars/Olympus' is not a time zone",
            "nothing was changed"):
        assert expected in out, out
    assert revisions() == before
    assert settings.current().policy_for().level(2).offset_days == 21


def test_a_toml_syntax_error_names_its_line(app, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[creditor]\nname = "Atelier\n', encoding="utf-8")
    result = cli(app, "settings", "import", str(path))
    assert result.exit_code == 1 and "not valid TOML" in result.output and "line 2" in result.output


@pytest.mark.parametrize("source,why", [
    ("{{ ''.__class__.__mro__ }}", "unsafe"),
    ("{{ debtor.__class__.__init__.__globals__ }}", "unsafe"),
    ("{{ config }}", "unknown variable 'config'"),
    ("{{ self.__init__.__globals__ }}", "unsafe"),
    ("{{ lipsum.__globals__ }}", "unknown variable 'lipsum'"),
    ("{{ debtor.name|safe }}", "No filter named 'safe'"),
    ("{% for x in range(10**9) %}{% endfor %}", "unknown variable 'range'"),
    ("{% autoescape false %}{{ debtor.name }}{% endautoescape %}", "{% autoescape %} is not"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "macros are not available"),
    ("{{ ('x' * 2 * 10**9)|length }}", "a repeated text is limited to 20000 characters"),
    ("{{ 10**(10**8) }}", "powers are limited to 64"),
    ("{{ '%999999999s' % 'x' }}", "the % operator is not available"),
    ("{{ 'x'|center(10**9) }}", "No filter named 'center'"),
    ("{% for c in debtor.name %}{% for d in invoice_table %}{% endfor %}{% endfor %}",
     "a {% for %} can only go through invoices, promise_missed, payment_failed"),
    ("{% for i in invoices %}{% for j in invoices %}{% for k in invoices %}{% endfor %}"
     "{% endfor %}{% endfor %}", "loops can be nested two deep at most"),
])
def test_templates_cannot_reach_python_internals(app, source, why):
    document = settings.default_document()
    document["templates"]["cordial"]["fr"]["html"] = "<p>ok</p>\n" + source
    with pytest.raises(settings.SettingsInvalid) as refused:
        settings.save(document, author="test")
    (path, message), = refused.value.errors
    assert path == "templates.cordial.fr.html" and "line 2" in message and why in message


def test_debtor_text_stays_escaped_whatever_the_template_says(any_app, smtp):
    document = settings.default_document()
    document["templates"]["cordial"]["fr"]["html"] = (
        "<p>{{ debtor.name }}</p><p>{{ debtor.name|e }}</p>"
        "<p>{{ invoices[0].number }}</p><p>{{ debtor.name.unescape() }}</p>"
        "<p>{{ invoice_table }}</p>")
    settings.save(document, author="test")
    db.session.commit()
    customer = make_customer(name='<script>alert("x")</script> & Fils', email="x@example.org")
    make_invoice(customer, DUE, 10_000, number="<i>F-9</i>")
    db.session.commit()
    (message,) = [m for m in sent_messages(any_app, smtp, date(2027, 3, 8))]
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "<i>F-9</i>" not in html
    assert html.count("&lt;script&gt;") == 3 and "&lt;i&gt;F-9&lt;/i&gt;" in html
    assert "<table" in html  # the code's own table is markup, not text
    text = message.get_body(("plain",)).get_content()
    assert '<script>alert("x")</script> & Fils' in text  # the text part is plain text


def sent_messages(app, smtp, day):
    smtp.clear()
    result = cli(app, "reminders", "run", "--date", day.isoformat())
    assert result.exit_code == 0, result.output
    return list(smtp.messages)


def test_revert_puts_an_older_revision_back_in_force(app):
    document = settings.default_document()
    document["policies"][0]["levels"][1]["offset_days"] = 12
    first = settings.save(document, author="compta@atelier.example")
    document["policies"][0]["levels"][1]["offset_days"] = 15
    settings.save(document, author="compta@atelier.example")
    db.session.commit()
    assert settings.current().policy_for().first_reminder.offset_days == 15
    assert first.changes == ["policies.default.levels[1].offset_days: 7 -> 12"]
    back = settings.revert(first.number, author="compta@atelier.example")
    db.session.commit()
    assert settings.current().policy_for().first_reminder.offset_days == 12
    assert back.note == f"back to revision {first.number}"
    assert back.changes == ["policies.default.levels[1].offset_days: 15 -> 12"]
    assert [r.number for r in settings.revisions()] == [4, 3, 2, 1]  # 1: the shipped settings
    assert first.number == 2 and back.number == 4


def test_the_levels_attributes_decide_the_channels_not_their_numbers(any_app, smtp):
    """Level 1 with a call task and level 2 by letter only: the run follows the attributes."""
    document = settings.default_document()
    levels = document["policies"][0]["levels"]
    levels[1]["channels"] = ["email", "call"]
    levels[2]["channels"] = ["letter"]
    for lang in ("fr", "en"):  # a level that sends a letter needs its body in every language
        document["templates"]["firm"][lang]["letter"] = (
            "Madame, Monsieur,\n\nLa facture {{ invoices[0].number }} reste impayée "
            "depuis {{ days_late }} jours.\n\n{{ creditor.name }}")
    settings.save(document, author="test")
    customer = make_customer(name="Boulangerie Roux", email="roux@example.org", phone="0600000000")
    make_invoice(customer, DUE, 30_000, number="R-1")
    db.session.commit()
    assert [to for to, *_ in sent(any_app, smtp, date(2027, 3, 8))] == ["roux@example.org"]
    call = db.session.scalar(select(Task).where(Task.kind == "call"))
    assert call.level == 1 and call.details["invoices"] == ["R-1"]
    day = CAL.next_business_day(date(2027, 3, 22))
    assert sent(any_app, smtp, day) == []  # no e-mail at a letter-only level...
    letter = db.session.scalar(select(Task).where(Task.kind == "letter"))
    assert letter.level == 2 and letter.details["invoices"] == ["R-1"]  # ...a letter to post
    assert letter.details["formal_notice"] is False  # the inbox: "Lettre de relance à envoyer"
    assert letter.pdf.startswith(b"%PDF")


@pytest.mark.parametrize("change,path", [
    (lambda d: d["policies"][0]["levels"][4].update(offset_days=10**9),
     "policies[0].levels[4].offset_days"),
    (lambda d: d["policies"][0]["levels"][4].update(deadline_days=10**9),
     "policies[0].levels[4].deadline_days"),
    (lambda d: d["policies"][0]["levels"][4].update(number=10**19),
     "policies[0].levels[4].number"),
    (lambda d: d["policies"][0]["levels"][0].update(offset_days=-10**7),
     "policies[0].levels[0].offset_days"),
    (lambda d: d["policies"][0].update(promise_grace_days=10**12),
     "policies[0].promise_grace_days"),
    (lambda d: d["policies"][0].update(min_gap_days=2.5), "policies[0].min_gap_days"),
    (lambda d: d["policies"][0]["tiers"]["risky"]["offsets"].update({"²": 5}),
     "policies[0].tiers.risky.offsets.²"),
    (lambda d: d["templates"].update(cordial="oops"), "templates.cordial"),
    (lambda d: d["legal"].update(rates="2026-H1"), "legal.rates"),
    (lambda d: d["legal"].update(contract_rate_percent="5"), "legal.contract_rate_percent"),
])
def test_values_that_would_break_the_run_are_refused_by_their_path(app, change, path):
    document = settings.default_document()
    change(document)
    with pytest.raises(settings.SettingsInvalid) as refused:
        settings.save(document, author="test")
    assert path in [where for where, _ in refused.value.errors], refused.value.errors


def test_a_template_that_fails_on_one_debtor_holds_back_only_that_debtor(any_app, smtp):
    """The second invoice exists in every example the check renders, not for every debtor:
    that debtor's reminders stay due, the others go out, the run ends with exit status 1."""
    document = settings.default_document()
    document["templates"]["cordial"]["fr"]["subject"] = \
        "Relance : {{ invoices[0].number }} et {{ invoices[1].number }}"
    settings.save(document, author="test")
    two = make_customer(name="Deux Factures", email="deux@example.org")
    make_invoice(two, DUE, 10_000, number="D-1")
    make_invoice(two, DUE, 20_000, number="D-2")
    one = make_customer(name="Une Facture", email="une@example.org")
    make_invoice(one, DUE, 30_000, number="U-1")
    db.session.commit()
    smtp.clear()
    result = cli(any_app, "reminders", "run", "--date", "2027-03-08")
    assert result.exit_code == 1
    assert "1 message(s) could not be written" in result.output and "Une Facture" in result.output
    assert [m["To"] for m in smtp.messages] == ["deux@example.org"]
    from portal.models import Event, Reminder
    assert db.session.scalar(select(Reminder.state).where(Reminder.customer_id == one.id)) \
        == "pending"  # due again at the next run
    event = db.session.scalar(select(Event).where(Event.customer_id == one.id,
                                                  Event.kind == "reminder_not_written"))
    assert "line 1" in event.details["reason"]
    document["templates"]["cordial"]["fr"]["subject"] = "Relance : {{ what }}"
    settings.save(document, author="test")
    db.session.commit()
    assert [to for to, *_ in sent(any_app, smtp, date(2027, 3, 9))] == ["une@example.org"]


def test_a_heads_up_planned_before_its_level_was_removed_never_goes_out_as_a_reminder(
        any_app, smtp):
    customer = make_customer(name="Bientôt Due", email="bientot@example.org")
    make_invoice(customer, date(2027, 3, 15), 10_000, number="B-9")
    db.session.commit()
    settings.save(settings.default_document(), author="test")
    from portal.models import Reminder
    settings.set_review_before_sending(True)  # planned on the 12th, held for review
    db.session.commit()
    assert sent(any_app, smtp, date(2027, 3, 12)) == []
    document = settings.default_document()
    for policy in document["policies"]:
        policy["levels"] = policy["levels"][1:]  # no heads-up any more
        for tier in policy["tiers"].values():
            tier.get("offsets", {}).pop("0", None)
    settings.save(document, author="test")
    settings.set_review_before_sending(False)
    db.session.execute(Reminder.__table__.update().values(state="pending"))
    db.session.commit()
    assert sent(any_app, smtp, date(2027, 3, 12)) == []  # dropped, not sent at level 1


def test_reverting_brings_the_creditor_identity_back(app, tmp_path):
    document = exported(app, tmp_path)
    iban = document["creditor"]["iban"]
    document["creditor"]["iban"] = "FR76 9999 9999 9999 9999 9999 999"
    assert cli(app, "settings", "import", write(tmp_path, document)).exit_code == 0
    settings.forget()
    assert settings.creditor().iban.startswith("FR76 9999")
    settings.revert(1, author="test")
    db.session.commit()
    settings.forget()
    assert settings.creditor().iban == iban


def test_a_creditor_address_cannot_smuggle_a_header(app, tmp_path):
    document = exported(app, tmp_path)
    document["creditor"]["reply_to"] = "compta@x.fr\nBcc: spy@evil.example"
    result = cli(app, "settings", "import", write(tmp_path, document))
    assert result.exit_code == 1 and "creditor.reply_to: no line breaks" in result.output


def test_today_is_the_date_in_the_creditors_own_time_zone(app, tmp_path):
    from datetime import datetime, timezone

    from portal import clock
    two_am_utc = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
    assert clock.today(two_am_utc) == date(2026, 11, 23)  # Paris: already the 23rd
    document = exported(app, tmp_path)
    document["creditor"]["timezone"] = "America/Martinique"  # UTC-4: still the 22nd
    assert cli(app, "settings", "import", write(tmp_path, document)).exit_code == 0
    settings.forget()
    assert clock.today(two_am_utc) == date(2026, 11, 22)


def test_a_policy_still_chosen_for_customers_cannot_be_removed(app):
    make_customer(name="Client Souple", policy="gentle")
    db.session.commit()
    document = settings.default_document()
    document["policies"] = [p for p in document["policies"] if p["name"] != "gentle"]
    with pytest.raises(settings.SettingsInvalid) as refused:
        settings.save(document, author="test")
    assert refused.value.errors == [("policies", "policy 'gentle' is still chosen for 1 "
                                     "customer(s): give them another policy first")]
