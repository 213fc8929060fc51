"""One debtor, one story (issue 20, item 4): Caves Legrand, three invoices under a formal notice,
walks through a promise, its grace, the promise broken, an instalment plan, a counter-proposal,
a dispute and a payment. At each step the inbox, the debtor page, the debtors list's "next step"
and the portal say the same thing, in French, through HTTP; and no inbox item proposes what the
schedule holds (checked against `reminders.scan.upcoming_of`, the schedule's own answer)."""
import html
import re
from datetime import timedelta

from sqlalchemy import select

from portal import clock, users
from portal.extensions import db
from portal.i18n import day, money
from portal.links import make_token
from portal.models import InstalmentPlan, Invoice, Task
from portal.rules.story import holds_back
from reminders.scan import upcoming_of
from portal.rules.schedule import calendar_for, promise_broken_on
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, ask, business_day, csrf, login, run

CAL = calendar_for("FR")
CENTS = {"CL-1": 120_000, "CL-2": 80_000, "CL-3": 474_751}


def text(response):
    return html.unescape(response.get_data(as_text=True))


def plain(fragment):
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def short(on):
    return day(on, "fr", "short")


class Pages:
    """The four places that tell the debtor's story, read through HTTP."""

    def __init__(self, back, portal, customer, token):
        self.back, self.portal, self.customer, self.token = back, portal, customer, token

    def inbox(self):
        """(to do, waiting): the inbox's two parts, as text."""
        page = text(self.back.get("/admin/"))
        todo, _, waiting = page.partition('id="waiting-title"')
        return plain(todo), plain(waiting)

    def next_in_list(self):
        page = text(self.back.get("/admin/debtors"))
        row = page.split(self.customer.name, 1)[1].split("</tr>", 1)[0]
        return plain(row.split('data-label="Prochaine étape">', 1)[1].split("</td>", 1)[0])

    def debtor_page(self):
        return text(self.back.get(f"/admin/customers/{self.customer.id}"))

    def next_on_debtor_page(self):
        found = re.search(r'<p class="next-step">Prochaine étape : (.*?)</p>', self.debtor_page())
        assert found, "the debtor page says what comes next"
        return plain(found.group(1))

    def landing(self):
        response = self.portal.get(f"/p/{self.token}")
        assert response.status_code == 200
        return text(response)

    def card(self, number, page=None):
        page = page or self.landing()
        if f"Facture {number}</h3>" not in page:
            return None
        return plain(page.split(f"Facture {number}</h3>", 1)[1].split("</li>", 1)[0])

    def agree(self):
        """The lists and the debtor page say the same next step; returns it."""
        listed = self.next_in_list()
        assert listed == self.next_on_debtor_page()
        return listed


def nothing_held_is_proposed(customer, as_of):
    """No call, letter or broken promise in the inbox's to-do part is about invoices the
    schedule holds, all of them: asked of the schedule, not of the page."""
    from portal.backoffice.inbox import inbox
    found = inbox(as_of)
    upcoming = upcoming_of([customer.id], as_of)
    numbers = {inv.number: inv.id for inv in db.session.scalars(
        select(Invoice).where(Invoice.customer_id == customer.id, Invoice.status == "open"))}
    for item in found.todo:
        if item.kind in ("call", "letter", "reminder_letter", "broken_promise"):
            named = item.facts.get("invoices") or [item.facts["number"]]
            open_ones = [numbers[n] for n in named if n in numbers]
            assert open_ones, item
            assert not all(holds_back(upcoming[i][1]) for i in open_ones), (item.kind, named)
    for item in found.waiting:
        named = [numbers[n] for n in item.facts["invoices"] if n in numbers]
        assert named and all(holds_back(upcoming[i][1]) for i in named), item.facts
    return found


def formal_notice(app, smtp):
    """Caves Legrand, three invoices 120 days late, taken by the run up to the formal notice
    (levels 1 to 4, a week apart): a letter and a call to make name all three. Returns the
    customer and the day of the last run."""
    customer = make_customer(name="Caves Legrand", email="compta@caves-legrand.example")
    for number, cents in CENTS.items():
        make_invoice(customer, clock.today() - timedelta(days=120), cents, number=number)
    db.session.commit()
    on = business_day(1)
    for _ in range(4):
        run(app, smtp, on)
        last, on = on, business_day((on - clock.today()).days + 7)
    letter = db.session.scalar(select(Task).where(Task.kind == "letter"))
    assert letter is not None and sorted(letter.details["invoices"]) == sorted(CENTS)
    return customer, last


