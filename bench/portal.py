"""Benchmark of the debtor portal's landing page. Run by hand; prints figures, asserts nothing.

    .venv/bin/python bench/portal.py [--invoices 20] [--postgres] [--seconds 10]

Builds a debtor with N open invoices, serves the app with gunicorn (2 workers) and loads it
with wrk (16 connections, Debian's `wrk`): first `/healthz` (the server's ceiling on this
machine, in the same run), then the debtor's landing page. Prints requests/s, p50 and p99 of
both, the ratio, and the SQL statements one page view costs; and, in the process, what a
debtor's first view costs (its facts read, its page rendered) beside a reload.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sqlalchemy import event  # noqa: E402

from portal import clock, create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.links import make_token  # noqa: E402
from portal.models import Customer, Invoice  # noqa: E402
from portal.settings import ensure_creditor  # noqa: E402

PG_URL = os.environ.get("RELANCE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-k3J9-pQ2_vX7wLm8nR4sT6yZ0aB1cD5eF"
COLD = 30  # debtors whose first view is timed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(url, invoices):
    """The debtor and its invoices; returns (token, statements per page view)."""
    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    with app.app_context():
        db.drop_all()
        db.create_all()
        owner = ensure_creditor()  # as `flask init-db` makes it
        tokens = []
        for k in range(1 + COLD):  # the benchmarked debtor, then others seen once each
            customer = Customer(creditor_id=owner.id, ref=f"BENCH-{k + 1}",
                                name="Boulangerie Dupont & Fils", email="compta@dupont.example",
                                language="fr")
            db.session.add(customer)
            db.session.flush()
            today = clock.today()
            for n in range(invoices):
                due = today - timedelta(days=5 + 3 * n)
                db.session.add(Invoice(number=f"FA-2026-{k:03d}{n:04d}", customer=customer,
                                       issue_date=due - timedelta(days=30), due_date=due,
                                       total_cents=10_000 + 137 * n))
            tokens.append(make_token(customer))
        db.session.commit()
        token = tokens[0]
        engine = db.engine
        db.session.remove()
    # The requests outside the app context above: each gets its own, as under gunicorn.
    client = app.test_client()
    client.get(f"/p/{token}")  # the day's visit, written once; the page rendered and kept
    statements = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    client.get(f"/p/{token}")
    event.remove(engine, "before_cursor_execute", listener)
    # A debtor's first view: its facts read and its page rendered (nothing kept yet for it).
    first = []
    for other in tokens[1:]:
        started = time.perf_counter()
        assert client.get(f"/p/{other}").status_code == 200
        first.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    for _ in range(COLD):
        client.get(f"/p/{token}")
    reload_ms = (time.perf_counter() - started) * 1000 / COLD
    engine.dispose()
    print(f"  in the process (Flask's test client): a debtor's first view {statistics.median(first):.1f}"
          f" ms (median of {COLD} debtors: facts read, page rendered), a reload {reload_ms:.1f} ms")
    return token, len(statements)


def wrk(url, seconds):
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {p: _ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.M).group(1)) for p in (50, 99)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, latency, int(errors.group(1)) if errors else 0


def _ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def bench(url, invoices, seconds):
    token, statements = build(url, invoices)
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, RELANCE_ENV="development", SECRET_KEY=SECRET)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b",
                               f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        wrk(f"{base}/healthz", 2)  # warm both workers
        wrk(f"{base}/p/{token}", 2)  # and the page: each worker renders it once, then keeps it
        health, health_lat, _ = wrk(f"{base}/healthz", seconds)
        page, page_lat, errors = wrk(f"{base}/p/{token}", seconds)
    finally:
        server.terminate()
        server.wait()
    print(f"  /healthz: {health:,.0f} req/s (p50 {health_lat[50]:.1f} ms, "
          f"p99 {health_lat[99]:.1f} ms)")
    print(f"  landing page, {invoices} open invoices: {page:,.0f} req/s (p50 {page_lat[50]:.1f} "
          f"ms, p99 {page_lat[99]:.1f} ms){f', {errors} errors' if errors else ''}; "
          f"{page / health:.2f} x /healthz; {statements} SQL statements per page view")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/portal.py needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite, gunicorn -w 2, wrk -c16 ({date.today()}, {os.cpu_count()} cores)")
        bench(f"sqlite:///{tmp}/portal.db", args.invoices, args.seconds)
    if args.postgres:
        print("PostgreSQL")
        bench(PG_URL, args.invoices, args.seconds)


if __name__ == "__main__":
    main()
