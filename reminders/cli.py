"""`flask reminders run`, `preview`, `sms` and `status`: every creditor in turn (each on its
own "today"), or the one named with --creditor."""
import sys
from contextlib import contextmanager
from datetime import date

import click
from flask.cli import AppGroup

from portal import clock, run_log, tenancy
from portal.cli import creditor_option, find_creditors
from portal.extensions import db
from portal.models import Customer, Invoice

from . import records
from reminders.scan import open_invoice_count
from .run import channels_by_customer, run_creditors
from .run import preview as preview_run

group = AppGroup("reminders", help="The scheduled reminder run.")


def _date(ctx, param, value):
    if value is None:
        return None  # each creditor's own today
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write YYYY-MM-DD") from None


@contextmanager
def _progress(label):
    """A progress bar over the open invoices on a terminal; nothing when piped (cron)."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=open_invoice_count(), label=label, file=sys.stderr) as bar:
        yield bar.update


@group.command("run")
@click.option("--date", "as_of", callback=_date, help="Run as of this date (default: today).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and record nothing.")
@creditor_option
def run_command(as_of, dry_run, creditor_slug):
    """Send every reminder due on DATE, one e-mail per debtor, for every creditor (or one)."""
    chosen = find_creditors(creditor_slug, every=True)
    with _progress("Scheduling") as progress:
        results = run_creditors(as_of, dry_run=dry_run, progress=progress,
                                only=[c.id for c in chosen] if creditor_slug else None)
    failed = [r for r in results if not r.ok]
    for result in results:
        if len(results) > 1:
            click.echo(f"== {result.name} ({result.slug})")
        for line in result.report.lines() if result.report else ():
            click.echo(line)
        if result.failure:
            click.echo(f"Error for {result.name} ({result.slug}): {result.failure}.\n"
                       f"Nothing is lost: its {result.still_due} reminder(s) not sent stay due "
                       "and the next run sends them. Check its mail relay (MAIL_SERVER / "
                       f"MAIL_PORT, or `flask creditors set {result.slug} --mail-server ...`) "
                       "and run `flask reminders run` again.", err=True)
    if failed:
        if len(results) > 1:
            click.echo("Not finished for: " + ", ".join(
                f"{r.slug} ({_why(r)})" for r in failed), err=True)
        sys.exit(1)


def _why(result):
    if result.failure:
        return "mail relay failed"
    if result.report.unwritten:
        return "messages not written"
    if result.report.post and result.report.post.failure:
        return "postal provider failed"
    return "SMS provider failed"


@group.command("sms")
@creditor_option
def sms_command(creditor_slug):
    """Send the queued SMS whose hour has come (quiet hours: 08:00-20:00, not on Sundays or
    public holidays). The run does it too; run this hourly to send them on the hour."""
    from .claims import new_owner
    from .sms import send_due
    failed, owner = False, new_owner()
    chosen = find_creditors(creditor_slug, every=True)
    for creditor in chosen:
        with tenancy.scope(creditor.id):
            log = records.begin(creditor.id, clock.today(), owner, kind="sms")
            try:
                report = send_due(owner)
            except BaseException as exc:
                records.crashed([log], exc)
                raise
            records.end_sms(log, report)
            lines = list(report.lines()) or ["  SMS: nothing to send"]
            click.echo(f"{creditor.name} ({creditor.slug}):\n" + "\n".join(lines))
            failed = failed or bool(report.failure)
    if failed:
        sys.exit(1)


@group.command("status")
@click.option("--limit", default=10, show_default=True, help="How many runs to list.")
@click.option("--alert", is_flag=True,
              help="E-mail the accountants if a business day went by without a successful run "
                   "(once per incident): for a cron line.")
@creditor_option
def status_command(limit, alert, creditor_slug):
    """The last runs of every creditor (or one): date, start, duration, outcome, what was sent
    per channel and level, failures. Exits 1 when a creditor's run is late."""
    from .alerts import check_missing, why_not
    from .status import status_lines
    late = False
    for creditor in find_creditors(creditor_slug, every=True):
        with tenancy.scope(creditor.id):
            click.echo(f"== {creditor.name} ({creditor.slug})")
            for line in status_lines(creditor, limit):
                click.echo(line)
            health = run_log.health(creditor)
            late = late or health.late
            if alert and health.late:
                sent = check_missing(creditor)
                click.echo(f"  alert e-mailed to {sent.recipients}" if sent else
                           f"  alert: {why_not(creditor, health)}")
    if late:
        sys.exit(1)


@group.command("preview")
@click.option("--date", "as_of", callback=_date, help="Preview as of this date (default: today).")
@creditor_option
def preview_command(as_of, creditor_slug):
    """List what a run on DATE would send, per debtor, without sending anything."""
    chosen = find_creditors(creditor_slug, every=True)
    for creditor in chosen:
        with tenancy.scope(creditor.id):
            if len(chosen) > 1:
                click.echo(f"== {creditor.name} ({creditor.slug})")
            _preview_one(as_of or clock.today())


def _preview_one(as_of):
    with _progress("Scheduling") as progress:
        groups = preview_run(as_of, progress)
    click.echo(f"Preview for {as_of.isoformat()}: {len(groups)} e-mail(s), "
               f"{sum(len(v) for v in groups.values())} invoice(s).")
    names = dict(db.session.query(Customer.id, Customer.name).filter(Customer.id.in_(groups)))
    channels = channels_by_customer(groups)
    invoice_ids = [d.invoice_id for dues in groups.values() for d in dues]
    numbers = dict(db.session.query(Invoice.id, Invoice.number).filter(Invoice.id.in_(invoice_ids)))
    for customer_id in sorted(groups, key=lambda c: names.get(c, "")):
        dues = groups[customer_id]
        click.echo(f"- {names.get(customer_id)}: level {max(d.level for d in dues)} "
                   f"({' + '.join(channels[customer_id])})")
        for d in sorted(dues, key=lambda d: numbers.get(d.invoice_id, "")):
            reason = f" ({d.reason})" if d.reason else ""
            click.echo(f"    {numbers.get(d.invoice_id)}  level {d.level}{reason}")


def init_app(app):
    app.cli.add_command(group)