def test_one_debtor_one_story_on_every_page(any_app, any_client, smtp):
    app = any_app
    customer, d = formal_notice(app, smtp)
    users.create_user("compta@atelier.example", PASSWORD, "accountant")
    db.session.commit()
    back, portal = any_client, app.test_client()
    token = make_token(customer)
    pages = Pages(back, portal, customer, token)
    ids = {inv.number: inv.id for inv in customer.invoices}

    with clock.pin(d):
        login(back)
        todo, waiting = pages.inbox()
        assert "Mise en demeure à envoyer" in todo and "Appel à passer" in todo
        assert "Caves Legrand" not in waiting
        nothing_held_is_proposed(customer, d)

        # 1. The debtor promises to pay all three in five days: the letter and the call wait.
        promised = d + timedelta(days=5)
        page = pages.landing()
        answer = portal.post(f"/p/{token}/promise", data={
            "csrf_token": csrf(page), "invoice_ids": list(ids.values()),
            "promise_date": promised.isoformat()})
        assert answer.status_code == 302
        todo, waiting = pages.inbox()
        assert "Mise en demeure à envoyer" not in todo and "Appel à passer" not in todo
        held = f"en attente (paiement promis) jusqu'au {short(promised)}"
        assert "Mise en demeure à envoyer" in waiting and held in waiting
        assert pages.agree() == held
        assert f"En pause : paiement promis jusqu'au {short(promised)} (facture CL-1)" \
            in pages.debtor_page()
        page = pages.landing()
        for number in CENTS:
            assert pages.card(number, page).startswith(f"Paiement annoncé le {short(promised)}")
        nothing_held_is_proposed(customer, d)

    # 2. The promised day has passed, but not its grace (one business day): still promised,
    # everywhere; nobody is asked to chase.
    last_day = promise_broken_on(promised, app_policy(), CAL)
    assert last_day > promised
    with clock.pin(last_day):
        todo, waiting = pages.inbox()
        assert "Promesse non tenue" not in todo and "Mise en demeure à envoyer" not in todo
        assert "Mise en demeure à envoyer" in waiting
        assert pages.agree() == held
        assert "Promesse non tenue" not in pages.debtor_page()
        assert "non reçu" not in pages.landing()
        nothing_held_is_proposed(customer, last_day)

    # 3. The grace is over: the promise is broken, everywhere at once, and the work is back.
    broken = last_day + timedelta(days=1)
    with clock.pin(broken):
        todo, waiting = pages.inbox()
        assert todo.count("Promesse non tenue — Facture") == 3  # one task per invoice
        assert "Mise en demeure à envoyer" in todo and "Mise en demeure à envoyer" not in waiting
        assert not pages.agree().startswith("en attente")
        assert "Promesse non tenue : paiement annoncé pour le" in pages.debtor_page()
        page = pages.landing()
        for number in CENTS:
            assert pages.card(number, page).startswith(
                f"Paiement annoncé pour le {short(promised)} non reçu")
        nothing_held_is_proposed(customer, broken)

        # 4. The debtor asks for nine instalments for CL-1 and CL-2: they show only as part of
        # the plan; CL-3's broken promise still stands, so the formal notice is still to send.
        plan_invoices = [db.session.get(Invoice, ids["CL-1"]), db.session.get(Invoice, ids["CL-2"])]
        asked = ask(portal, token, plan_invoices, 9, broken + timedelta(days=10), accept=True)
        assert asked.status_code == 302
        plan = db.session.scalar(select(InstalmentPlan))
        assert plan.state == "requested"
        page = pages.landing()
        for number in ("CL-1", "CL-2"):
            card = pages.card(number, page)
            assert card.startswith("Échéancier demandé") and "Paiement annoncé" not in card
        assert "non reçu" in pages.card("CL-3", page)
        todo, waiting = pages.inbox()
        assert "Échéancier à décider" in todo and todo.count("Promesse non tenue — Facture") == 1
        assert "Facture CL-3" in todo and "Mise en demeure à envoyer" in todo
        debtor_page = pages.debtor_page()
        assert "(facture CL-1)" not in debtor_page.split("Promesse non tenue")[1].split("</li>")[0]
        assert "En pause : demande d'échéancier (facture CL-1)" in debtor_page
        assert "Promesse non tenue : paiement annoncé pour le" in debtor_page  # CL-3's
        pages.agree()
        nothing_held_is_proposed(customer, broken)

        # 5. The accountant answers with six instalments instead: a counter-proposal, which
        # the portal says as such on each invoice; the debtor accepts it.
        decision = back.get(f"/admin/plans/{plan.id}")
        answer = back.post(f"/admin/plans/{plan.id}/decision", data={
            "csrf_token": csrf(text(decision)), "decision": "counter", "count": 6,
            "first_date": (broken + timedelta(days=15)).isoformat(), "note": "Six mois"})
        assert answer.status_code == 302
        page = pages.landing()
        for number in ("CL-1", "CL-2"):
            card = pages.card(number, page)
            assert card.startswith("Contre-proposition : en attente de votre réponse")
            assert "Échéancier demandé" not in card
        todo, waiting = pages.inbox()
        assert "Échéancier à décider" not in todo
        pages.agree()
        nothing_held_is_proposed(customer, broken)
        unticked = portal.post(f"/p/{token}/plan/counter", data={
            "csrf_token": csrf(page), "answer": "accept"})
        assert unticked.status_code == 422  # said at the proposal, not at the page's top
        form = text(unticked).split('id="counter-form"', 1)[1].split("</form>", 1)[0]
        assert '<a href="#accept-counter">Cochez la case pour accepter l\'échéancier.</a>' \
            in form, form
        accepted = portal.post(f"/p/{token}/plan/counter", data={
            "csrf_token": csrf(page), "answer": "accept", "accept": "y"})
        assert accepted.status_code == 302
        page = pages.landing()
        for number in ("CL-1", "CL-2"):
            assert pages.card(number, page).startswith("Dans votre échéancier")
        assert pages.debtor_page().count("En pause : échéancier (facture CL-") == 2

        # 6. The debtor contests CL-3: the formal notice now waits, a dispute is to answer.
        page = pages.landing()
        prefix = f"m{ids['CL-3']}"
        said = portal.post(f"/p/{token}/invoices/{ids['CL-3']}/message", data={
            f"{prefix}-csrf_token": csrf(page), f"{prefix}-reason": "wrong_amount",
            f"{prefix}-text": "Le montant ne correspond pas au devis."})
        assert said.status_code == 302
        assert pages.card("CL-3").startswith("En cours d'examen")
        todo, waiting = pages.inbox()
        assert "Contestation" in todo and "Promesse non tenue" not in todo
        assert "Mise en demeure à envoyer" not in todo and "Mise en demeure à envoyer" in waiting
        assert pages.agree().startswith("en attente (")
        nothing_held_is_proposed(customer, broken)

        # 7. CL-3 is paid by transfer, typed by the accountant: the portal says so, in the
        # portal's own amounts, and the dispute is no longer work to do.
        debtor_page = pages.debtor_page()
        recorded = back.post(f"/admin/customers/{customer.id}/payments", data={
            "csrf_token": csrf(debtor_page), "invoice_number": "CL-3",
            "amount": "4 747,51", "received_on": broken.isoformat(), "reference": "VIR-CL3"})
        assert recorded.status_code == 302
        page = pages.landing()
        assert f"Paiement de {money(474_751, 'fr')} reçu le {short(broken)}" in page
        assert "Paiement de 4\u202f747,51\u00a0€ reçu le" in page
        assert pages.card("CL-3", page) is None
        todo, waiting = pages.inbox()
        assert "Contestation" not in todo and "Mise en demeure à envoyer" in waiting
        assert pages.agree() == "en attente (échéancier)"
        nothing_held_is_proposed(customer, broken)


