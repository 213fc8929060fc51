"""Instalment plans from the portal: the schedule shown before acceptance, automatic approval
inside the policy, review otherwise, the acceptance stored, and the effect on the next runs."""
from datetime import timedelta

from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.bookkeeping import record_payment
from portal.links import make_token
from portal.models import Event, Hold, InstalmentPlan
from tests.conftest import named
from tests.helpers import CAL, ask, business_day, debtor, run


def test_schedule_is_shown_then_an_auto_approved_plan_replaces_the_reminders(app, client, smtp):
    customer, invoices = debtor()
    token = make_token(customer)
    first = clock.today() + timedelta(days=14)  # its heads-up comes after the next business day, always
    shown = ask(client, token, invoices, 3, first)
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "3 échéances" in page
    assert "500,00\u00a0€" in page and "accepté immédiatement" in page  # 1 500 / 3
    assert db.session.scalar(select(InstalmentPlan)) is None  # nothing before acceptance
    done = ask(client, token, invoices, 3, first, accept=True)
    assert done.status_code == 302
    plan = db.session.scalar(select(InstalmentPlan))
    assert (plan.state, plan.auto_approved, plan.count) == ("approved", True, 3)
    assert [i.amount_cents for i in plan.instalments] == [50_000, 50_000, 50_000]
    assert plan.accepted_ip == "127.0.0.1" and "iPhone" in plan.accepted_user_agent
    assert plan.reason == "Trésorerie tendue"
    assert {h.kind for h in db.session.scalars(select(Hold))} == {"plan"}
    landing = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Votre échéancier" in landing and "Accepté le" in landing
    assert "Prochaine échéance" in landing and f"PLAN-{plan.id}-1" in landing
    # The invoices' own reminders stop (the instalments' come later: see the next test).
    assert run(app, smtp, business_day(1)) == []


def test_a_request_outside_the_policy_waits_for_the_accountant(app, client, smtp):
    customer, invoices = debtor()
    token = make_token(customer)
    first = clock.today() + timedelta(days=10)
    page = ask(client, token, invoices, 8, first).get_data(as_text=True)
    assert "examinera cette demande" in page
    ask(client, token, invoices, 8, first, accept=True)
    plan = db.session.scalar(select(InstalmentPlan))
    assert plan.state == "requested" and not plan.auto_approved
    assert sum(i.amount_cents for i in plan.instalments) == 150_000
    assert plan.instalments[-1].amount_cents == 150_000 - 7 * (150_000 // 8)
    assert {h.kind for h in db.session.scalars(select(Hold))} == {"instalment_request"}
    waiting = db.session.scalar(select(Event).where(Event.kind == "plan_waiting"))
    assert "more than 6 instalments" in waiting.details["why"]
    assert run(app, smtp, business_day(1)) == []  # paused while the accountant decides
    landing = client.get(f"/p/{token}").get_data(as_text=True)
    assert "notre service comptable vous répondra" in landing


def test_risky_customers_always_wait(client):
    customer, invoices = debtor(tier="risky")
    ask(client, make_token(customer), invoices, 2, clock.today() + timedelta(days=5), accept=True)
    assert db.session.scalar(select(InstalmentPlan)).state == "requested"


def test_bad_requests_are_refused_with_a_message_and_nothing_written(client):
    customer, invoices = debtor()
    token = make_token(customer)
    for count, first, message in ((1, clock.today() + timedelta(days=5), "entre 2 et 12"),
                                  (13, clock.today() + timedelta(days=5), "entre 2 et 12"),
                                  (3, clock.today(), "après aujourd&#39;hui"),
                                  (3, clock.today() + timedelta(days=31), "au plus tard le")):
        response = ask(client, token, invoices, count, first, accept=True)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    response = ask(client, token, [], 3, clock.today() + timedelta(days=5), accept=True)
    assert response.status_code == 422
    assert db.session.scalar(select(InstalmentPlan)) is None
    ask(client, token, invoices, 3, clock.today() + timedelta(days=5), accept=True)
    again = ask(client, token, invoices, 3, clock.today() + timedelta(days=5), accept=True)
    # A double submit is recognised: answered as a success, no second plan.
    assert again.status_code == 302
    assert len(db.session.scalars(select(InstalmentPlan)).all()) == 1


def test_instalments_drive_the_reminders_and_a_missed_one_breaks_the_plan(any_app, any_client,
                                                                          smtp):
    app, client = any_app, any_client
    customer, invoices = debtor()
    token = make_token(customer)
    first = clock.today() + timedelta(days=7)
    ask(client, token, invoices, 3, first, accept=True)
    plan = db.session.scalar(select(InstalmentPlan))
    d1, d2 = plan.instalments[0].due_date, plan.instalments[1].due_date
    log = []
    for k in range(1, 80):
        day = clock.today() + timedelta(days=k)
        log += [(day, level, text) for _, level, text in run(app, smtp, day)]
        if day == d1:  # the first instalment is paid on its date, after that morning's run
            record_payment(customer=customer, source="api", external_id="I-1",
                           amount_cents=50_000, received_on=day, invoices=[invoices[0]])
            db.session.commit()
    assert [(day, level) for day, level, _ in log][:3] == [
        (CAL.heads_up_day(d1, 3), 0),   # heads-up, instalment 1
        (CAL.heads_up_day(d2, 3), 0),   # heads-up, instalment 2
        (CAL.next_business_day(d2 + timedelta(days=3)), 1),   # instalment 2 not received
    ]
    assert "Échéance 1/3" in log[0][2] and "500,00" in log[0][2]
    assert "Échéance 2/3" in log[1][2] and "Échéance 2/3" in log[2][2]
    assert "l'échéancier sera annulé" in log[2][2]
    # Ten days of grace later the plan is broken and the invoices' own reminders resume.
    db.session.expire_all()
    assert db.session.get(InstalmentPlan, plan.id).state == "broken"
    resumed = [entry for entry in log[3:] if "P-1" in named(entry[2])]
    assert resumed and resumed[0][0] >= d2 + timedelta(days=11) and resumed[0][1] == 1
    assert "500,00\u00a0€" in resumed[0][2]  # P-1's balance after the first instalment
    assert not any("3/3" in text for _, _, text in log)
    assert db.session.scalar(select(Event).where(Event.kind == "plan_broken")) is not None
