"""What gets paid (portal/effectiveness.py and /admin/effectiveness): the figures of a small
history computed by hand, through the function, the page and the CSV."""
import csv
import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from portal import clock
from portal.effectiveness import ab_tests, outcomes
from portal.extensions import db
from portal.models import Allocation, Event, Payment, Reminder, SettingsRevision
from portal.settings import creditor
from tests.conftest import make_customer, make_invoice
from tests.helpers import login

AS_OF = date(2026, 4, 30)


def _at(day):
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=timezone.utc)  # 10:00 in Paris


def _reminder(invoice, level, sent_on, channel="email", variant=None):
    db.session.add(Reminder(customer_id=invoice.customer_id, invoice_id=invoice.id, cycle=0,
                            level=level, channel=channel, state="sent", scheduled_for=sent_on,
                            sent_at=_at(sent_on), message_id=f"<t.{invoice.id}.{level}@x>",
                            variant=variant))


def _paid(invoice, received_on, cents):
    payment = Payment(customer_id=invoice.customer_id, source="csv",
                      external_id=f"T-{invoice.id}-{received_on}", amount_cents=cents,
                      received_on=received_on, state="succeeded")
    db.session.add(payment)
    db.session.flush()
    db.session.add(Allocation(payment_id=payment.id, invoice_id=invoice.id, amount_cents=cents))


def _said(invoice, kind, on):
    db.session.add(Event(customer_id=invoice.customer_id, kind=kind, actor="debtor",
                         at=_at(on), details={}))


@pytest.fixture
def history(app):
    """Five reminders, by hand:
    A 1,000.00, level 1 e-mail on 2 March; paid 400.00 on 5 March, 600.00 on 20 March; the
      debtor opened the portal on 3 March.
    B 500.00, 100.00 paid on 1 March (before); level 1 e-mail on 2 March; nothing since; a
      promise on 4 March.
    C 200.00, level 2 e-mail on 10 March; paid on 25 March; a visit on 20 March (10 days on).
    E 100.00, level 3 letter on 3 March; nothing.
    D 300.00, level 1 e-mail on 10 April, after the settings revision 2 of 1 April; paid on
      12 April (seen on 30 April: too young for the 30-day share)."""
    a, b, c, d, e = (make_invoice(make_customer(), date(2026, 2, 1), cents, number=name)
                     for name, cents in (("A", 100_000), ("B", 50_000), ("C", 20_000),
                                         ("D", 30_000), ("E", 10_000)))
    _reminder(a, 1, date(2026, 3, 2))
    _paid(a, date(2026, 3, 5), 40_000)
    _paid(a, date(2026, 3, 20), 60_000)
    _said(a, "portal_visit", date(2026, 3, 3))
    _paid(b, date(2026, 3, 1), 10_000)
    _reminder(b, 1, date(2026, 3, 2))
    _said(b, "hold_promise", date(2026, 3, 4))
    _reminder(c, 2, date(2026, 3, 10))
    _paid(c, date(2026, 3, 25), 20_000)
    _said(c, "portal_visit", date(2026, 3, 20))
    _reminder(e, 3, date(2026, 3, 3), channel="letter")
    db.session.add(SettingsRevision(creditor_id=creditor().id, number=2, author="test",
                                    created_at=_at(date(2026, 4, 1)), document={}))
    _reminder(d, 1, date(2026, 4, 10))
    _paid(d, date(2026, 4, 12), 30_000)
    db.session.commit()


def test_the_figures_computed_by_hand(history):
    rows = {(r.level, r.channel, r.revision): r
            for r in outcomes(date(2026, 1, 1), AS_OF, AS_OF)}
    assert list(rows) == [(1, "email", 0), (1, "email", 2), (2, "email", 0), (3, "letter", 0)]
    assert {r.variant for r in rows.values()} == {""}  # no A/B test in this history
    first = rows[(1, "email", 0)]  # A and B
    assert (first.sent, first.reminded_cents) == (2, 140_000)  # B: 500.00 - 100.00 before
    assert first.paid_cents == {7: 40_000, 14: 40_000, 30: 100_000}
    assert (first.share(7), first.share(14), first.share(30)) == (
        Decimal("28.6"), Decimal("28.6"), Decimal("71.4"))  # 400/1,400 and 1,000/1,400
    assert first.median_days == 3 and first.days_to_payment == [3]
    assert (first.visit_share, first.answer_share) == (Decimal("50.0"), Decimal("50.0"))
    second = rows[(2, "email", 0)]  # C: paid 15 days on, visited 10 days on (too late)
    assert (second.share(7), second.share(14), second.share(30)) == (
        Decimal("0.0"), Decimal("0.0"), Decimal("100.0"))
    assert second.median_days == 15 and second.visit_share == Decimal("0.0")
    letter = rows[(3, "letter", 0)]  # E
    assert letter.share(30) == Decimal("0.0") and letter.median_days is None
    after = rows[(1, "email", 2)]  # D, under revision 2, 20 days old on 30 April: too young
    assert (after.share(7), after.share(14), after.share(30)) == (None, None, None)
    assert after.median_days == 2 and after.sent == 1


def test_a_period_counts_the_reminders_sent_in_it(history):
    rows = outcomes(date(2026, 3, 3), date(2026, 3, 31), AS_OF)  # C and E only
    assert [(r.level, r.channel, r.sent) for r in rows] == [(2, "email", 1), (3, "letter", 1)]
    assert outcomes(date(2026, 5, 1), date(2026, 5, 31), AS_OF) == []


