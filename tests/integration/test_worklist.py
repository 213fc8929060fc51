"""The worklist (issue 21, item 1), the debtor page's summary (item 3) and the plan page (item 7),
through HTTP in French and English, on SQLite and PostgreSQL: one row per debtor by priority,
sorts and filters, done with an outcome, snoozed until a date (it comes back that day), assigned,
bulk, the collector's own worklist by default, another creditor's tasks never listed nor
actionable, and nothing the schedule holds listed as work."""
import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import clock, tenancy
from portal.answers import send_message
from portal.extensions import db
from portal.bookkeeping import place_hold, record_event
from portal.models import Creditor, Event, Hold, InstalmentPlan, Invoice, Task, WorkItem, utcnow
from portal.instalments import propose, request_plan
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, csrf, login

ME, OTHER = "compta@atelier.example", "collegue@atelier.example"


def page(client, url="/admin/"):
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.get_data(as_text=True))


def plain(fragment):
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def order(text):
    """The debtors' names in the order the worklist shows them."""
    return re.findall(r'<tbody class="worklist-debtor" id="debtor-\d+">\s*<tr class="debtor-row">'
                      r'\s*<th scope="rowgroup"><a [^>]+>([^<]+)</a>', text)


def keys(text):
    return re.findall(r'name="task" value="([^"]+)"', text)


def task_of(kind, ref):
    return f"{kind}:{ref}"


def world():
    """Four debtors of the first creditor:
    - Optique Perrin: 700 EUR overdue (the oldest 40 days late), a dispute opened by a message
      (one task), a call to make;
    - Caves Legrand: 3,000 EUR, 5 days late, an instalment plan of 9 > 6 instalments to decide;
    - Boulangerie Amiel: 100 EUR, 90 days late, an invoice reported as never received;
    - Garage Roux: a call task whose only invoice is promised for later: held, not work."""
    today = clock.today()
    perrin = make_customer(name="Optique Perrin", ref="OP")
    p1 = make_invoice(perrin, today - timedelta(days=40), 50_000, number="OP-1")
    make_invoice(perrin, today - timedelta(days=10), 20_000, number="OP-2")
    send_message(perrin, p1, "wrong_amount", "Le montant ne correspond pas au devis", today)
    call = Task(customer_id=perrin.id, kind="call", level=3, due_on=today,
                message_id="<call.op@example>", details={"invoices": ["OP-2"]})
    legrand = make_customer(name="Caves Legrand", ref="CL")
    invoices = [make_invoice(legrand, today - timedelta(days=5), 300_000, number="CL-1")]
    plan = request_plan(legrand, invoices, propose(legrand, invoices, 9,
                                                   today + timedelta(days=10), today),
                        "Trésorerie tendue", today)
    amiel = make_customer(name="Boulangerie Amiel", ref="BA")
    a1 = make_invoice(amiel, today - timedelta(days=90), 10_000, number="BA-1")
    place_hold(a1, "not_received", today, actor="debtor", number="BA-1")
    roux = make_customer(name="Garage Roux", ref="GR")
    r1 = make_invoice(roux, today - timedelta(days=30), 40_000, number="GR-1")
    place_hold(r1, "promise", today - timedelta(days=1), until=today + timedelta(days=10),
               actor="debtor", number="GR-1")
    held = Task(customer_id=roux.id, kind="call", level=3, due_on=today,
                message_id="<call.gr@example>", details={"invoices": ["GR-1"]})
    db.session.add_all([call, held])
    db.session.commit()
    dispute = db.session.scalar(select(Hold).where(Hold.kind == "dispute"))
    return dict(perrin=perrin, legrand=legrand, amiel=amiel, roux=roux, call=call, held=held,
                plan=plan, dispute=dispute,
                not_received=db.session.scalar(select(Hold).where(Hold.kind == "not_received")))


@pytest.fixture
def office(any_app):
    """Two accountants of the first creditor, the first logged in; the world above."""
    me = create_user(ME, PASSWORD)
    other = create_user(OTHER, PASSWORD)
    db.session.commit()
    client = any_app.test_client()
    login(client, ME)
    return dict(world(), client=client, me=me, other=other)


