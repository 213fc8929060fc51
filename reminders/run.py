"""Act: the scheduled run. Plan what is due, claim it, group it per debtor, render, send, record.

Guarantees (tested in tests/integration/test_run_*.py):
- idempotent: a reminder is one row per (invoice, cycle, level) and is sent once;
- an SMTP outage releases what was not sent (it stays due) and raises DeliveryError;
- a crash leaves claimed rows that the next run takes back, so at most the messages in flight,
  one per SMTP connection (MAIL_CONNECTIONS), are sent twice (with the same Message-ID);
- several runs at once share the work: claims use FOR UPDATE SKIP LOCKED on PostgreSQL;
- every creditor is run in turn (`run_creditors`), each in its own scope (portal.tenancy), on
  its own "today", with its own settings, sender and relay: one creditor's failing relay stops
  that creditor's sends only, and the run names it at the end.
"""
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock, tenancy
from portal.extensions import db
from portal import settings as relance_settings
from portal.models import Customer, Reminder
from portal.settings import CHANNELS as CHANNEL_ORDER
from portal.payments.gateways import gateway_for
from portal.instalments import settle_plans
from portal.sms import queue as sms_queue

from . import claims, records
from .collect import collect_instalments
from .deliver import active_holds, deliver_group, deliver_instalments, not_yet_due
from .scan import (Due, book, clear_cycles, due_instalment_reminders, due_reminders,
                   due_reminders_of)
from .profiles import refresh_profiles
from .senders import SenderPool, Serial
from .post import send_letters
from .sms import send_due as send_due_sms
from .transport import DeliveryError, SmtpTransport, transport_for

INSERT_CHUNK = 1000
ANALYZE_AFTER = 10_000  # reminders planned in one run


@dataclass
class RunReport:
    as_of: object
    dry_run: bool = False
    planned: int = 0
    messages: int = 0
    by_level: Counter = field(default_factory=Counter)  # (level, channel) -> count
    skipped: int = 0  # planned rows dropped at send time (paid or held meanwhile)
    rejected: int = 0  # messages the mail server refused for good (bad address)
    collected: int = 0  # instalments debited from a SEPA mandate
    to_review: int = 0  # planned but waiting for the accountant (review before sending)
    unwritten: list = field(default_factory=list)  # (debtor, why) a template failed on
    held_back: list = field(default_factory=list)  # their reminder ids, released at the end
    sms: object = None  # reminders.sms.SmsReport: the SMS sent at the end of the run
    post: object = None  # reminders.post.PostReport: registered letters handed over

    def lines(self):
        verb = "would send" if self.dry_run else "sent"
        yield f"Reminder run for {self.as_of.isoformat()}: {self.planned} reminder(s) due."
        for (level, channel), count in sorted(self.by_level.items()):
            what = verb if "mail" in channel else "queued" if channel in ("sms", "post") \
                else "queued for the accountant"
            yield f"  level {level} {channel}: {count} {what}"
        if self.sms is not None:
            yield from self.sms.lines()
        if self.post is not None:
            yield from self.post.lines()
        if self.to_review:
            yield (f"  {self.to_review} reminder(s) wait for the accountant's review "
                   "(back office, Preview): released ones go out at the next run")
        if self.collected:
            yield f"  {self.collected} instalment(s) debited by SEPA Direct Debit"
        if self.rejected:
            yield (f"  {self.rejected} e-mail(s) refused by the mail server: check those "
                   "addresses (each debtor's timeline has the server's answer)")
        if self.unwritten:
            yield (f"  {len(self.unwritten)} message(s) could not be written: a template of the "
                   "settings fails on these debtors' facts; fix it (back office, Réglages) and "
                   "run again: their reminders stay due")
            for name, why in self.unwritten[:20]:
                yield f"    {name}: {why}"
        if self.skipped:
            yield f"  {self.skipped} reminder(s) dropped: paid or put on hold since planned"
        if not self.by_level:
            yield f"  nothing {verb}"


TARGETS = {"invoice": ["invoice_id", "cycle", "level"], "instalment": ["instalment_id", "level"]}


def _insert_ignore(connection, rows, target):
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = module.insert(Reminder).on_conflict_do_nothing(index_elements=TARGETS[target])
    connection.execute(statement, rows)
    connection.commit()


def _all_due(as_of, progress=None):
    yield from due_reminders(as_of, progress)
    yield from due_instalment_reminders(as_of)


def _all_due_of(books, progress=None, late=None):
    """(creditor id, Due) of every reminder due: the invoices of every book in one scan, then
    each creditor's instalments."""
    yield from due_reminders_of(books, progress, late)
    for creditor_id, mine in books.items():
        with tenancy.scope(creditor_id):
            for due in due_instalment_reminders(mine.as_of):
                yield creditor_id, due


