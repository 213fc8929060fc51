"""The dependency rule of the README's layout, checked on the source: imports go one way,
web -> run -> core -> pure rules, so the rules both sides read never pull in either side."""
import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# One layer per package (README, "Layout"): the pure rules are the package portal.rules.
PURE_PACKAGES = ("portal.rules",)
# The web layer: blueprints, webhooks, commands, the demo and the app factory that wires them.
WEB_PACKAGES = ("portal.debtor", "portal.backoffice", "portal.api", "portal.webhooks")
WEB_MODULES = {"portal", "portal.cli", "portal.demo", "portal.web", "portal.errors"}
RUN_ENTRY = {"reminders.cli"}  # the run's own commands, registered by the factory
# What a pure rule may import besides the standard library and portal.rules: data, not a side.
PURE_THIRD_PARTY = {"holidays", "phonenumbers"}


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def within(name, packages):
    return any(name == p or name.startswith(p + ".") for p in packages)


def layer(name):
    if within(name, PURE_PACKAGES):
        return "pure"
    if name in WEB_MODULES or within(name, WEB_PACKAGES) or name in RUN_ENTRY:
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
ALLOWED = {"pure": {"pure"}, "core": {"core", "pure"}, "run": {"run", "core", "pure"},
           "web": {"web", "run", "core", "pure"}}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_go_one_way(path):
    name = module_name(path)
    mine = layer(name)
    # "portal" itself is the package every import passes through (its __init__ is the factory).
    wrong = sorted(m for m in known(imports(path)) - {"portal"}
                   if layer(m) not in ALLOWED[mine])
    assert not wrong, f"{name} ({mine}) imports {', '.join(f'{m} ({layer(m)})' for m in wrong)}"



@pytest.mark.parametrize("path", [p for p in SOURCES if layer(module_name(p)) == "pure"],
                         ids=lambda p: module_name(p))
def test_the_pure_rules_import_neither_flask_nor_the_database(path):
    """A rule is a plain function of its arguments: no request, no session, no settings read."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add(node.module.split(".")[0])
    outside = {m for m in found if m not in sys.stdlib_module_names} - PURE_THIRD_PARTY - {
        "portal"}
    assert not outside, f"{module_name(path)} imports {sorted(outside)}"


def test_no_import_circle():
    """No two modules import each other, directly or around a circle (at any depth of the
    file: an import inside a function is still a dependency). A package's own __init__ naming
    its submodules (a blueprint registering its views) is not one."""
    graph = {}
    for path in SOURCES:
        name = module_name(path)
        graph[name] = {m for m in known(imports(path))
                       if m != name and not m.startswith(name + ".") and m != "portal"}
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    assert not circles, f"import circles: {circles}"
