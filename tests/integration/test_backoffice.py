"""The back office: login (hashed passwords, rate limit), every /admin/ route closed to anonymous
and wrong-role users, CSRF on every form, the inbox, and instalment decisions that the schedule
follows."""
import re
from datetime import timedelta

from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.models import Hold, InstalmentPlan, Invoice, User
from portal.users import create_user
from tests.conftest import make_customer, make_invoice, named
from tests.helpers import PASSWORD, ask, business_day, csrf, debtor, login, run
from portal.links import make_token

def admin_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("backoffice.")
            and r.endpoint != "backoffice.login"]


def test_every_admin_route_refuses_anonymous_users(app, client):
    rules = admin_rules(app)
    assert len(rules) >= 5
    token = csrf(client.get("/admin/login").get_data(as_text=True))  # a valid token: the
    for rule in rules:                                                 # login check refuses
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].startswith("/admin/login")


def test_wrong_role_is_refused(app, client, accountant):
    assert login(client).status_code == 302
    assert client.get("/admin/users").status_code == 403
    create_user("boss@atelier.example", PASSWORD, "admin")
    db.session.commit()
    other = app.test_client()
    login(other, "boss@atelier.example")
    assert other.get("/admin/users").status_code == 200


def test_passwords_are_hashed_and_the_cli_creates_users(app, runner):
    result = runner.invoke(args=["users", "create", "new@atelier.example", "--role", "admin"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "new@atelier.example"))
    assert [(g.creditor.slug, g.role) for g in user.grants] == [("default", "admin")]
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    short = runner.invoke(args=["users", "create", "x@atelier.example"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output


def test_csrf_is_enforced(client, accountant):
    response = client.post("/admin/login", data={"email": "compta@atelier.example",
                                                 "password": PASSWORD})
    assert response.status_code == 400
    login(client)
    assert client.post("/admin/logout").status_code == 400
    assert client.post("/admin/plans/1/decision", data={"decision": "approve"}).status_code == 400


def test_login_is_rate_limited_and_next_is_never_another_site(client, accountant):
    response = login(client, next_url="https://evil.example/steal")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    fresh = client.application.test_client()
    for _ in range(5):
        assert login(fresh, password="wrong password!").status_code == 401
    assert login(fresh).status_code == 429  # even the right password, for a while


def test_inbox_and_a_plan_decision_the_schedule_follows(app, client, smtp, accountant):
    customer, invoices = debtor()
    token = make_token(customer)
    ask(client, token, invoices, 9, clock.today() + timedelta(days=10), accept=True)  # needs a human
    plan = db.session.scalar(select(InstalmentPlan))
    other = make_customer(name="Brasserie Morel")
    make_invoice(other, clock.today() - timedelta(days=40), 10_000, number="BM-1")
    db.session.commit()
    login(client)
    inbox = client.get("/admin/").get_data(as_text=True)
    assert "Échéancier à décider" in inbox and customer.name in inbox
    page = client.get(f"/admin/plans/{plan.id}").get_data(as_text=True)
    assert "9 échéances" in inbox and "Trésorerie tendue" in page
    refused = client.post(f"/admin/plans/{plan.id}/decision",
                          data={"csrf_token": csrf(page), "decision": "reject", "note": ""})
    assert refused.status_code == 422  # a refusal needs a word to the debtor
    smtp.clear()
    decided = client.post(f"/admin/plans/{plan.id}/decision", data={
        "csrf_token": csrf(page), "decision": "approve", "note": "Bon courage !"})
    assert decided.status_code == 302
    db.session.expire_all()
    assert db.session.get(InstalmentPlan, plan.id).state == "approved"
    assert {h.kind for h in db.session.scalars(select(Hold).where(Hold.released_at.is_(None)))} \
        == {"plan"}
    mail = smtp.messages[-1]
    assert mail["Subject"] == "Votre demande d'échéancier"
    assert "acceptée" in mail.get_body(("plain",)).get_content()
    assert "Échéancier à décider" not in client.get("/admin/").get_data(as_text=True)


def test_a_rejected_plan_lets_the_invoices_reminders_resume(app, client, smtp, accountant):
    customer, invoices = debtor()
    ask(client, make_token(customer), invoices, 9, clock.today() + timedelta(days=10), accept=True)
    plan = db.session.scalar(select(InstalmentPlan))
    assert run(app, smtp, business_day(1)) == []  # waiting for the decision
    login(client)
    page = client.get(f"/admin/plans/{plan.id}").get_data(as_text=True)
    client.post(f"/admin/plans/{plan.id}/decision", data={
        "csrf_token": csrf(page), "decision": "reject", "note": "Montant trop élevé."})
    refusal = smtp.messages[-1].get_body(("plain",)).get_content()
    assert "pas accepter" in refusal and "Montant trop élevé." in refusal
    sent = run(app, smtp, business_day(2))
    assert len(sent) == 1 and "P-1" in named(sent[0][2])


def test_debtor_page_call_sheet_and_their_effect_on_the_schedule(app, client, smtp, accountant):
    from portal.models import Task
    customer = make_customer(name="Ferronnerie Henry", phone="+33 1 23 45 67 89")
    invoice = make_invoice(customer, clock.today() - timedelta(days=70), 240_000, number="FH-1")
    db.session.commit()
    sent = run(app, smtp, business_day(1))  # level 1 (one level at a time)
    assert len(sent) == 1
    task = Task(customer_id=customer.id, kind="call", level=3, due_on=clock.today(), message_id="<m>",
                details={"invoices": ["FH-1"], "phone": customer.phone})
    db.session.add(task)
    db.session.commit()
    login(client)
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    # The timeline says it in a sentence (issue 10: no "reminder_sent (system): ..." dump).
    assert re.search(r"Relance niveau \d envoyée par e-mail — FH-1", page)
    assert "reminder_sent" not in page
    message_link = re.search(r'href="(/admin/messages/[^"]+)"', page).group(1)
    assert "Bonjour Ferronnerie Henry" in client.get(message_link).get_data(as_text=True)
    sheet = client.get(f"/admin/tasks/{task.id}").get_data(as_text=True)
    assert "+33 1 23 45 67 89" in sheet and "2\u202f400,00\u00a0€" in sheet
    promised = clock.today() + timedelta(days=12)
    response = client.post(f"/admin/tasks/{task.id}", data={
        "csrf_token": csrf(sheet), "reached": "reached", "notes": "Paiera à réception du client X",
        "promise_date": promised.isoformat()})
    assert response.status_code == 302
    assert db.session.get(Task, task.id).state == "done"
    hold = db.session.scalar(select(Hold).where(Hold.kind == "promise"))
    assert hold.until == promised and hold.invoice_id == invoice.id
    assert run(app, smtp, business_day(9)) == []  # the promise holds, as a portal one does
    # Pause the debtor, then resume.
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    client.post(f"/admin/customers/{customer.id}/pause", data={"csrf_token": csrf(page)})
    db.session.expire_all()
    assert db.session.get(type(customer), customer.id).paused_until.year == 9999
    assert run(app, smtp, business_day(40)) == []
    client.post(f"/admin/customers/{customer.id}/resume", data={"csrf_token": csrf(page)})
    assert len(run(app, smtp, business_day(41))) == 1
    client.post(f"/admin/customers/{customer.id}/tier", data={
        "csrf_token": csrf(page), "tier": "risky", "debtor_type": "consumer",
        "policy": "gentle"})
    db.session.expire_all()
    changed = db.session.get(type(customer), customer.id)
    assert (changed.tier, changed.debtor_type, changed.policy) == ("risky", "consumer", "gentle")
    version = customer.link_version
    client.post(f"/admin/customers/{customer.id}/revoke", data={"csrf_token": csrf(page)})
    db.session.expire_all()
    assert db.session.get(type(customer), customer.id).link_version == version + 1


def test_formal_notice_letters_are_printed_from_the_inbox(app, client, smtp, accountant):
    from portal.models import Task
    customer = make_customer(name="Transports Moreau")
    make_invoice(customer, clock.today() - timedelta(days=120), 99_000, number="TM-1")
    db.session.commit()
    day = business_day(1)
    for _ in range(4):  # levels 1 to 4, a week apart
        run(app, smtp, day)
        day = business_day((day - clock.today()).days + 7)
    letter = db.session.scalar(select(Task).where(Task.kind == "letter"))
    assert letter is not None
    login(client)
    inbox = client.get("/admin/").get_data(as_text=True)
    assert "Mise en demeure à envoyer" in inbox and f"/admin/tasks/{letter.id}/letter.pdf" in inbox
    pdf = client.get(f"/admin/tasks/{letter.id}/letter.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    client.post(f"/admin/tasks/{letter.id}/done", data={"csrf_token": csrf(inbox)})
    assert "Mise en demeure à envoyer" not in client.get("/admin/").get_data(as_text=True)


def test_preview_hold_a_reminder_and_review_before_sending(app, client, smtp, accountant):
    a = make_customer(name="Studio Clément")
    make_invoice(a, clock.today() - timedelta(days=20), 10_000, number="SC-1")
    b = make_customer(name="Auto-École Robin")
    make_invoice(b, clock.today() - timedelta(days=20), 20_000, number="AR-1")
    db.session.commit()
    login(client)
    day = business_day(1)
    page = client.get(f"/admin/preview?date={day.isoformat()}").get_data(as_text=True)
    assert "SC-1" in page and "AR-1" in page and "2 relance(s) prévue(s)" in page
    sc1 = db.session.scalar(select(Invoice).where(Invoice.number == "SC-1"))
    client.post(f"/admin/preview/hold/{sc1.id}", data={"csrf_token": csrf(page)})
    cli = app.test_cli_runner().invoke(args=["reminders", "preview", "--date", day.isoformat()])
    assert "AR-1" in cli.output and "SC-1" not in cli.output  # the CLI agrees
    # Review before sending: the run plans, sends nothing, until released.
    client.post("/admin/settings/review", data={"csrf_token": csrf(page), "review": "on"})
    assert run(app, smtp, day) == []
    page = client.get("/admin/preview").get_data(as_text=True)
    assert "1 relance(s) en attente de validation" in page and "Auto-École Robin" in page
    client.post("/admin/review/release", data={"csrf_token": csrf(page)})
    sent = run(app, smtp, business_day(2))
    assert len(sent) == 1 and named(sent[0][2]) == {"AR-1"}
    # The held reminder comes back once the pause is lifted.
    hold = db.session.scalar(select(Hold).where(Hold.kind == "manual_pause"))
    customer_page = client.get(f"/admin/customers/{a.id}").get_data(as_text=True)
    client.post(f"/admin/holds/{hold.id}/release", data={"csrf_token": csrf(customer_page)})
    client.post("/admin/settings/review", data={"csrf_token": csrf(customer_page)})  # off
    sent = run(app, smtp, business_day(3))
    assert len(sent) == 1 and named(sent[0][2]) == {"SC-1"}


def test_counter_proposal_accepted_by_the_debtor(app, client, smtp, accountant):
    customer, invoices = debtor()
    token = make_token(customer)
    ask(client, token, invoices, 9, clock.today() + timedelta(days=10), accept=True)
    plan = db.session.scalar(select(InstalmentPlan))
    staff = app.test_client()
    login(staff)
    page = staff.get(f"/admin/plans/{plan.id}").get_data(as_text=True)
    bad = staff.post(f"/admin/plans/{plan.id}/decision", data={
        "csrf_token": csrf(page), "decision": "counter"})
    assert bad.status_code == 422
    staff.post(f"/admin/plans/{plan.id}/decision", data={
        "csrf_token": csrf(page), "decision": "counter", "count": 4,
        "first_date": (clock.today() + timedelta(days=14)).isoformat(), "note": "Sur 4 mois plutôt."})
    db.session.expire_all()
    plan = db.session.get(InstalmentPlan, plan.id)
    assert plan.state == "countered" and [i.amount_cents for i in plan.instalments] == [37_500] * 4
    offer = smtp.messages[-1].get_body(("plain",)).get_content()
    assert "Nous vous proposons" in offer and "375,00" in offer
    landing = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Accepter cet échéancier" in landing and "Sur 4 mois plutôt." in landing
    assert run(app, smtp, business_day(1)) == []  # still paused
    client.post(f"/p/{token}/plan/counter", data={"csrf_token": csrf(landing),
                                                  "answer": "accept", "accept": "y"})
    db.session.expire_all()
    plan = db.session.get(InstalmentPlan, plan.id)
    assert plan.state == "approved" and plan.accepted_ip == "127.0.0.1"
    assert {h.kind for h in db.session.scalars(select(Hold).where(Hold.released_at.is_(None)))} \
        == {"plan"}


def test_the_worklist_shows_fifty_debtors_a_page(app, client, accountant):
    from portal.models import Hold
    for n in range(60):
        customer = make_customer(name=f"Garage {n:02d}")
        invoice = make_invoice(customer, clock.today() - timedelta(days=40), 10_000 + n,
                               number=f"IB-{n}")
        db.session.add(Hold(customer_id=customer.id, invoice_id=invoice.id, kind="dispute",
                            starts_on=clock.today()))
    db.session.commit()
    login(client)
    first = client.get("/admin/").get_data(as_text=True)
    second = client.get("/admin/?page=2").get_data(as_text=True)
    assert "60 débiteurs, 60 tâches" in first and "page 1 sur 2" in first
    assert first.count('class="task-row task-dispute"') == 50
    assert second.count('class="task-row task-dispute"') == 10 and "Page précédente" in second
    assert "Garage 59" in first and "Garage 00" in second  # the largest amounts first
    assert client.get("/admin/?page=99").status_code == 200  # the last page, not an error


def test_the_preview_sums_up_by_level_and_shows_a_hundred_reminders_a_page(app, client,
                                                                           accountant):
    for n in range(120):
        customer = make_customer(name=f"Client {n:03d}")
        make_invoice(customer, clock.today() - timedelta(days=8), 10_000, number=f"PV-{n}")
    db.session.commit()
    login(client)
    day = business_day(1).isoformat()
    first = client.get(f"/admin/preview?date={day}").get_data(as_text=True)
    second = client.get(f"/admin/preview?date={day}&page=2").get_data(as_text=True)
    assert "120 relance(s) prévue(s)" in first and "page 1 sur 2" in first
    assert first.count(">Retenir</button>") == 100 and second.count(">Retenir</button>") == 20
