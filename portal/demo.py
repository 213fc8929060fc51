"""Demo data: two creditors, as an accounting firm would run them. Atelier Martin SARL (from the
CREDITOR_* variables) with about 30 French debtors and 160 invoices in every state, and Lumière
Export SAS, whose customers abroad read English; 200 days of reminder history, then today's run
into an outbox folder of .eml files. The demo user sees both."""
import glob
import os
import random
import shutil
import tempfile
import unicodedata
from contextlib import nullcontext
from datetime import date, datetime, time, timedelta, timezone

from flask_migrate import upgrade

from reminders.run import run
from .rules.schedule import calendar_for

from . import clock, settings, tenancy
from .extensions import db
from .imports import InvoiceRow, import_rows
from .bookkeeping import place_hold, record_event, record_payment
from .links import portal_url
from .models import (Creditor, Customer, Event, Hold, Invoice, Payment, Reminder, SentMessage,
                     SettingsRevision, Task, utcnow)
from .settings import creditor_from_config
from .instalments import propose, request_plan
from .users import create_user

DEMO_USER, DEMO_PASSWORD = "compta@demo.example", "relance-demo-password"  # demo database only
COMPANIES = [
    "Boulangerie Dupont & Fils", "Garage Lefèvre", "Menuiserie Girard", "Pharmacie du Centre",
    "Hôtel Beau Rivage", "Transports Moreau", "Cabinet Bernard Architectes", "Fromagerie Roux",
    "Imprimerie Fournier", "Librairie Vincent", "Plomberie Mercier", "Restaurant Le Petit Zinc",
    "Électricité Blanc", "Agence Faure Immobilier", "Pâtisserie Lambert", "Clinique Vétérinaire André",
    "Atelier Bonnet Couture", "SARL Chevalier Paysages", "Boucherie François", "Caves Legrand",
    "Fleurs Gauthier", "Optique Perrin", "Auto-École Robin", "Studio Clément Photo",
    "Brasserie Morel", "Ferronnerie Henry", "Coiffure Rousseau", "Épicerie Fine Masson",
    "Northwind Trading Ltd", "Bluebell Consulting LLP", "Mairie de Saint-Priest", "Claire Dubois",
]
# Not every debtor is a business: the penalties and their wording follow the category.
DEBTOR_TYPES = {"Mairie de Saint-Priest": "public", "Claire Dubois": "consumer"}
TIERS = ["standard"] * 6 + ["key", "risky"]
# Days between today and the due date for the invoices: not due yet, just due, and late by
# weeks or months; a few land exactly on a level's offset so that today's run has every level.
DUE_OFFSETS = [20, 10, 3, 0, -4, -7, -12, -21, -30, -45, -51, -60, -75, -100, -140, -180]
# Debtors whose cycle is young, so that today's run shows each level of the account ladder: the
# heads-up (due in 3 days), level 1 (7 days late), level 2 (21), level 3 (51).
FRESH = {"Traiteur Morel": (3, 34), "Serrurerie Arnaud": (-7, 23), "Vins Mathieu": (-21, 9),
         "Carrelage Marchand": (-51, -30)}
# The second creditor: a Lyon exporter whose customers abroad read English.
EXPORTER = dict(slug="lumiere-export", name="Lumière Export SAS",
                address="8 quai Rambaud, 69002 Lyon", siren="812 345 678",
                vat_number="FR45812345678", iban="FR76 1027 8073 0000 0201 2340 145",
                bic="CMCIFRPP", email="credit@lumiere-export.example",
                phone="+33 4 72 00 11 22", sender="Lumière Export <credit@lumiere-export.example>",
                reply_to="credit@lumiere-export.example", language="en", colour="#0b6e4f")
EXPORT_CUSTOMERS = [
    ("Harbour Lights Ltd", "uk"), ("Kestrel Outdoor GmbH", "de"), ("Ridgeway Interiors Ltd", "uk"),
    ("Nordlys Design AS", "no"), ("Maple & Finch Inc.", "us"), ("Van Dijk Wonen BV", "nl"),
    ("Oakridge Hospitality Ltd", "uk"), ("Lindqvist Studio AB", "se"),
]


def demo_day(today):
    calendar = calendar_for("FR")
    day = today
    while not calendar.is_business_day(day):
        day -= timedelta(days=1)
    return day


