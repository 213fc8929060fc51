"""`flask reminders run` and `flask reminders preview`."""
import sys
from contextlib import contextmanager
from datetime import date

import click
from flask.cli import AppGroup

from portal import clock
from portal.extensions import db
from portal.models import Customer, Invoice

from .plan import open_invoice_count
from .run import channels_by_customer
from .run import preview as preview_run
from .run import run as run_reminders
from .transport import DeliveryError

group = AppGroup("reminders", help="The scheduled reminder run.")


def _date(ctx, param, value):
    if value is None:
        return clock.today()
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
def run_command(as_of, dry_run):
    """Send every reminder due on DATE, one e-mail per debtor."""
    with _progress("Scheduling") as progress:
        try:
            report = run_reminders(as_of, dry_run=dry_run, progress=progress)
        except DeliveryError as exc:
            click.echo(f"Error: {exc}.\nNothing is lost: the reminders not sent stay due and the "
                       "next run sends them. Check MAIL_SERVER / MAIL_PORT and run "
                       "`flask reminders run` again.", err=True)
            sys.exit(1)
    for line in report.lines():
        click.echo(line)
    if report.unwritten:
        sys.exit(1)


@group.command("preview")
@click.option("--date", "as_of", callback=_date, help="Preview as of this date (default: today).")
def preview_command(as_of):
    """List what a run on DATE would send, per debtor, without sending anything."""
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
