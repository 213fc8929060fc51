"""A template within its budget on the editor's examples (two invoices) can pass it for a
debtor with hundreds: in the run, that debtor's message is a failed render like any other
(held back, due again, an event with the reason); the other debtors' messages go out."""
from datetime import date

from sqlalchemy import select

from portal import settings
from portal.extensions import db
from portal.models import Event, Reminder
from tests.conftest import make_customer, make_invoice

DUE = date(2027, 3, 1)  # a Monday: level 1 (cordial) a week later


def test_a_render_over_budget_holds_back_only_that_debtor(any_app, smtp):
    document = settings.default_document()
    document["templates"]["cordial"]["fr"]["text"] += \
        "{% for i in invoices %}{% for j in invoices %}{% endfor %}{% endfor %}"
    settings.save(document, author="test")  # 4 turns on the examples: accepted
    many = make_customer(name="Cent Factures", email="cent@example.org")
    for n in range(320):  # 320 x 320 turns: beyond the 100,000 steps of a render
        make_invoice(many, DUE, 1_000, number=f"C-{n}")
    one = make_customer(name="Une Facture", email="une@example.org")
    make_invoice(one, DUE, 30_000, number="U-1")
    db.session.commit()
    smtp.clear()
    result = any_app.test_cli_runner().invoke(args=["reminders", "run", "--date", "2027-03-08"])
    assert result.exit_code == 1
    assert "1 message(s) could not be written" in result.output and "Cent Factures" in result.output
    assert [m["To"] for m in smtp.messages] == ["une@example.org"]
    states = db.session.scalars(select(Reminder.state).where(Reminder.customer_id == many.id))
    assert set(states) == {"pending"}  # due again at the next run
    event = db.session.scalar(select(Event).where(Event.customer_id == many.id,
                                                  Event.kind == "reminder_not_written"))
    assert "more than 100000 steps" in event.details["reason"]