def plan(as_of, progress=None, books=None):
    """Insert a pending Reminder row for every reminder due; return {creditor id: how many}.
    Due on `as_of` for the creditor this context works for, or, with `books` ({creditor id:
    Book}), on each creditor's own date, all creditors' invoices in one scan.

    The scan streams on the session's connection; the rows are written in chunks through a
    second connection, each chunk committed, so that concurrent runs on SQLite never need to
    upgrade a read snapshot to a write (and a crash keeps what was planned: it is only "due")."""
    if books is None:
        mine = book(as_of)
        books = {mine.creditor_id: mine}
    # In "review before sending" mode the accountant releases each reminder first.
    states = {}
    for creditor_id in books:
        with tenancy.scope(creditor_id):
            states[creditor_id] = ("review" if relance_settings.review_before_sending()
                                   else "pending")
    batches, counts, count, late = {"invoice": [], "instalment": []}, Counter(), 0, set()
    with db.engine.connect() as writer:
        for creditor_id, due in _all_due_of(books, progress, late):
            target = "instalment" if due.instalment_id else "invoice"
            batch = batches[target]
            batch.append(dict(customer_id=due.customer_id, invoice_id=due.invoice_id,
                              instalment_id=due.instalment_id, cycle=due.cycle, level=due.level,
                              reason=due.reason, channel="email", state=states[creditor_id],
                              scheduled_for=books[creditor_id].as_of))
            counts[creditor_id] += 1
            if len(batch) >= INSERT_CHUNK:
                _insert_ignore(writer, batch, target)
                count += len(batch)
                batch.clear()
        for target, batch in batches.items():
            if batch:
                _insert_ignore(writer, batch, target)
                count += len(batch)
        if count >= ANALYZE_AFTER and writer.dialect.name == "postgresql":
            # Fresh statistics before sending: with a table that just grew from a few rows to
            # many, PostgreSQL would otherwise plan each per-message UPDATE as a full scan.
            writer.exec_driver_sql("ANALYZE reminder")
            writer.commit()
    db.session.commit()
    clear_cycles(books, late)
    return counts


def preview(as_of, progress=None):
    """What a run on `as_of` would send, grouped per debtor, without writing anything:
    {customer_id: [Due, ...]}, including reminders left pending by an earlier run."""
    groups = defaultdict(list)
    for due in _all_due(as_of, progress):
        groups[due.customer_id].append(due)
    pending = db.session.execute(
        select(Reminder.customer_id, Reminder.invoice_id, Reminder.cycle, Reminder.level,
               Reminder.reason, Reminder.scheduled_for, Reminder.instalment_id)
        .where(Reminder.state.in_(("pending", "sending", "review")),
               Reminder.scheduled_for <= as_of))
    for row in pending:
        key = (row.invoice_id, row.instalment_id)
        if all((d.invoice_id, d.instalment_id) != key for d in groups[row.customer_id]):
            groups[row.customer_id].append(Due(*row))
    return {k: v for k, v in groups.items() if v}


def channels_by_customer(groups):
    """{customer id: the channels its message would use}, read from each due reminder's level
    in the customer's policy (instalment reminders are e-mails)."""
    settings = relance_settings.current()
    profiles = {row.id: row for row in db.session.execute(
        select(Customer.id, Customer.tier, Customer.policy, Customer.phone,
               Customer.sms_opt_out_at))} if groups else {}
    sms_parts = relance_settings.outside_parts().sms
    found = {}
    for customer_id, dues in groups.items():
        profile = profiles[customer_id]
        policy = settings.policy_for(profile.tier, profile.policy)
        channels = set()
        for due in dues:
            level = None if due.instalment_id else policy.level_for(due.level)
            channels.update(level.channels if level else ("email",))
        if "sms" in channels and sms_queue.why_not(profile, sms_parts)[0] is None:
            channels.discard("sms")  # no provider, no mobile, or the debtor said STOP
            if not channels:  # an SMS-only level then sends the e-mail (reminders.deliver)
                channels.add("email")
        found[customer_id] = sorted(channels, key=CHANNEL_ORDER.index)
    return found


def run(as_of, dry_run=False, progress=None, owner=None):
    """The whole run for `as_of`. Raises DeliveryError (after releasing unsent claims) when the
    mail server fails; what was sent before stays recorded."""
    report = RunReport(as_of=as_of, dry_run=dry_run)
    if dry_run:
        groups = preview(as_of, progress)
        channels = channels_by_customer(groups)
        for customer_id, dues in groups.items():
            report.planned += len(dues)
            level = max(d.level for d in dues)
            for channel in channels[customer_id]:
                report.by_level[(level, channel)] += 1
            report.messages += "email" in channels[customer_id]
        return report
    owner = owner or claims.new_owner()
    _before_planning(as_of, owner, report)
    report.planned = sum(plan(as_of, progress).values())
    _send(as_of, owner, report)
    return report


