"""Settings are checked whole when they are saved, not when they are read (issue 26 item 1).

The shipped document is checked here, by the suite, with the check every save makes (each
template tried on the examples of every level that writes with it): a shipped template that
breaks fails this file, not every process's first run. Reading a document (`load`: the shipped
defaults, a stored revision) makes the same checks of shape, policies, legal rules and privacy,
with the same messages, and compiles no template. Saving is the one way a revision is written.
"""
import ast
from pathlib import Path

import pytest

from portal import settings
from portal.settings.defaults import default_document
from portal.settings.document import SettingsInvalid, load, parse
from portal.settings.templates import compiled

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_document_passes_the_check_made_at_save():
    checked = parse(default_document())  # every template rendered on every level's examples
    read = load(default_document())
    assert checked.policies == read.policies and checked.legal.rates.rows == read.legal.rates.rows
    assert (checked.legal.contract_rate_percent, checked.legal.indemnity_cents) == \
        (read.legal.contract_rate_percent, read.legal.indemnity_cents)
    assert checked.templates == read.templates and checked.privacy == read.privacy
    assert settings.shipped().policies == checked.policies


def test_a_broken_shipped_template_is_caught_by_the_check_not_by_reading():
    document = default_document()
    # Three invoices where every example has two: compiles, fails on every render.
    document["templates"]["cordial"]["fr"]["subject"] = "Relance {{ invoices[2].number }}"
    with pytest.raises(SettingsInvalid) as refused:
        parse(document)
    assert refused.value.errors == [("templates.cordial.fr.subject",
                                     "line 1: list object has no element 2")]
    # Reading renders nothing: the check above is the one that guards the shipped templates.
    assert load(document).template("cordial", "fr")["subject"] == \
        "Relance {{ invoices[2].number }}"


def test_reading_compiles_no_template_and_the_check_does():
    compiled.cache_clear()
    load(default_document())
    assert compiled.cache_info().misses == 0
    parse(default_document())
    assert compiled.cache_info().misses >= 40  # the check compiles (the counter can move)


def _set(path, value):
    def change(document):
        *head, last = path
        target = document
        for key in head:
            target = target[key]
        target[last] = value
    return change


@pytest.mark.parametrize("change", [
    _set(("policies", 0, "levels", 2, "offset_days"), 5),
    _set(("policies", 0, "levels", 3, "channels"), []),
    _set(("policies", 0, "levels", 1, "number"), "un"),
    _set(("policies", 0, "tiers"), {"vip": {}}),
    _set(("policies", 0, "max_shift_days"), -1),
    _set(("policies", 0, "colour"), "red"),
    _set(("policies", 0, "discount_percent"), "2.555"),
    _set(("policies", 0, "name"), "Défaut"),
    _set(("legal", "rates"), "2026-H1"),
    _set(("legal", "contract_rate_percent"), "5"),
    _set(("privacy",), {"retention_months": 0}),
    _set(("templates", "cordial"), "oops"),
    _set(("templates", "cordial", "fr"), {"subject": "", "text": "x", "html": "x"}),
    _set(("templates", "cordial", "de"), {"subject": "x"}),
    _set(("templates", "cordial", "fr", "fax"), "x"),
    _set(("templates", "firm", "en", "text"), 3),
    _set(("extra",), {}),
    _set(("policies",), []),
], ids=lambda change: "-".join(map(str, change.__closure__[0].cell_contents)))
def test_reading_refuses_what_the_check_refuses_with_the_same_words(change):
    """Everything but the templates' trial renders is checked on reading too: a document of
    the wrong shape is never used, whichever way it came in."""
    document = default_document()
    change(document)
    with pytest.raises(SettingsInvalid) as checked:
        parse(document)
    with pytest.raises(SettingsInvalid) as read:
        load(document)
    assert read.value.errors == checked.value.errors
    assert str(read.value) == str(checked.value)


def _writes_revisions(path):
    """Where `path` builds a SettingsRevision or inserts into its table (ORM, Core, SQL)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else ""
            text = ast.unparse(node)
            if name == "SettingsRevision" or (name in ("insert", "bulk_insert") and (
                    "SettingsRevision" in text or "revision_table" in text)):
                found.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                "insert into settings_revision" in " ".join(node.value.lower().split()):
            found.append(node.lineno)
    return found


def test_save_is_the_one_writer_of_revisions():
    """So that every stored revision passed the check (`save` runs it): the application writes
    revisions only there; the migration that created the table wrote the shipped document."""
    writers = {str(path.relative_to(ROOT)) for folder in ("portal", "reminders", "migrations")
               for path in (ROOT / folder).rglob("*.py") if _writes_revisions(path)}
    assert writers == {"portal/settings/__init__.py",
                       "migrations/versions/e7d41a9c3b20_creditor_and_settings_as_data.py"}