def post(client, tasks, action, **fields):
    token = csrf(page(client))
    return client.post("/admin/worklist", data={"csrf_token": token, "task": tasks,
                                                "action": action, **fields})


def test_one_row_per_debtor_by_priority_with_its_tasks_and_figures(office):
    text = page(office["client"])
    # 700 EUR x 40 days, then 3,000 x 5, then 100 x 90; Garage Roux's call is held (promise).
    assert order(text) == ["Optique Perrin", "Caves Legrand", "Boulangerie Amiel"]
    assert "Trié par priorité : le montant échu multiplié par les jours de retard" in text
    perrin = plain(text.split('id="debtor-%d"' % office["perrin"].id)[1].split("</tbody>")[0])
    assert "700,00 €" in perrin and " 40 " in perrin
    assert "“Le montant ne correspond pas au devis”" in perrin  # what the debtor said last
    # The message that opened the dispute is one task (the dispute, with the debtor's words).
    assert perrin.count("Contestation") == 1 and "Message du client" not in perrin
    assert "Facture OP-1 : Le montant ne correspond pas au devis" in perrin
    assert sorted(keys(text)) == sorted([
        task_of("dispute", office["dispute"].id), task_of("call", office["call"].id),
        task_of("plan", office["plan"].id), task_of("not_received", office["not_received"].id)])
    # Held by the schedule: under "Waiting", never a task to tick.
    assert task_of("call", office["held"].id) not in text
    assert "Garage Roux" in text.split('id="waiting-title"')[1]


def test_the_worklist_in_english(office):
    client = office["client"]
    client.post("/admin/language", data={"csrf_token": csrf(page(client)), "language": "en",
                                         "next": "/admin/"})
    text = page(client)
    assert "Sorted by priority: the amount overdue multiplied by the days late" in text
    assert "Instalment plan to decide" in text and "€700.00" in text
    assert "3 debtors, 4 tasks" in plain(text)


@pytest.mark.parametrize("sort, expected", [
    ("amount", ["Caves Legrand", "Optique Perrin", "Boulangerie Amiel"]),
    ("age", ["Boulangerie Amiel", "Optique Perrin", "Caves Legrand"]),
    ("name", ["Boulangerie Amiel", "Caves Legrand", "Optique Perrin"]),
])
def test_sorts(office, sort, expected):
    assert order(page(office["client"], f"/admin/?sort={sort}")) == expected


def test_sort_by_last_contact_puts_the_least_recently_contacted_first(office):
    with tenancy.scope(office["perrin"].creditor_id):
        record_event(office["amiel"].id, "call", actor="accountant", reached=True)
        db.session.commit()
    found = order(page(office["client"], "/admin/?sort=contact"))
    # Caves Legrand asked for a plan and Optique Perrin wrote today; Amiel was called just now.
    assert found[-1] == "Boulangerie Amiel"


def test_filters_by_kind_and_due_date(office):
    client = office["client"]
    text = page(client, "/admin/?kind=plan")
    assert order(text) == ["Caves Legrand"] and keys(text) == [task_of("plan", office["plan"].id)]
    assert order(page(client, "/admin/?kind=call")) == ["Optique Perrin"]
    # Everything arrived today: due today, nothing overdue yet.
    assert len(keys(page(client, "/admin/?due=today"))) == 4
    assert keys(page(client, "/admin/?due=overdue")) == []
    assert order(page(client, "/admin/?kind=nonsense")) == order(page(client))  # ignored


def test_done_with_an_outcome_leaves_the_list_and_tells_the_timeline(office):
    client, call = office["client"], office["call"]
    answer = post(client, [task_of("call", call.id)], "done", outcome="reached",
                  note="Paiement promis par virement")
    assert answer.status_code == 302
    text = page(client)
    assert "1 tâche faite." in text
    assert task_of("call", call.id) not in keys(text)
    db.session.expire_all()
    assert db.session.get(Task, call.id).state == "done"  # the run's task too
    timeline = page(client, f"/admin/customers/{office['perrin'].id}")
    assert "Tâche faite : Appel à passer — Joint — “Paiement promis par virement”" in timeline