def test_the_page_and_the_csv_say_the_same(app, client, accountant, history):
    login(client)
    with clock.pin(AS_OF):
        page = client.get("/admin/effectiveness?since=2026-01-01&until=2026-04-30")
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "28,6\u00a0%" in text and "71,4\u00a0%" in text
        assert "Part du montant relancé payée sous 30 jours" in text
        exported = client.get("/admin/effectiveness.csv?since=2026-01-01&until=2026-04-30")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    first = rows[0]
    assert (first["level"], first["channel"], first["settings_revision"], first["variant"]) == (
        "1", "email", "0", "")
    assert (first["reminders"], first["reminded"]) == ("2", "1400.00")
    assert (first["share_paid_within_7_days_percent"],
            first["share_paid_within_30_days_percent"]) == ("28.6", "71.4")
    assert first["median_days_to_payment"] == "3"
    assert rows[1]["share_paid_within_7_days_percent"] == ""
    assert rows[1]["share_paid_within_30_days_percent"] == ""  # D: too young to tell
    assert client.get("/admin/effectiveness?since=2026-05-01&until=2026-04-01").status_code \
        == 400


def _ab_history(per_variant, paid_a, paid_b):
    """`per_variant` debtors in each variant of level 1, reminded on 2 March; the first
    `paid_a` (`paid_b`) of each variant pay in full on 10 March, the others never."""
    for variant, paid in (("A", paid_a), ("B", paid_b)):
        for k in range(per_variant):
            invoice = make_invoice(make_customer(), date(2026, 2, 1), 10_000)
            _reminder(invoice, 1, date(2026, 3, 2), variant=variant)
            if k < paid:
                _paid(invoice, date(2026, 3, 10), 10_000)
    db.session.commit()


def test_an_ab_test_with_a_clear_winner_says_so(app):
    """40 debtors a variant: A 30 paid (0.75), B 10 paid (0.25). By hand: both sample
    variances 0.75 x 0.25 x 40 / 39 = 0.192308; margin 1.96 x sqrt(2 x 0.192308 / 40) = 0.1922;
    difference -0.50, interval -0.692 to -0.308: A wins."""
    _ab_history(40, 30, 10)
    [test] = ab_tests(outcomes(date(2026, 3, 1), date(2026, 3, 31), AS_OF))
    assert (test.a.share(30), test.b.share(30)) == (Decimal("75.0"), Decimal("25.0"))
    assert (test.difference, test.low, test.high) == (
        Decimal("-50.0"), Decimal("-69.2"), Decimal("-30.8"))
    assert test.verdict == "a"


def test_an_ab_test_of_ten_debtors_says_there_is_not_enough_data(app, client, accountant):
    _ab_history(5, 4, 1)
    [test] = ab_tests(outcomes(date(2026, 3, 1), date(2026, 3, 31), AS_OF))
    assert test.verdict == "not_enough_data" and test.difference is None
    login(client)
    with clock.pin(AS_OF):
        text = client.get("/admin/effectiveness?since=2026-03-01&until=2026-03-31").get_data(
            as_text=True)
    assert "Pas encore assez de données pour conclure" in text
    assert "80,0\u00a0%" in text and "20,0\u00a0%" in text


def test_a_close_ab_test_says_no_clear_difference(app):
    _ab_history(40, 20, 22)
    [test] = ab_tests(outcomes(date(2026, 3, 1), date(2026, 3, 31), AS_OF))
    assert test.verdict == "no_difference" and test.low < 0 < test.high


def test_the_run_sends_each_debtor_its_variant_and_records_it(app, smtp, today):
    """Level 1 tests a second wording: each debtor reads the variant of its half, the same in
    every run, and each reminder row says which; a variant that names no template is refused."""
    import copy

    from sqlalchemy import select

    from portal import settings
    from reminders.compose import variant_of
    from tests.helpers import business_day, run

    document = settings.default_document()
    document["templates"]["cordial-b"] = copy.deepcopy(document["templates"]["cordial"])
    for lang in ("fr", "en"):
        document["templates"]["cordial-b"][lang]["subject"] = "Variante B : {{ what }}"
    level = next(lv for lv in document["policies"][0]["levels"] if lv["template"] == "cordial")
    level["variant_template"] = "cordial-b"
    settings.save(document, author="test")
    customers = [make_customer(name=f"Client AB {k}") for k in range(8)]
    for customer in customers:
        make_invoice(customer, today - timedelta(days=10), 10_000)
    db.session.commit()
    halves = {c.email: variant_of(c.id) for c in customers}
    assert set(halves.values()) == {"A", "B"}  # 8 debtors: both halves (ids 1-8)
    sent = run(app, smtp, business_day(0))
    assert len(sent) == 8
    for message in smtp.messages:
        assert message["Subject"].startswith("Variante B") == (halves[message["To"]] == "B")
    recorded = dict(db.session.execute(select(Reminder.customer_id, Reminder.variant)).all())
    assert recorded == {c.id: variant_of(c.id) for c in customers}
    # Drawn from the id alone, never from the moment: a debtor stays in its half for good.
    assert "".join(variant_of(k) for k in range(1, 17)) == "ABBBAAAABBAABBBA"

    level["variant_template"] = "no-such-template"
    with pytest.raises(settings.SettingsInvalid) as refused:
        settings.save(document, author="test")
    assert any(path.startswith("templates.no-such-template") for path, _ in refused.value.errors)
