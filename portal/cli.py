"""Flask commands: init-db, demo, creditors, invoices import, payments import, users, settings,
api-tokens, debtors (export, retention sweep). With one creditor, `--creditor` may be left out
everywhere; with several, commands that write name theirs (the run and the preview go through
every creditor unless told)."""
import functools
import os
import re
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import inspect, select

from . import tenancy
from .extensions import db
from .i18n import plain_amount
from .imports import import_books
from .transfers import import_transfers
from .models import Creditor
from .users import (ROLES, UserError, create_user, deactivate, find_user, grant,
                    set_password)

creditors = AppGroup("creditors", help="The companies whose receivables are chased.")
api_tokens = AppGroup("api-tokens", help="Bearer tokens of the JSON API, one creditor each.")
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


def _fail(message):
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def creditor_option(command):
    return click.option("--creditor", "creditor_slug", metavar="SLUG",
                        help="The creditor (see `flask creditors list`); may be left out "
                             "when there is only one.")(command)


def find_creditors(slug=None, every=False):
    """The Creditor rows a command works for: the one named, else the only one, else (when
    `every`) all of them; exits with the fix otherwise."""
    rows = db.session.scalars(select(Creditor).order_by(Creditor.id)).all()
    if not rows:
        _fail("there is no creditor yet; run `flask init-db`, then `flask creditors create`.")
    if slug is not None:
        found = [r for r in rows if r.slug == slug]
        if not found:
            _fail(f"no creditor {slug!r}; known: {', '.join(r.slug for r in rows)}.")
        return found
    if len(rows) == 1 or every:
        return rows
    _fail(f"there are {len(rows)} creditors; say which with --creditor "
          f"({', '.join(r.slug for r in rows)}).")


def enter_creditor(slug):
    """Work for this creditor (or the only one) for the rest of the command."""
    row = find_creditors(slug)[0]
    scope = tenancy.scope(row.id)
    scope.__enter__()
    # Back as before when the command ends (a test or the demo runs commands in one process).
    click.get_current_context().call_on_close(lambda: scope.__exit__(None, None, None))
    return row


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
@click.option("--creditor", "creditor_slugs", multiple=True, metavar="SLUG",
              help="A creditor this account may work for (repeatable; may be left out when "
                   "there is only one). An existing account is granted it.")
@click.option("--password", default=None, help="Asked for (twice) when not given.")
@needs_schema
def create_user_command(email, role, creditor_slugs, password):
    """Create a back-office account, or grant an existing one more creditors."""
    rows = [r for slug in creditor_slugs for r in find_creditors(slug)] or find_creditors()
    user = find_user(email)
    try:
        if user is None:
            if password is None:
                password = click.prompt("Password", hide_input=True,
                                        confirmation_prompt=True)
            user = create_user(email, password, role, creditors=rows)
            verb = "Created"
        else:
            for row in rows:
                grant(user, row, role)
            verb = "Granted"
    except UserError as exc:
        db.session.rollback()
        _fail(f"{exc}.")
    db.session.commit()
    click.echo(f"{verb} {user.email}: {role} of {', '.join(r.slug for r in rows)}.")


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
@click.option("--payment-term-days", type=click.IntRange(0, 365), default=30, show_default=True,
              help="FEC: days from the piece's date to its due date, where the file has no "
                   "DateLimitReglmt column.")
@creditor_option
@needs_schema
def import_command(path, dry_run, payment_term_days, creditor_slug):
    """Import invoices from a CSV file or a FEC: every row valid, or nothing written."""
    enter_creditor(creditor_slug)
    with open(path, "rb") as f:
        data = f.read()
    report = import_books(data, payment_term_days, dry_run=dry_run)
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
@creditor_option
@needs_schema
def import_payments_command(path, dry_run, creditor_slug):
    """Record bank transfers from a CSV file (invoice_number, amount, date, external_id) or a
    CAMT.053 bank statement (credits matched to invoices; the others wait in the back office)."""
    from .imports.camt import import_camt, looks_like_camt
    enter_creditor(creditor_slug)
    with open(path, "rb") as f:
        data = f.read()
    if looks_like_camt(data):
        report = import_camt(data, dry_run=dry_run)
        checked = f"{report.credits} credit(s) readable"
        done = (f"{report.credits} credit(s): {report.recorded} matched and recorded, "
                f"{report.replayed} already known, {report.waiting + report.conflicts} waiting "
                "for you in the back office (Bank)"
                + (f", of which {report.conflicts} with a reference already recorded for "
                   "another amount" if report.conflicts else ""))
    else:
        report = import_transfers(data, dry_run=dry_run)
        checked = f"{report.rows} transfer(s) valid"
        done = f"{report.recorded} transfer(s) recorded, {report.replayed} already known"
    _stop_on_errors(path, report.errors, "recorded")
    if dry_run:
        db.session.rollback()
        click.echo(f"{path}: {checked} (dry run, nothing written).")
        return
    db.session.commit()
    click.echo(f"{path}: {done}; {plain_amount(report.credit_cents)} EUR beyond the invoices "
               "kept as credit.")


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
    click.echo(f"\nE-mails written to {outbox}, SMS to {os.path.join(outbox, 'sms')}")
    click.echo(f"\nOpen the debtor portal: {link}")
    click.echo(f"Back office: http://127.0.0.1:{port}/admin/ (log in as {DEMO_USER}, "
               f"password {DEMO_PASSWORD})\n")
    if serve:
        from werkzeug.serving import run_simple
        click.echo("Serving on http://127.0.0.1:%d (Ctrl+C to stop)" % port)
        run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)