def test_the_dispute_done_takes_its_message_along(office):
    client, dispute = office["client"], office["dispute"]
    post(client, [task_of("dispute", dispute.id)], "done", outcome="answered")
    # The hold is lifted later: its message does not come back as a task of its own.
    db.session.scalar(select(Hold).where(Hold.id == dispute.id)).released_at = utcnow()
    db.session.commit()
    text = page(client)
    assert "Optique Perrin" in order(text)  # the call is still to make
    assert not [k for k in keys(text) if k.startswith(("message:", "dispute:"))]


def test_snoozed_until_a_date_it_comes_back_that_day(office, today):
    client, plan = office["client"], office["plan"]
    back_on = today + timedelta(days=3)
    post(client, [task_of("plan", plan.id)], "snooze", until=back_on.isoformat())
    text = page(client)
    assert "Caves Legrand" not in order(text)
    assert "1 tâche reportée à une date ultérieure n'est pas affichée." in text
    with clock.pin(back_on - timedelta(days=1)):
        assert "Caves Legrand" not in order(page(client))
    with clock.pin(back_on):
        text = page(client)
        assert "Caves Legrand" in order(text) and "de retour aujourd'hui (reportée)" in text
        assert task_of("plan", plan.id) in keys(page(client, "/admin/?due=today"))


def test_bad_input_says_what_to_do_and_changes_nothing(office, today):
    client, plan = office["client"], office["plan"]
    for fields, words in (
            (dict(task=[], action="done"), "Cochez au moins une tâche"),
            (dict(task=[task_of("plan", plan.id)], action="fly"), "Choisissez quoi faire"),
            (dict(task=[task_of("plan", plan.id)], action="snooze", until="31/02/2026"),
             "Indiquez la date de retour"),
            (dict(task=[task_of("plan", plan.id)], action="snooze",
                  until=today.isoformat()), "après aujourd'hui"),
            (dict(task=[task_of("plan", plan.id)], action="assign", assignee="99999"),
             "Choisissez un utilisateur de ce créancier"),
            (dict(task=[task_of("plan", plan.id)], action="done", outcome="magic"),
             "Choisissez un résultat dans la liste")):
        answer = client.post("/admin/worklist", data={"csrf_token": csrf(page(client)),
                                                      **fields})
        assert answer.status_code == 302
        assert words in page(client), fields
    assert db.session.scalars(select(WorkItem)).all() == []
    no_token = client.post("/admin/worklist", data={"task": [task_of("plan", plan.id)],
                                                    "action": "done"})
    assert no_token.status_code == 400


def test_assign_bulk_and_my_worklist(office):
    client, other = office["client"], office["other"]
    everything = keys(page(client))
    post(client, everything[:2], "assign", assignee=str(other.id))
    text = page(client)
    assert "2 tâches assignées." in text and text.count(f"assignée à {OTHER}") == 2
    # The colleague's own worklist: only the two tasks given to them.
    colleague = client.application.test_client()
    login(colleague, OTHER)
    assert sorted(keys(page(colleague, "/admin/?assignee=me"))) == sorted(everything[:2])
    # Bulk: the other two done at once, with one outcome.
    post(client, everything[2:], "done", outcome="nothing_to_do")
    assert sorted(keys(page(client))) == sorted(everything[:2])


def test_a_collector_sees_their_worklist_by_default(office):
    client, me = office["client"], office["me"]
    perrin = office["perrin"]
    debtor_page = page(client, f"/admin/customers/{perrin.id}")
    answer = client.post(f"/admin/customers/{perrin.id}/collector",
                         data={"csrf_token": csrf(debtor_page), "collector": str(me.id)})
    assert answer.status_code == 302
    assert f'<option value="{me.id}" selected>{ME}</option>' in page(
        client, f"/admin/customers/{perrin.id}")
    text = page(client)
    assert order(text) == ["Optique Perrin"]  # mine by default
    assert '<option value="me" selected>' in text
    assert len(order(page(client, "/admin/?assignee=all"))) == 3
    # A task of my debtor given to a colleague leaves my list.
    post(client, [task_of("call", office["call"].id)], "assign",
         assignee=str(office["other"].id))
    assert keys(page(client)) == [task_of("dispute", office["dispute"].id)]
    refused = client.post(f"/admin/customers/{perrin.id}/collector",
                          data={"csrf_token": csrf(debtor_page), "collector": "99999"})
    assert refused.status_code == 302
    assert "Choisissez un utilisateur de ce créancier" in page(
        client, f"/admin/customers/{perrin.id}")