def app_policy():
    from portal import settings
    return settings.current().policy_for("standard", None)


def test_the_dashboard_counts_promises_as_the_schedule_sees_them(any_app):
    """Running through the grace, broken after it, kept once paid; the page's figure too."""
    from portal.backoffice.metrics import dashboard
    from portal.bookkeeping import place_hold, record_payment
    customer = make_customer()
    promised = clock.today() + timedelta(days=2)
    unpaid = make_invoice(customer, clock.today() - timedelta(days=30), 10_000, number="D-1")
    paid = make_invoice(customer, clock.today() - timedelta(days=30), 20_000, number="D-2")
    for invoice in (unpaid, paid):
        place_hold(invoice, "promise", clock.today(), until=promised)
    record_payment(customer=customer, source="manual", external_id="VIR-D2",
                   amount_cents=20_000, received_on=clock.today(), invoices=[paid],
                   actor="accountant")
    db.session.commit()
    last_day = promise_broken_on(promised, app_policy(), CAL)
    figures = lambda on: (lambda f: (f.promises_kept, f.promises_broken,  # noqa: E731
                                     f.promises_running))(dashboard(on))
    assert figures(promised) == (1, 0, 1)
    assert figures(last_day) == (1, 0, 1)  # the promised day is past, its grace is not
    assert figures(last_day + timedelta(days=1)) == (1, 1, 0)
