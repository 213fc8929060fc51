"""Benchmark of reading the settings in a fresh process. Run by hand; prints figures only.

    .venv/bin/python bench/settings_load.py [--repeats 7] [--postgres]

What a process pays for the settings before its first run or page (issue 26 item 1): each
figure is timed in a new Python process (the app built, its database connection opened, then
the one call timed), `repeats` times, the two ways alternated so that both share the machine's
load of the moment:
- "checked at read" (before): reading a document runs the whole check of a save, every
  template compiled and tried on the examples of every level (`document.parse`): how Relance
  read its settings until this change, reproduced by giving `portal.settings` `parse` for
  `load` (the code of c8f84fe itself, timed the same way beside it: 245-487 ms where this
  reproduction took 207-342 ms in the same minutes; it also read the revision through the ORM,
  paying the process's first mapper configuration, ~30 ms, there);
- "checked at save" (after): reading checks the shape, renders nothing (`document.load`).
Three calls: the first `settings.current()` with a stored revision in force, the first
`settings.current()` on the shipped defaults (nothing saved yet), and the first
`reminders.scan.book()` (the run's first step: the settings, the creditor, its calendar, its
last run) with the stored revision. Prints the median and best wall-clock time of each, and the
ratio of the medians measured in the same run; for plan.book, the medians of its parts.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PG_URL = os.environ.get("RELANCE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
AS_OF = date(2026, 3, 2)
MODES = ("read", "save")  # where the templates are tried: at read (before), at save (after)
CALLS = ("current, stored revision", "current, shipped defaults", "plan.book, stored revision")


def app_for(url):
    from portal import create_app
    return create_app("test", {"SQLALCHEMY_DATABASE_URI": url})


def setup(url, revision):
    """An empty database with its creditor and, if `revision`, a saved revision in force."""
    from portal import settings
    from portal.extensions import db
    with app_for(url).app_context():
        db.drop_all()
        db.create_all()
        settings.ensure_creditor()
        if revision:
            document = settings.default_document()
            document["policies"][0]["levels"][1]["offset_days"] = 10
            settings.save(document, author="bench")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def child(mode, call, url):
    """In a fresh process: time the one call (and, within plan.book, its settings and its
    calendar), print the seconds as JSON."""
    from portal import settings
    from portal.extensions import db
    from portal.settings import document
    from reminders import scan as plan
    if mode == "read":  # the code before: every read ran the whole check
        settings.load = document.parse
    parts = {"settings": 0.0, "calendar": 0.0}

    def clocked(name, function):
        def call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                parts[name] += time.perf_counter() - started
        return call

    settings.current = clocked("settings", settings.current)  # plan.book reads it there
    plan.calendar_for = clocked("calendar", plan.calendar_for)
    with app_for(url).app_context():
        db.session.execute(db.text("SELECT 1"))  # the connection, opened by any first request
        started = time.perf_counter()
        if call.startswith("plan.book"):
            result = plan.book(AS_OF).settings
        else:
            result = settings.current()
        seconds = time.perf_counter() - started
        assert result.policy_for().levels, "settings without levels"
        db.session.remove()
        db.engine.dispose()
    print(json.dumps(dict(parts, seconds=seconds)))


def timed(mode, call, url):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", mode, call,
                          url], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(call, url, repeats):
    """The call timed in `repeats` fresh processes each way, alternated; prints one line."""
    found = {mode: [] for mode in MODES}
    for _ in range(repeats):
        for mode in MODES:
            found[mode].append(timed(mode, call, url))
    times = {mode: [f["seconds"] for f in found[mode]] for mode in MODES}
    before, after = (statistics.median(times[mode]) for mode in MODES)
    print(f"  first {call}: checked at read {before * 1000:6.1f} ms "
          f"(best {min(times['read']) * 1000:.1f}), checked at save {after * 1000:5.1f} ms "
          f"(best {min(times['save']) * 1000:.1f}): {before / after:.0f}x less")
    if call.startswith("plan.book"):
        for mode in MODES:
            for f in found[mode]:
                f["rest"] = f["seconds"] - f["settings"] - f["calendar"]
            settings_ms, calendar_ms, rest_ms = (
                statistics.median(f[k] for f in found[mode]) * 1000
                for k in ("settings", "calendar", "rest"))
            print(f"    checked at {mode}: medians of its parts: the settings {settings_ms:.1f} "
                  f"ms, the holiday calendar {calendar_ms:.1f} ms, the rest (its last run "
                  f"read, the process's first ORM statement) {rest_ms:.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "CALL", "URL"),
                        help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(*options.child)
        return
    print(f"{options.repeats} fresh processes per figure and way, the two ways alternated")
    with tempfile.TemporaryDirectory(prefix="relance-settings-bench-") as scratch:
        url = f"sqlite:///{scratch}/bench.db"
        print("SQLite")
        run_all(url, options.repeats)
    if options.postgres:
        print("PostgreSQL")
        run_all(PG_URL, options.repeats)


def run_all(url, repeats):
    """The shipped defaults first (nothing saved), then with a revision saved."""
    setup(url, revision=False)
    measure(CALLS[1], url, repeats)
    setup(url, revision=True)
    for call in (CALLS[0], CALLS[2]):
        measure(call, url, repeats)


if __name__ == "__main__":
    main()