settings_group = AppGroup("settings", help="The relance settings: policies, templates, legal.")


@settings_group.command("export")
@creditor_option
@needs_schema
def settings_export_command(creditor_slug):
    """Print the creditor's settings as TOML (`flask settings export > relance.toml`)."""
    enter_creditor(creditor_slug)
    from .settings.file import export_toml
    click.echo(export_toml(), nl=False)


@settings_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the whole file and say what would change.")
@creditor_option
@needs_schema
def settings_import_command(path, dry_run, creditor_slug):
    """Check a settings file whole, then apply it as one change of the settings history."""
    enter_creditor(creditor_slug)
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


SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
# Options of `creditors create` and `creditors set`: (option, column, help).
CREDITOR_FIELDS = [
    ("--name", "name", "Company name, on every e-mail, letter and portal page."),
    ("--email", "email", "Contact e-mail (Reply-To unless --reply-to)."),
    ("--address", "address", "Postal address."),
    ("--siren", "siren", "SIREN number."),
    ("--vat-number", "vat_number", "VAT number."),
    ("--iban", "iban", "IBAN for transfers."),
    ("--bic", "bic", "BIC."),
    ("--phone", "phone", "Phone number."),
    ("--sender", "sender", "From: of its e-mails (default: MAIL_DEFAULT_SENDER)."),
    ("--reply-to", "reply_to", "Reply-To: of its e-mails."),
    ("--timezone", "timezone", "IANA time zone of its \"today\" (default Europe/Paris)."),
    ("--country", "holiday_country", "Country of its public holidays (default FR)."),
    ("--language", "language", "Default language of its debtors (fr or en)."),
    ("--colour", "colour", "Brand colour on the portal, #rrggbb."),
    ("--signature", "signature", "One line under its e-mails instead of the templates' own."),
    ("--logo", "logo", "A PNG or JPEG file shown on its portal pages and letters."),
    ("--mail-server", "mail_server", "Its own SMTP relay (default: MAIL_SERVER)."),
    ("--mail-port", "mail_port", "Port of its relay."),
    ("--mail-username", "mail_username", "Login on its relay."),
    ("--mail-password", "mail_password", "Password on its relay."),
    ("--stripe-secret-key", "stripe_secret_key", "Its Stripe secret key (sk_...)."),
    ("--stripe-webhook-secret", "stripe_webhook_secret",
     "Signing secret of its webhook endpoint /stripe/webhook/SLUG (whsec_...)."),
    ("--sms-provider", "sms_provider", "Its SMS provider: twilio (or outbox: files, for trials)."),
    ("--sms-account", "sms_account", "Its Twilio account SID (AC...)."),
    ("--sms-token", "sms_token", "Its Twilio auth token (also checks Twilio's callbacks)."),
    ("--sms-sender", "sms_sender", "Its SMS sender: a Twilio number (+33...) or a name."),
    ("--post-provider", "post_provider", "Its registered-mail provider: maileva."),
    ("--post-client-id", "post_client_id", "Its Maileva API client id."),
    ("--post-client-secret", "post_client_secret", "Its Maileva API client secret."),
    ("--post-username", "post_username", "Its Maileva user name."),
    ("--post-password", "post_password", "Its Maileva password."),
]


def creditor_fields(command):
    for option, column, text in reversed(CREDITOR_FIELDS):
        kind = (int if column == "mail_port" else
                click.Path(exists=True, dir_okay=False) if column == "logo" else str)
        command = click.option(option, column, type=kind, default=None, help=text)(command)
    return click.option("--mail-tls/--no-mail-tls", "mail_use_tls", default=None,
                        help="STARTTLS on its relay.")(command)


