"""Flask commands: init-db, demo, invoices import, payments import, users."""
import functools
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import inspect

from .extensions import db
from .i18n import plain_amount
from .imports import import_csv
from .transfers import import_transfers
from .users import ROLES, UserError, create_user, deactivate, find_user, set_password

invoices = AppGroup("invoices", help="Invoices in the ledger.")
payments = AppGroup("payments", help="Payments received outside the portal.")
users = AppGroup("users", help="Back-office accounts.")


def needs_schema(command):
    """Stop with the fix, not a traceback, when the database has no tables yet."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        if not inspect(db.engine).has_table("user_account"):
            click.echo(f"Error: the database {db.engine.url.render_as_string(hide_password=True)}"
                       " has no Relance tables yet; run `flask init-db` first.", err=True)
            sys.exit(1)
        return command(*args, **kwargs)
    return wrapper


def _user_or_exit(email):
    user = find_user(email)
    if user is None:
        click.echo(f"Error: no account {email}; see `flask users create`.", err=True)
        sys.exit(1)
    return user


@users.command("set-password")
@click.argument("email")
@click.password_option(help="Asked for (twice) when not given.")
@needs_schema
def set_password_command(email, password):
    """Give an account a new password; every session it had ends."""
    user = _user_or_exit(email)
    try:
        set_password(user, password)
    except UserError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc}.", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"New password set for {user.email}; its sessions are closed.")


@users.command("deactivate")
@click.argument("email")
@needs_schema
def deactivate_command(email):
    """Close an account: no more logins, and every open session ends at once."""
    user = _user_or_exit(email)
    deactivate(user)
    db.session.commit()
    click.echo(f"{user.email} deactivated; its sessions are closed.")


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="accountant", show_default=True)
@click.password_option(help="Asked for (twice) when not given.")
@needs_schema
def create_user_command(email, role, password):
    """Create a back-office account."""
    try:
        user = create_user(email, password, role)
    except UserError as exc:
        db.session.rollback()
        click.echo(f"Error: {exc}.", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role}).")


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database schema (Alembic migrations)."""
    upgrade()
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


def _stop_on_errors(path, errors, verb):
    """Whole file or nothing: list every bad row with its line, write nothing, exit 1."""
    if not errors:
        return
    db.session.rollback()
    click.echo(f"{path}: {len(errors)} error(s); nothing was {verb}.", err=True)
    for line, field, message in errors:
        click.echo(f"  line {line}: {field}: {message}", err=True)
    click.echo("Fix these rows and import the whole file again.", err=True)
    sys.exit(1)


@invoices.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@needs_schema
def import_command(path, dry_run):
    """Import invoices from a CSV file: every row valid, or nothing written."""
    with open(path, "rb") as f:
        data = f.read()
    report = import_csv(data, dry_run=dry_run)
    _stop_on_errors(path, report.errors, "imported")
    if dry_run:
        db.session.rollback()
        click.echo(f"{path}: {report.rows} row(s) valid (dry run, nothing written).")
        return
    db.session.commit()
    click.echo(
        f"{path}: {report.rows} row(s) imported: {report.invoices_created} invoice(s) created, "
        f"{report.invoices_updated} updated, {report.invoices_unchanged} unchanged; "
        f"{report.customers_created} customer(s) created, {report.customers_updated} updated.")


@payments.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@needs_schema
def import_payments_command(path, dry_run):
    """Record bank transfers from a CSV file (invoice_number, amount, date, external_id)."""
    with open(path, "rb") as f:
        report = import_transfers(f.read(), dry_run=dry_run)
    _stop_on_errors(path, report.errors, "recorded")
    if dry_run:
        db.session.rollback()
        click.echo(f"{path}: {report.rows} transfer(s) valid (dry run, nothing written).")
        return
    db.session.commit()
    click.echo(f"{path}: {report.recorded} transfer(s) recorded, {report.replayed} already known;"
               f" {plain_amount(report.credit_cents)} EUR beyond the invoices kept as credit.")


@click.command("demo")
@click.option("--serve", is_flag=True, help="Serve the portal afterwards on 127.0.0.1:5000.")
@click.option("--port", default=5000, show_default=True)
@with_appcontext
def demo_command(serve, port):
    """Build a demo database, run today's reminders into an outbox folder, print a portal link."""
    from .demo import DEMO_PASSWORD, DEMO_USER, build_demo

    current_app.config["PAYMENTS_DEMO"] = True  # the demo's checkout page: no money moves
    link, outbox, report_lines = build_demo(current_app, port=port)
    for line in report_lines:
        click.echo(line)
    click.echo(f"\nE-mails written to {outbox}")
    click.echo(f"\nOpen the debtor portal: {link}")
    click.echo(f"Back office: http://127.0.0.1:{port}/admin/ (log in as {DEMO_USER}, "
               f"password {DEMO_PASSWORD})\n")
    if serve:
        from werkzeug.serving import run_simple
        click.echo("Serving on http://127.0.0.1:%d (Ctrl+C to stop)" % port)
        run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)



settings_group = AppGroup("settings", help="The relance settings: policies, templates, legal.")


@settings_group.command("export")
@needs_schema
def settings_export_command():
    """Print the creditor's settings as TOML (`flask settings export > relance.toml`)."""
    from .settings.file import export_toml
    click.echo(export_toml(), nl=False)


@settings_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the whole file and say what would change.")
@needs_schema
def settings_import_command(path, dry_run):
    """Check a settings file whole, then apply it as one change of the settings history."""
    from .settings import SettingsInvalid
    from .settings.file import import_toml
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        click.echo(f"Error: {path} is not UTF-8 text; save it as UTF-8.", err=True)
        sys.exit(1)
    try:
        lines = import_toml(text, author="cli", dry_run=dry_run)
    except SettingsInvalid as invalid:
        db.session.rollback()
        click.echo(f"{path}: {len(invalid.errors)} error(s); nothing was changed.", err=True)
        for where, message in invalid.errors:
            click.echo(f"  {where}: {message}", err=True)
        click.echo("Fix these and import the file again (--dry-run checks without applying).",
                   err=True)
        sys.exit(1)
    if not lines:
        click.echo(f"{path}: the settings in force already say this; nothing to change.")
        return
    verb = "would change" if dry_run else "changed"
    click.echo(f"{path}: {len(lines)} setting(s) {verb}:")
    for line in lines:
        click.echo(f"  {line}")
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was changed.")
        return
    db.session.commit()
    click.echo("Applied as a new revision of the settings history (back office: Réglages).")


def init_app(app):
    app.cli.add_command(init_db_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(invoices)
    app.cli.add_command(payments)
    app.cli.add_command(users)
    app.cli.add_command(settings_group)
