"""The accountant works a 60-debtor worklist in a browser (issue 21): the priority order, a sort,
a filter, a call done with its outcome, a dispute put off, a task assigned to a colleague, three
tasks done at once; screenshots at 1366 px and on a 390 px phone under test-artifacts/."""
from datetime import timedelta

from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.bookkeeping import place_hold
from portal.models import Task
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import PHONE, log_in, shot, submit

PASSWORD = "correct horse battery staple"
WIDE = {"viewport": {"width": 1366, "height": 900}, "locale": "fr-FR"}


def sixty_debtors(app):
    """Debtor NN owes (NN + 1) x 100 EUR, (NN + 1) days late, and disputes it; every tenth has a
    call to make instead (a call about a disputed invoice would wait: the schedule holds it).
    Returns the names in priority order (amount x days late)."""
    with app.app_context():
        today = clock.today()
        for n in range(60):
            customer = make_customer(name=f"Client {n:02d}", ref=f"W{n:02d}")
            invoice = make_invoice(customer, today - timedelta(days=n + 1), (n + 1) * 10_000,
                                   number=f"W-{n:02d}")
            if n % 10:
                place_hold(invoice, "dispute", today, actor="debtor", number=invoice.number)
            else:
                db.session.add(Task(customer_id=customer.id, kind="call", level=3,
                                    due_on=today, message_id=f"<call.{n}@example>",
                                    details={"invoices": [invoice.number]}))
        create_user("compta@atelier.example", PASSWORD)
        create_user("collegue@atelier.example", PASSWORD)
        db.session.commit()
    return [f"Client {n:02d}" for n in reversed(range(60))]


def debtor_names(page):
    return page.locator("tr.debtor-row th a").all_inner_texts()


def tick(page, debtor, label):
    """The checkbox of `debtor`'s task called `label`."""
    body = page.locator("tbody.worklist-debtor", has=page.get_by_role("link", name=debtor,
                                                                       exact=True))
    body.locator("tr.task-row", has_text=label).get_by_role("checkbox").check()


def apply(page):
    submit(page, page.get_by_role("button", name="Appliquer"))


def test_work_a_sixty_debtor_worklist(live_app, browser):
    app, base = live_app
    by_priority = sixty_debtors(app)
    context = browser.new_context(**WIDE)
    page = context.new_page()
    log_in(page, base, "compta@atelier.example", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("À traiter aujourd'hui")
    expect(page.locator("#worklist-order")).to_contain_text("Trié par priorité")
    assert debtor_names(page) == by_priority[:50]  # 50 debtors a page
    shot(page, "worklist-1-by-priority-1366")

    page.get_by_label("Trier par").select_option(value="name")
    submit(page, page.get_by_role("button", name="Voir"))
    assert debtor_names(page)[:3] == ["Client 00", "Client 01", "Client 02"]

    page.get_by_label("Tâche", exact=True).select_option(value="call")
    submit(page, page.get_by_role("button", name="Voir"))
    assert debtor_names(page) == [f"Client {n:02d}" for n in range(0, 60, 10)]
    expect(page.locator("tr.task-row")).to_have_count(6)

    # A call done, with its outcome and a note: it leaves the list.
    tick(page, "Client 50", "Appel à passer")
    page.get_by_label("Fait", exact=True).check()
    page.get_by_label("Résultat").select_option(value="reached")
    page.get_by_label("Note (facultative)").fill("Virement prévu vendredi")
    apply(page)
    expect(page.get_by_text("1 tâche faite.")).to_be_visible()
    assert "Client 50" not in debtor_names(page)

    # Back to every kind, by priority; a dispute put off to next week.
    page.goto(f"{base}/admin/")
    tick(page, "Client 59", "Contestation")
    page.get_by_label("Plus tard : de retour le").check()
    page.get_by_label("Date de retour des tâches").fill(
        (clock.today() + timedelta(days=7)).isoformat())
    apply(page)
    expect(page.get_by_text("1 tâche reportée.")).to_be_visible()
    expect(page.locator("#worklist-order")).to_contain_text("1 tâche reportée à une date")
    assert debtor_names(page)[0] == "Client 58"

    # Assigned to a colleague: said on the task.
    tick(page, "Client 58", "Contestation")
    page.get_by_label("Assigner à").check()
    page.get_by_label("Utilisateur").select_option(label="collegue@atelier.example")
    apply(page)
    expect(page.get_by_text("1 tâche assignée.")).to_be_visible()
    expect(page.get_by_text("assignée à collegue@atelier.example")).to_have_count(1)

    # Three at once.
    for name in ("Client 57", "Client 56", "Client 55"):
        tick(page, name, "Contestation")
    page.get_by_label("Fait", exact=True).check()
    page.get_by_label("Résultat").select_option(value="answered")
    apply(page)
    expect(page.get_by_text("3 tâches faites.")).to_be_visible()
    names = debtor_names(page)
    assert not {"Client 57", "Client 56", "Client 55", "Client 59"} & set(names)
    shot(page, "worklist-2-worked-1366")
    context.close()

    phone = browser.new_context(**PHONE)
    small = phone.new_page()
    log_in(small, base, "compta@atelier.example", PASSWORD)
    expect(small.locator("#worklist-order")).to_contain_text("Trié par priorité")
    assert debtor_names(small)[0] == "Client 58"
    shot(small, "worklist-3-phone-390")
    phone.close()
