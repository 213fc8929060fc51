"""portal.rules.story: what the pages say, from the schedule's answers; pure (no Flask, no database)."""
import ast
from datetime import date
from pathlib import Path

from portal.rules.story import CLOSED, card_state, holds_back, task_state
from portal.rules.schedule import Upcoming

PROMISED = Upcoming("hold", date(2026, 12, 12), hold="promise")
DISPUTED = Upcoming("hold", None, hold="dispute")
PAUSED = Upcoming("paused", date(2026, 12, 20))
REMINDER = Upcoming("reminder", date(2026, 12, 8), 2)


def test_the_module_imports_neither_flask_nor_the_database():
    tree = ast.parse((Path(__file__).parents[2] / "portal" / "rules" / "story.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert names <= {"datetime", "typing"}, names


def test_what_the_schedule_holds():
    assert holds_back(PROMISED) and holds_back(DISPUTED) and holds_back(PAUSED)
    assert holds_back(Upcoming("handed_over", date(2026, 12, 1)))
    assert not holds_back(REMINDER) and not holds_back(None)  # None: every level sent


def test_a_task_waits_while_every_open_invoice_it_names_is_held():
    assert task_state([PROMISED, DISPUTED]) == ("waiting", PROMISED)  # the first hold to end
    assert task_state([DISPUTED, CLOSED]).until == DISPUTED
    assert task_state([PROMISED, REMINDER]).state == "todo"  # one invoice is not held
    assert task_state([PROMISED, None]).state == "todo"
    assert task_state([CLOSED, CLOSED]).state == "done"  # paid since: nothing to chase
    assert task_state([]).state == "todo"  # a task about no invoice in particular


def test_an_invoice_in_a_plan_shows_only_as_part_of_the_plan():
    until = date(2026, 12, 12)
    promised = {"promise": until}
    assert card_state(promised, promise="running") == ("promised", until)
    assert card_state(promised, promise="broken") == ("promise_broken", until)
    assert card_state({**promised, "instalment_request": None}, "requested", "broken").code \
        == "plan_requested"
    assert card_state({**promised, "instalment_request": None}, "countered", "running").code \
        == "plan_countered"
    assert card_state({**promised, "plan": None}, "approved", "broken").code == "plan"
    assert card_state({"dispute": None, **promised}, promise="running").code == "dispute"
    assert card_state({}, days_late=12) == ("late", 12)
    assert card_state({}) == ("open", None)