def _apply_fields(row, values):
    """Check and set the given fields; returns the problems (nothing is set when any)."""
    from .settings.file import IDENTITY, identity_errors
    given = {k: v for k, v in values.items() if v is not None}
    options = {column: option for option, column, _ in CREDITOR_FIELDS}
    problems = [f"{options[path.partition('.')[2]]}: {message}" for path, message in
                identity_errors({k: v for k, v in given.items() if k in IDENTITY})]
    for key in ("mail_server", "mail_username", "mail_password",
                "stripe_secret_key", "stripe_webhook_secret", "sms_account", "sms_token",
                "sms_sender", "post_client_id", "post_client_secret", "post_username",
                "post_password"):
        value = given.get(key)
        if value and (len(value) > (20 if key == "sms_sender" else 64 if key == "sms_account"
                                    else 255) or any(ord(c) < 32 for c in value)):
            problems.append(f"{options[key]}: too long or with control characters")
    from .sms.providers import PROVIDERS
    if given.get("sms_provider") not in (None, *PROVIDERS):
        problems.append(f"--sms-provider: one of {', '.join(PROVIDERS)}")
    from .post.tracking import PROVIDERS as POSTAL
    if given.get("post_provider") not in (None, *POSTAL):
        problems.append(f"--post-provider: one of {', '.join(POSTAL)}")
    if given.get("mail_port") is not None and not 0 < given["mail_port"] < 65536:
        problems.append("--mail-port: a port is 1-65535")
    if "logo" in given:
        from .documents import read_logo
        try:
            given["logo"], given["logo_type"] = read_logo(given["logo"])
        except ValueError as exc:
            problems.append(f"--logo: {exc}")
    if not problems:
        for key, value in given.items():
            setattr(row, key, value)
    return problems


@creditors.command("create")
@click.argument("slug")
@creditor_fields
@needs_schema
def create_creditor_command(slug, **values):
    """Add a creditor: SLUG names it in commands and in its webhook URL."""
    from .settings import creditor_from_config
    if not SLUG.match(slug):
        _fail(f"{slug!r} is not a slug: lower-case letters, digits and dashes, e.g. "
              "atelier-martin.")
    if db.session.scalar(select(Creditor.id).where(Creditor.slug == slug)):
        _fail(f"there is already a creditor {slug!r}; change it with `flask creditors set`.")
    if not values.get("name"):
        _fail("give its name with --name.")
    row = creditor_from_config(current_app.config)
    row.slug = slug
    for blank in ("address", "siren", "vat_number", "iban", "bic", "email", "phone", "sender",
                  "reply_to"):
        setattr(row, blank, "")
    problems = _apply_fields(row, values)
    if problems:
        _fail("; ".join(problems) + "; nothing was created.")
    db.session.add(row)
    db.session.commit()
    click.echo(f"Created creditor {slug} ({row.name}). Next: import its invoices with "
               f"`flask invoices import FILE --creditor {slug}` and grant it to people with "
               f"`flask users create EMAIL --creditor {slug}`.")


@creditors.command("set")
@click.argument("slug")
@creditor_fields
@needs_schema
def set_creditor_command(slug, **values):
    """Change a creditor's identity or its own outside parts (relay, Stripe keys)."""
    row = find_creditors(slug)[0]
    problems = _apply_fields(row, values)
    if problems:
        _fail("; ".join(problems) + "; nothing was changed.")
    db.session.commit()
    changed = sorted(k for k, v in values.items() if v is not None)
    click.echo(f"{slug}: {', '.join(changed) or 'nothing'} changed.")


@creditors.command("list")
@needs_schema
def list_creditors_command():
    """Every creditor: slug, name, customers, open invoices, its webhook URL."""
    from .models import Customer, Invoice
    from sqlalchemy import func
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    first = db.session.scalar(select(func.min(Creditor.id)))
    for row in find_creditors(every=True):
        customers = db.session.scalar(select(func.count(Customer.id))
                                      .where(Customer.creditor_id == row.id))
        open_invoices = db.session.scalar(select(func.count(Invoice.id)).where(
            Invoice.creditor_id == row.id, Invoice.status == "open"))
        stripe = "own Stripe account" if row.stripe_secret_key else "no Stripe keys of its own"
        sms = (f"; SMS by {row.sms_provider} (callbacks {base}/sms/twilio/{row.slug}/status, "
               f"replies {base}/sms/twilio/{row.slug}/inbound)" if row.sms_provider else "")
        if row.post_provider or (row.id == first and current_app.config.get("POST_PROVIDER")):
            from .webhooks.post import callback_url
            sms += f"; registered letters by Maileva (callbacks {callback_url(row.slug)})"
        click.echo(f"{row.slug}\t{row.name}\t{customers} customer(s), {open_invoices} open "
                   f"invoice(s)\t{stripe}; webhook {base}/stripe/webhook/{row.slug}{sms}")


