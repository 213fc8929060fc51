"""The dependency rule of the README's layout, checked on the source: imports go one way,
web -> run -> core -> pure rules, so the rules both sides read never pull in either side."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = {"reminders.schedule", "reminders.penalties", "portal.payments.allocation", "portal.notices",
        "portal.story",
        "portal.payments.states"}
# The web layer: blueprints, commands, the demo and the app factory that wires them.
WEB_PACKAGES = ("portal.debtor", "portal.backoffice", "portal.api")
WEB_MODULES = {"portal", "portal.cli", "portal.demo", "portal.web", "portal.errors",
               "portal.payments.webhook", "portal.sms.webhooks",
               "portal.post.webhooks"}
RUN_ENTRY = {"reminders.cli"}  # the run's own commands, registered by the factory


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(name):
    if name in PURE:
        return "pure"
    if name in WEB_MODULES or name.startswith(WEB_PACKAGES) or name in RUN_ENTRY:
        return "web"
    if name.startswith("reminders"):
        return "run"
    return "core"


def imports(path):
    """The project modules `path` imports (absolute names), at any depth of the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] in ("portal", "reminders")}


def known(modules):
    """Keep the names that are modules or packages of the project (not `from x import f`)."""
    return {m for m in modules
            if (ROOT / Path(*m.split("."))).with_suffix(".py").exists()
            or (ROOT / Path(*m.split(".")) / "__init__.py").exists()}


SOURCES = sorted(p for d in ("portal", "reminders") for p in (ROOT / d).rglob("*.py"))
ALLOWED = {"pure": set(), "core": {"core", "pure"}, "run": {"run", "core", "pure"},
           "web": {"web", "run", "core", "pure"}}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_go_one_way(path):
    name = module_name(path)
    mine = layer(name)
    # "portal" itself is the package every import passes through (its __init__ is the factory).
    wrong = sorted(m for m in known(imports(path)) - {"portal"}
                   if layer(m) not in ALLOWED[mine])
    assert not wrong, f"{name} ({mine}) imports {', '.join(f'{m} ({layer(m)})' for m in wrong)}"

