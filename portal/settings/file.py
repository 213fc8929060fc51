"""The settings as a TOML file (DESIGN.md section 8), for review and version control:
`flask settings export > relance.toml`, edit, `flask settings import relance.toml`.

Import checks the whole file first: TOML syntax, the creditor's identity, every policy, rate and
template, each problem named by its TOML path; only a file without any problem is applied, as
one revision of the history."""
import re
import tomllib
import zoneinfo

import holidays
import tomli_w

from . import SettingsInvalid, creditor, current, parse, save
from .history import changes_between
from .templates import LANGUAGES

IDENTITY = ("name", "address", "siren", "vat_number", "iban", "bic", "email", "phone", "sender",
            "reply_to", "timezone", "holiday_country", "language", "colour", "signature")
HEADER = """\
# Relance settings: the creditor's identity, its reminder policies, legal rules and templates.
# Edit, then `flask settings import FILE --dry-run` to check and `flask settings import FILE`.
# Templates are Jinja, run in a sandbox; their variables are listed in the README.
"""


def export_toml():
    """The creditor and the settings in force, as TOML text."""
    row = creditor()
    document = {"creditor": {k: getattr(row, k) or "" for k in IDENTITY}}
    document.update({k: v for k, v in current().document.items() if k != "creditor"})
    return HEADER + tomli_w.dumps(document, multiline_strings=True)


LENGTHS = {"name": 200, "address": 300, "siren": 20, "vat_number": 20, "iban": 42, "bic": 11,
           "email": 320, "phone": 40, "sender": 320, "reply_to": 320, "timezone": 64,
           "holiday_country": 2, "language": 2, "colour": 7, "signature": 200}
EMAIL = re.compile(r"^(?:[^<>\s@]+@[^<>\s@]+\.[^<>\s@]+|[^<>\n]*<[^<>\s@]+@[^<>\s@]+\.[^<>\s@]+>)$")


def identity_errors(values):
    """[(path, message)] for the [creditor] table."""
    errors = []
    if not isinstance(values, dict):
        return [("creditor", "a table of the creditor's identity")]
    for key, value in values.items():
        if key not in IDENTITY:
            errors.append((f"creditor.{key}", "unknown key; the keys are " + ", ".join(IDENTITY)))
        elif not isinstance(value, str):
            errors.append((f"creditor.{key}", "a text"))
        elif any(ord(c) < 32 or ord(c) == 127 for c in value):
            errors.append((f"creditor.{key}", "no line breaks, tabs or control characters"))
        elif len(value) > LENGTHS[key]:
            errors.append((f"creditor.{key}", f"at most {LENGTHS[key]} characters"))
    if "name" in values and not str(values["name"]).strip():
        errors.append(("creditor.name", "the creditor needs a name"))
    zone = values.get("timezone")
    if isinstance(zone, str) and zone:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(("creditor.timezone", f"{zone!r} is not a time zone; use an IANA name "
                           "such as \"Europe/Paris\""))
    country = values.get("holiday_country")
    if isinstance(country, str) and country not in holidays.list_supported_countries():
        errors.append(("creditor.holiday_country", f"{country!r} is not a country code whose "
                       "public holidays are known; use e.g. \"FR\", \"BE\", \"DE\""))
    lang = values.get("language")
    if isinstance(lang, str) and lang and lang not in LANGUAGES:
        errors.append(("creditor.language", f"use one of {', '.join(LANGUAGES)}"))
    colour = values.get("colour")
    if isinstance(colour, str) and colour and not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        errors.append(("creditor.colour", "a colour written #rrggbb, e.g. \"#1f5f8b\""))
    for key in ("email", "sender", "reply_to"):
        value = values.get(key)
        if isinstance(value, str) and value and not EMAIL.match(value):
            errors.append((f"creditor.{key}", f"{value!r} is not an e-mail address "
                           "(name@example.fr, or Name <name@example.fr>)"))
    return errors


def read_toml(text):
    """The document in `text`, or SettingsInvalid (syntax error with its line, then every
    problem of the content)."""
    return _checked(text)[0]


def _checked(text):
    """(document, its parsed Settings): the whole check, made once for an import."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsInvalid([("(file)", f"not valid TOML: {exc}")]) from None
    errors = identity_errors(document.get("creditor", {}))
    parsed = None
    try:
        parsed = parse(document)
    except SettingsInvalid as invalid:
        errors.extend(invalid.errors)
    if errors:
        raise SettingsInvalid(errors)
    return document, parsed


def import_toml(text, author, dry_run=False):
    """Check the file whole; unless `dry_run`, apply it (flushed, not committed). Returns the
    lines that change; raises SettingsInvalid, with nothing changed."""
    document, parsed = _checked(text)
    identity = document.get("creditor", {})
    row = creditor()
    lines = [f"creditor.{k}: {getattr(row, k) or ''} -> {v}" for k, v in identity.items()
             if (getattr(row, k) or "") != v]
    lines += changes_between(*({k: v for k, v in d.items() if k != "creditor"}
                               for d in (current().document, document)))
    if dry_run or not lines:
        return lines
    save(document, author, note="flask settings import", identity=identity, checked=parsed)
    return lines