def _rows(today, rng):
    rows, line = [], 2
    offsets = [[DUE_OFFSETS[(n * 3 + k * 5) % len(DUE_OFFSETS)] for k in range(5)]
               for n in range(1, len(COMPANIES) + 1)] + list(FRESH.values())
    for n, name in enumerate(COMPANIES + list(FRESH), start=1):
        english = name.endswith(("Ltd", "LLP"))
        plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        slug = "".join(c for c in plain.lower() if c.isalnum())[:18]
        for k, offset in enumerate(offsets[n - 1]):
            due = today + timedelta(days=offset)
            cents = rng.randrange(9_000, 480_000)
            paid = 0 if k % 4 else rng.choice([0, 0, cents // 2])
            rows.append(InvoiceRow(
                line=line, customer_ref=f"C{n:03d}", customer_name=name,
                emails=f"compta@{slug}.example.fr", phone=_phone(n, k),
                address=f"{n * 7} avenue de la République, 750{n % 20 + 1:02d} Paris",
                language="en" if english else "fr", invoice_number=f"FA-2026-{n:03d}{k}",
                issue_date=due - timedelta(days=30), due_date=due, currency="EUR",
                amount_cents=cents, paid_cents=paid,
                debtor_type=DEBTOR_TYPES.get(name, "business")))
            line += 1
    return rows


def _phone(n, k):
    """Two debtors in three give a mobile number (they get the SMS of level 2), the others a
    landline. The demo's SMS only ever reach a folder."""
    if n % 3:
        return f"+33 6 12 00 {n:02d} {10 + k}"
    return f"+33 1 {40 + n} {10 + k}0 {20 + n} 00"


def _logo(initials, colour):
    """A small PNG logo drawn for the demo: the initials, white on the brand colour."""
    import io

    from PIL import Image, ImageDraw
    image = Image.new("RGB", (96, 48), colour)
    ImageDraw.Draw(image).text((30, 10), initials, fill="white", font_size=24)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _export_rows(today, rng):
    rows, line = [], 2
    for n, (name, country) in enumerate(EXPORT_CUSTOMERS, start=1):
        slug = "".join(c for c in name.lower() if c.isalnum())[:18]
        for k in range(5):
            due = today + timedelta(days=DUE_OFFSETS[(n * 5 + k * 3) % len(DUE_OFFSETS)])
            cents = rng.randrange(40_000, 1_200_000)
            rows.append(InvoiceRow(
                line=line, customer_ref=f"EX{n:02d}", customer_name=name,
                emails=f"accounts@{slug}.example.{country if country != 'uk' else 'co.uk'}",
                phone=f"+44 20 7946 0{n:02d}{k}", address=f"{n} Commerce Street ({country.upper()})",
                language="en", invoice_number=f"LE-{due.year}-{n:02d}{k}",
                issue_date=due - timedelta(days=45), due_date=due, currency="EUR",
                amount_cents=cents, paid_cents=0, debtor_type="business"))
            line += 1
    return rows


def _history(today, rng, customers):
    """A promise, a broken promise, a dispute; returns the payments to come, [(day, invoice
    id)] (payment habits: some on time, some after a reminder or two), which the day-by-day
    history records on their day, so that what follows each reminder is true."""
    for customer in customers[:10]:
        customer.tier = TIERS[customer.id % len(TIERS)]
    invoices = db.session.query(Invoice).order_by(Invoice.number).all()
    to_come = []
    for k, invoice in enumerate(invoices):
        if k % 9 == 0:  # good payers, and some who wait for a reminder
            late = rng.choice([0, 2, 5, 15, 25])
        elif k % 3 == 0:  # slower ones: a firm reminder, or the penalties, gets them to pay
            late = rng.choice([12, 26, 40, 55, 58])
        else:
            continue
        paid_on = invoice.due_date + timedelta(days=late)
        if paid_on < today and invoice.status == "open":
            to_come.append((paid_on, invoice.id))
    late = [i for i in invoices if i.status == "open" and (today - i.due_date).days > 25
            and i.id not in {invoice_id for _day, invoice_id in to_come}]
    place_hold(late[0], "promise", today - timedelta(days=6), until=today + timedelta(days=8),
               actor="debtor")
    place_hold(late[1], "promise", today - timedelta(days=20), until=today - timedelta(days=3),
               actor="debtor")
    english = customers[0].language == "en"  # the debtors write in their own language
    if len(late) > 2:
        place_hold(late[2], "dispute", today - timedelta(days=10), actor="debtor",
                   reason="Short delivery: 2 crates missing" if english
                   else "Quantité livrée inférieure à la commande")
        record_event(late[2].customer_id, "message", actor="debtor", invoice_id=late[2].id,
                     text="Two crates were missing from the delivery of the 12th." if english
                     else "Il manque 3 cartons sur la livraison du 12.")
    if len(customers) > 6:
        _plans(today, customers, "Cash flow is tight this quarter" if english
               else "Trésorerie tendue ce trimestre")
    return to_come


def _plans(today, customers, reason):
    """One plan approved at once (within the policy) and one waiting for the accountant."""
    for customer, count in ((customers[5], 3), (customers[6], 9)):
        invoices = [i for i in customer.invoices if i.status == "open"
                    and not db.session.query(Hold).filter_by(invoice_id=i.id,
                                                             released_at=None).count()]
        if count <= 6:  # keep the first one within the policy's total, so it is approved at once
            invoices = [i for i in invoices if i.balance_cents <= 300_000][:2]
        if not invoices:
            continue
        proposal = propose(customer, invoices, count, today + timedelta(days=5), today)
        request_plan(customer, invoices, proposal, reason, today,
                     accepted_ip="203.0.113.7", accepted_user_agent="demo")


def _at(day, hour=8, minute=30):
    """`day` at that time in the creditor's zone, as an aware UTC timestamp."""
    return datetime.combine(day, time(hour, minute), clock.zone()).astimezone(timezone.utc)


def _pay(day, payments):
    """The transfers received on `day` ([(creditor id, invoice id)]), each paying its invoice."""
    for creditor_id, invoice_id in payments:
        with tenancy.scope(creditor_id):
            invoice = db.session.get(Invoice, invoice_id)
            if invoice.status == "open" and invoice.balance_cents > 0:
                record_payment(customer=invoice.customer, source="manual",
                               external_id=f"demo-transfer-{invoice.number}",
                               amount_cents=invoice.balance_cents, received_on=day,
                               invoices=[invoice])
            db.session.commit()


def _offer_discount(creditor_id):
    """Atelier Martin grants 2 % to invoices paid by their due date: the heads-ups and the
    portal show the discounted amount and its last day."""
    with tenancy.scope(creditor_id):
        document = settings.editable()
        for policy in document["policies"]:
            if policy["name"] == "default":
                policy.update(discount_percent="2", discount_days=0)
        settings.save(document, author="demo", note="escompte de 2 % avant l'échéance")
        db.session.commit()


def _hand_over_one(today, customers):
    """The first debtor whose formal notice went unanswered past its deadline is handed over
    for an injonction de payer: its status, the dossier and the closed reminders show."""
    from .handover import eligible, hand_over
    for customer in customers[1:]:
        if eligible(customer, today).ok:
            hand_over(customer, today, DEMO_USER, "injonction")
            db.session.commit()
            return customer
    return None


def _restamp(since, day):
    """What a past day's run wrote carries that day's date, as if it had run then (the demo
    builds 200 days of history in a minute; the timeline should not say "all today")."""
    stamp = _at(day)
    for table, column in ((Event.__table__, "at"), (SentMessage.__table__, "sent_at"),
                          (Task.__table__, "created_at")):
        col = table.c[column]
        db.session.execute(table.update().where(col >= since).values({column: stamp}))
    reminders = Reminder.__table__
    db.session.execute(reminders.update().where(reminders.c.sent_at >= since)
                       .values(sent_at=stamp, claimed_at=stamp))
    db.session.commit()


def _date_history_events():
    """The payments, promises and disputes the demo made up carry their own dates."""
    for event in db.session.query(Event).all():
        details = event.details or {}
        if event.kind == "payment_recorded" and details.get("external_id", "").startswith(
                "demo-transfer-"):
            payment = db.session.query(Payment).filter_by(
                source="manual", external_id=details["external_id"]).one()
            event.at = _at(payment.received_on, 10, 12)
        elif event.kind.startswith("hold_") and details.get("starts_on"):
            event.at = _at(date.fromisoformat(details["starts_on"]), 14, 5)
        elif event.kind == "invoice_imported" and event.invoice_id:
            # Imported from the books the day it was issued, not the minute the demo was made.
            invoice = db.session.get(Invoice, event.invoice_id)
            event.at = _at(invoice.issue_date, 7, 45)
    db.session.commit()


def build_demo(app, port=5000):
    """Recreate the SQLite demo database; return (portal link, outbox folder, report lines)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        raise SystemExit("flask demo only builds a SQLite database; unset DATABASE_URL "
                         "(it would overwrite your data).")
    db.session.remove()
    db.engine.dispose()
    path = db.engine.url.database
    if path and os.path.exists(path):
        os.remove(path)
    upgrade()
    today = demo_day(clock.today())
    rng = random.Random(42)
    exporter = creditor_from_config(app.config)
    for key, value in EXPORTER.items():
        setattr(exporter, key, value)
    exporter.logo, exporter.logo_type = _logo("LE", EXPORTER["colour"]), "image/png"
    db.session.add(exporter)
    db.session.commit()
    ledgers = []  # (creditor id, its customers, its invoice rows)
    for creditor_id, rows in ((tenancy.working_id(), _rows(today, rng)),
                              (exporter.id, _export_rows(today, rng))):
        with tenancy.scope(creditor_id):
            import_rows(rows)
            db.session.commit()
            ledgers.append((creditor_id, db.session.query(Customer).order_by(Customer.id).all()))
    customers = ledgers[0][1]
    _offer_discount(ledgers[0][0])
    # Atelier Martin sends the SMS of level 2 too, into a folder (an "outbox" provider).
    db.session.execute(Creditor.__table__.update().where(Creditor.id == ledgers[0][0])
                       .values(sms_provider="outbox", sms_sender="AtelierM"))
    outbox = app.config.get("MAIL_OUTBOX_DIR") or os.path.join(app.instance_path, "outbox")
    scratch = tempfile.mkdtemp(prefix="relance-demo-history-")
    app.config["MAIL_OUTBOX_DIR"] = app.config["SMS_OUTBOX_DIR"] = scratch
    app.config["PORTAL_BASE_URL"] = f"http://127.0.0.1:{port}"
    calendar = calendar_for("FR")
    start = today - timedelta(days=200)
    to_come = {}  # day -> [(creditor id, invoice id)]: payments recorded on their day
    for creditor_id, its_customers in ledgers:
        with tenancy.scope(creditor_id):
            for paid_on, invoice_id in _history(today, rng, its_customers):
                to_come.setdefault(paid_on, []).append((creditor_id, invoice_id))
            db.session.commit()
    for paid_on in sorted(d for d in to_come if d < start):  # before the history's first day
        _pay(paid_on, to_come.pop(paid_on))
    _date_history_events()
    # The settings in force all along: their revision is dated before the history.
    db.session.execute(SettingsRevision.__table__.update().values(
        created_at=_at(start - timedelta(days=1))))
    db.session.commit()
    day = start
    while day < today:
        mark = utcnow()
        _pay(day, to_come.pop(day, []))
        if calendar.is_business_day(day):
            for creditor_id, _ in ledgers:
                with tenancy.scope(creditor_id), clock.pin_instant(_at(day, 10)):
                    run(day)
        _restamp(mark, day)
        day += timedelta(days=1)
    with tenancy.scope(ledgers[0][0]):
        _hand_over_one(today, customers)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(outbox, exist_ok=True)
    for old in glob.glob(os.path.join(outbox, "*.eml")) + glob.glob(
            os.path.join(outbox, "sms", "*.txt")):
        os.remove(old)
    app.config["MAIL_OUTBOX_DIR"] = outbox
    app.config["SMS_OUTBOX_DIR"] = os.path.join(outbox, "sms")
    lines = []
    for creditor_id, _ in ledgers:
        with tenancy.scope(creditor_id):
            lines.append(f"== {db.session.get(Creditor, creditor_id).name}")
            # On a day off the demo stands on the last business day: at 10:00 that day, so
            # that its SMS go out as they would have then (not wait for Monday's hours).
            with clock.pin_instant(_at(today, 10)) if today != clock.today() else nullcontext():
                lines.extend(run(today).lines())
    create_user(DEMO_USER, DEMO_PASSWORD, "admin",
                creditors=db.session.query(Creditor).order_by(Creditor.id).all())
    db.session.commit()
    link = portal_url(customers[0])
    return link, outbox, lines