def test_another_creditors_tasks_are_never_listed_nor_actionable(office, any_app):
    bistro = Creditor(slug="bistro", name="Bistro Lyonnais")
    db.session.add(bistro)
    db.session.flush()
    with tenancy.scope(bistro.id):
        zinc = make_customer(name="Brasserie Zinc", ref="Z1", creditor_id=bistro.id)
        invoice = make_invoice(zinc, clock.today() - timedelta(days=50), 900_000, number="Z-1")
        place_hold(invoice, "dispute", clock.today(), actor="debtor", number="Z-1")
        db.session.commit()
        hold = db.session.scalar(select(Hold).where(Hold.invoice_id == invoice.id))
    client = office["client"]
    text = page(client)
    assert "Brasserie Zinc" not in text and task_of("dispute", hold.id) not in text
    answer = post(client, [task_of("dispute", hold.id)], "done")
    assert answer.status_code == 302
    assert "1 tâche n'est plus dans la liste" in page(client)
    assert db.session.scalars(select(WorkItem)).all() == []
    assert client.get(f"/admin/?creditor={bistro.id}").status_code == 404  # not granted


def test_the_debtor_page_first_says_where_the_account_stands(office):
    client, perrin = office["client"], office["perrin"]
    text = page(client, f"/admin/customers/{perrin.id}")
    summary = text.split('id="account-title"')[1].split("</section>")[0]
    assert text.index('id="account-title"') < text.index("<h2>Factures</h2>") \
        < text.index("<h2>Historique")
    assert "700,00 €" in plain(summary.split('id="account-owed">')[1].split("</td>")[0])
    overdue = plain(summary.split('id="account-overdue">')[1].split("</td>")[0])
    assert overdue == "700,00 € (2 factures, la plus ancienne en retard de 40 jours)"
    assert "aucun pour l'instant" in summary  # no payment yet
    assert "contestation (facture OP-1)" in plain(summary)  # the hold, in the summary
    assert "Total des 2 factures ouvertes" in text


def test_the_plan_page_says_why_it_waits_and_a_counter_proposal_reads_as_one(office, today):
    client, plan = office["client"], office["plan"]
    text = page(client, f"/admin/plans/{plan.id}")
    why = plain(text.split('id="plan-why"')[1].split("</ul>")[0])
    assert "9 échéances demandées : plus que les 6 que la politique accepte d'elle-même" in why
    assert f'href="/admin/customers/{office["legrand"].id}"' in text
    assert "3 000,00 €" in plain(text.split('id="plan-owed"')[1].split("</td>")[0])
    assert "A demandé un échéancier" in plain(text.split('id="plan-story"')[1].split("</ol>")[0])
    form = {"csrf_token": csrf(text), "decision": "counter", "count": "4",
            "first_date": (today + timedelta(days=15)).isoformat(), "note": "Quatre mois"}
    assert client.post(f"/admin/plans/{plan.id}/decision", data=form).status_code == 302
    text = page(client, f"/admin/plans/{plan.id}")
    assert "Contre-proposition à Caves Legrand" in text
    assert "attend la réponse du client" in text and "Acceptée par le client" not in text
    assert 'id="plan-why"' not in text
    client.post("/admin/language", data={"csrf_token": csrf(text), "language": "en",
                                         "next": "/admin/"})
    text = page(client, f"/admin/plans/{plan.id}")
    assert "Counter-proposal to Caves Legrand" in text and "waits for the customer's answer" in text