@api_tokens.command("create")
@creditor_option
@click.option("--label", default="", help="What it is for (e.g. the accounting tool).")
@needs_schema
def create_token_command(creditor_slug, label):
    """Print a new bearer token of the JSON API for the creditor (shown once)."""
    from .api_tokens import create_token
    row = enter_creditor(creditor_slug)
    token_row, token = create_token(row, label)
    db.session.commit()
    click.echo(token)
    click.echo(f"Token {token_row.prefix}... for {row.slug}: store it now, it is not shown "
               "again. Revoke it with `flask api-tokens revoke "
               f"{token_row.prefix} --creditor {row.slug}`.", err=True)


@api_tokens.command("revoke")
@click.argument("prefix")
@creditor_option
@needs_schema
def revoke_token_command(prefix, creditor_slug):
    """Revoke the creditor's token(s) starting with PREFIX (as `api-tokens list` shows)."""
    from .api_tokens import revoke
    row = enter_creditor(creditor_slug)
    count = revoke(prefix, row)
    if not count:
        _fail(f"{row.slug} has no live token {prefix!r}; see `flask api-tokens list`.")
    db.session.commit()
    click.echo(f"Revoked {count} token(s) {prefix}... of {row.slug}: they answer 401 now.")


@api_tokens.command("list")
@creditor_option
@needs_schema
def list_tokens_command(creditor_slug):
    """The creditor's tokens: prefix, label, made, last used, revoked."""
    from .api_tokens import tokens
    row = enter_creditor(creditor_slug)
    for t in tokens(row):
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live"
        used = f"{t.last_used_at:%Y-%m-%d}" if t.last_used_at else "never used"
        click.echo(f"{t.prefix}...\t{t.label or '-'}\tmade {t.created_at:%Y-%m-%d}\t{used}"
                   f"\t{state}")


debtors = AppGroup("debtors", help="Debtors' personal data: export, retention sweep.")


@debtors.command("erase-expired")
@click.option("--creditor", "creditor_slug", metavar="SLUG",
              help="Only this creditor (default: every creditor).")
@click.option("--dry-run", is_flag=True, help="Say who would be erased; erase nothing.")
@needs_schema
def erase_expired_command(creditor_slug, dry_run):
    """The retention sweep (cron, daily): erase the personal data of every debtor who owes
    nothing and whose last invoice was settled more than [privacy] retention_months ago."""
    from . import clock, settings
    from .privacy import ErasureRefused, due, erase
    from .privacy.rules import candidates
    for row in find_creditors(creditor_slug, every=True):
        verb, count = ("would erase" if dry_run else "erased"), 0
        with tenancy.scope(row.id):
            months, today = settings.current().privacy.retention_months, clock.today()
            found = due(today, months, db.session.scalars(candidates(row.id, today, months)))
            for customer, verdict in found:
                ref = customer.ref
                if not dry_run:
                    try:
                        erase(customer, today, "relance", months)
                    except ErasureRefused:  # a payment or a plan came in since the list
                        db.session.rollback()
                        continue
                    db.session.commit()  # one debtor at a time: no long write lock
                click.echo(f"{row.slug}: {verb} {ref} (last settled "
                           f"{verdict.settled_on.isoformat()}, {months} months)")
                count += 1
        click.echo(f"{row.slug}: {count} debtor(s) {verb} on {today.isoformat()}.")


@debtors.command("export")
@click.argument("ref")
@creditor_option
@click.option("-o", "--output", "path", required=True, type=click.Path(dir_okay=False),
              help="The ZIP file to write.")
@needs_schema
def export_debtor_command(ref, creditor_slug, path):
    """Everything Relance holds about the debtor REF, as one ZIP (right of access)."""
    from . import clock
    from .models import Customer
    from .privacy import export_zip
    row = enter_creditor(creditor_slug)
    customer = db.session.scalar(select(Customer).where(Customer.creditor_id == row.id,
                                                        Customer.ref == ref))
    if customer is None:
        _fail(f"{row.slug} has no debtor {ref!r}; see the debtors list in the back office.")
    from .backoffice.timeline import describe
    with current_app.test_request_context("/admin/"):  # the timeline's sentences, in French
        data = export_zip(customer, clock.today(),
                          describe=lambda event, number: describe(event, number).text)
    with open(path, "wb") as out:
        out.write(data)
    click.echo(f"Wrote {path} ({len(data)} bytes): the data of {ref} ({row.slug}).")


def init_app(app):
    app.cli.add_command(init_db_command)
    app.cli.add_command(creditors)
    app.cli.add_command(api_tokens)
    app.cli.add_command(demo_command)
    app.cli.add_command(invoices)
    app.cli.add_command(payments)
    app.cli.add_command(users)
    app.cli.add_command(settings_group)
    app.cli.add_command(debtors)