def _before_planning(as_of, owner, report):
    """Take back what dead runs claimed, refresh habits, settle plans, debit instalments."""
    claims.reclaim_stale(owner)
    refresh_profiles()
    gateway = gateway_for()
    gateway.on_run(as_of)  # the demo gateway clears its pending SEPA debits here
    settle_plans(as_of)
    db.session.commit()
    report.collected = collect_instalments(as_of, gateway)


def _send(as_of, owner, report):
    report.to_review = db.session.scalar(
        select(func.count(Reminder.id)).where(Reminder.state == "review")) or 0
    send_claimed(as_of, owner, report)
    report.sms = send_due_sms(owner)
    report.post = send_letters(owner)


@dataclass
class CreditorRun:
    """One creditor's part of a run: its report, or why its sends stopped and what stays due."""
    slug: str
    name: str
    report: RunReport | None = None
    failure: str | None = None
    still_due: int = 0
    log: object = None  # its portal.models.RunLog (not for a dry run)

    @property
    def ok(self):
        return self.failure is None and not (self.report and self.report.unwritten) \
            and not (self.report and self.report.sms and self.report.sms.failure) \
            and not (self.report and self.report.post and self.report.post.failure)


def run_creditors(as_of=None, dry_run=False, progress=None, only=None):
    """The run for every creditor (or the ids in `only`), one after the other, each on its own
    date (`as_of`, else today in its time zone). A creditor whose relay fails is recorded with
    what stays due and the others go on. Each creditor's part is logged (reminders.records):
    "running" before anything goes out, then what it did; an unexpected error closes every
    open part as failed before it propagates."""
    ids = only or tenancy.creditor_ids()
    results, books, owner = {}, {}, claims.new_owner()
    try:
        for creditor_id in ids:  # each creditor's date, settings and preparations
            with tenancy.scope(creditor_id):
                relance_settings.forget()  # read again: a long-lived process may run every day
                facts = relance_settings.creditor()
                day = as_of or clock.today()
                result = results[creditor_id] = CreditorRun(facts.slug, facts.name)
                if dry_run:
                    result.report = run(day, dry_run=True, progress=progress)
                    continue
                result.log = records.begin(creditor_id, day, owner)
                result.report = RunReport(as_of=day)
                _before_planning(day, owner, result.report)
                books[creditor_id] = book(day)
        if dry_run:
            return list(results.values())
        planned = plan(None, progress, books=books)  # one scan for all of them
        for creditor_id, result in results.items():
            with tenancy.scope(creditor_id):
                result.report.planned = planned[creditor_id]
                _send_one(owner, result)
                records.end(result.log, result)
    except BaseException as exc:
        records.crashed([r.log for r in results.values() if r.log is not None], exc)
        raise
    return list(results.values())


def _send_one(owner, result):
    """One creditor's sends; a failing relay is recorded on `result` (the others go on)."""
    try:
        _send(result.report.as_of, owner, result.report)
    except DeliveryError as exc:
        result.failure = str(exc)
        result.still_due = db.session.scalar(select(func.count(Reminder.id)).where(
            Reminder.state == "pending")) or 0


def send_claimed(as_of, owner, report):
    """Claim batches of debtors and send their messages over MAIL_CONNECTIONS connections at
    once (reminders.senders); each batch is fully recorded before the next is claimed."""
    transport = transport_for()
    batch_size = current_app.config["MAIL_BATCH_SIZE"]
    try:
        with _senders(transport) as sender:
            while True:
                customer_ids = claims.claim_batch(as_of, owner, batch_size)
                if not customer_ids:
                    break
                groups = claims.load_claimed(owner)
                holds = active_holds([r.invoice_id for g in groups.values()
                                      for r in g.invoices], as_of)
                riders = not_yet_due([c.id for c, g in groups.items() if g.invoices], as_of)
                for customer, claimed in groups.items():
                    if claimed.invoices:
                        deliver_group(sender, customer, claimed.invoices, as_of, report, holds,
                                      riders)
                    if claimed.instalments:
                        deliver_instalments(sender, customer, claimed.instalments, as_of,
                                            report)
                sender.drain()
        if report.held_back:  # due again at the next run, once the template is fixed
            db.session.execute(update(Reminder).where(Reminder.id.in_(report.held_back))
                               .values(state="pending", claimed_by=None, claimed_at=None))
            db.session.commit()
    except DeliveryError:
        claims.release(owner)
        raise
    except BaseException:
        db.session.rollback()
        raise


@contextmanager
def _senders(transport):
    if isinstance(transport, SmtpTransport):
        with SenderPool(transport, current_app.config["MAIL_CONNECTIONS"],
                        after_records=db.session.commit) as pool:
            yield pool
    else:
        with transport.connect() as connection:
            yield Serial(connection, after_records=db.session.commit)
