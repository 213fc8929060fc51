"""Benchmark of the reminder run. Run by hand; prints figures, asserts nothing.

    .venv/bin/python bench/reminder_run.py                      # 100,000 invoices on SQLite
    .venv/bin/python bench/reminder_run.py --invoices 1000000 --schedule-only
    .venv/bin/python bench/reminder_run.py --invoices 1000000 --schedule-only --creditors 100
    .venv/bin/python bench/reminder_run.py --postgres           # also on PostgreSQL
    .venv/bin/python bench/reminder_run.py --invoices 15000 --relay-ms 30 --connections 32
    .venv/bin/python bench/reminder_run.py --history 365 --schedule-only  # a year of runs first

Generates N open invoices over N/5 debtors (all overdue, so every debtor gets an e-mail), shared
among `--creditors` creditors, then
1. the schedule step alone: stream every open invoice through the schedule, creditor after
   creditor as the run does (invoices/s, memory);
2. the whole run (plan, claim, render, send, record) to an aiosmtpd sink in another process on
   loopback (e-mails delivered/s), over MAIL_CONNECTIONS connections, next to the ceiling of that
   same sink in the same run: plain smtplib clients resending one prepared message of a
   reminder's size over as many connections. `--relay-ms` makes the sink answer each message
   after that delay, as a hosted relay does.
"""
import argparse
import multiprocessing
import smtplib
import threading
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import insert  # noqa: E402

from portal import create_app, tenancy  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Creditor, Customer, Invoice  # noqa: E402
from reminders.scan import book, due_reminders_of  # noqa: E402
from bench.history import play  # noqa: E402

AS_OF = date(2026, 3, 2)  # a Monday
PG_URL = os.environ.get("RELANCE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(relay_ms=0):
    port = free_port()
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen([sys.executable, os.path.join(here, "smtp_sink.py"), str(port),
                             str(relay_ms)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the aiosmtpd sink did not start")


def generate(n_invoices, n_creditors=1, history=0):
    """N open invoices over N/5 debtors; with `history` (days), the same open invoices at the
    end of that many days of runs, answers and payments (bench/history.py)."""
    rng = random.Random(7)
    n_customers = max(1, n_invoices // 5)
    started = time.perf_counter()
    db.session.execute(insert(Creditor), [dict(id=k, slug=f"c{k}", name=f"Creditor {k} SAS")
                                          for k in range(1, n_creditors + 1)])

    def creditor_of(customer_id):
        return (customer_id - 1) % n_creditors + 1

    rows = [dict(id=i, creditor_id=creditor_of(i), ref=f"B{i}", name=f"Client {i} SARL",
                 email=f"c{i}@example.org", language="fr" if i % 4 else "en",
                 tier="standard", link_version=1)
            for i in range(1, n_customers + 1)]
    for start in range(0, len(rows), 20_000):
        db.session.execute(insert(Customer), rows[start:start + 20_000])
    current = []
    for i in range(1, n_invoices + 1):
        due = AS_OF - timedelta(days=rng.randrange(8, 90))
        customer_id = (i - 1) % n_customers + 1
        current.append(dict(id=i, number=f"F{i:08d}", customer_id=customer_id,
                            creditor_id=creditor_of(customer_id),
                            issue_date=due - timedelta(days=30), due_date=due, currency="EUR",
                            total_cents=rng.randrange(5_000, 900_000), status="open"))
    if history:
        db.session.commit()
        play(n_invoices, n_creditors, AS_OF, history, current)
    else:
        for start in range(0, len(current), 50_000):
            db.session.execute(insert(Invoice), current[start:start + 50_000])
    db.session.commit()
    print(f"  generated {n_invoices:,} invoices over {n_customers:,} debtors of "
          f"{n_creditors} creditor(s) in "
          f"{time.perf_counter() - started:.1f} s")


def app_for(url):
    return create_app("test", {"SQLALCHEMY_DATABASE_URI": url})


def setup_database(url, n_invoices, n_creditors=1, history=0):
    """In a child process, so that the parent's peak memory is the schedule step's own."""
    with app_for(url).app_context():
        db.drop_all()
        db.create_all()
        generate(n_invoices, n_creditors, history)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))  # as autovacuum would on a live database
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def in_child(target, *args):
    """Run `target(*args)` in a fresh process: its own peak memory, nothing cached."""
    child = multiprocessing.get_context("spawn").Process(target=target, args=args)
    child.start()
    child.join()
    if child.exitcode:
        raise SystemExit(f"{target.__name__} failed")


def schedule_step(url, n_invoices, label=""):
    if label:
        print(f"  {label}:", end="")
    with app_for(url).app_context():
        before = rss_mib()
        started = time.perf_counter()
        creditors = tenancy.creditor_ids()
        books = {}
        for creditor_id in creditors:  # as the run does: each creditor's book, then one scan
            with tenancy.scope(creditor_id):
                books[creditor_id] = book(AS_OF)
        due = sum(1 for _ in due_reminders_of(books))
        seconds = time.perf_counter() - started
        print(f"  schedule step over {len(creditors)} creditor(s): {n_invoices:,} invoices "
              f"scanned in {seconds:.2f} s = "
              f"{n_invoices / seconds:,.0f} invoices/s; {due:,} reminders due; "
              f"peak RSS {before:.0f} MiB before the scan, {rss_mib():.0f} MiB after")
        db.session.remove()
        db.engine.dispose()


MESSAGE_BYTES = 9_500  # about a reminder with its text and HTML parts


def raw_ceiling(port, connections, count):
    """Messages/s that plain smtplib clients get through the sink over `connections`
    connections, resending one prepared message: what no run could beat on this machine."""
    body = (b"From: a@example.fr\r\nTo: b@example.org\r\nSubject: ceiling\r\n\r\n"
            + b"x" * 76 + b"\r\n") * (MESSAGE_BYTES // 78)
    per_connection = max(1, count // connections)

    def client():
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for _ in range(per_connection):
                smtp.sendmail("a@example.fr", ["b@example.org"], body)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_connection * connections / (time.perf_counter() - started)


def whole_run(url, senders, batch, relay_ms=0, connections=8):
    """`flask reminders run` in `senders` processes at once (they share the work through
    claims), delivering to an aiosmtpd sink in its own process; then the sink's raw ceiling."""
    sink, port = start_sink(relay_ms)
    env = dict(os.environ, FLASK_APP="wsgi", DATABASE_URL=url, MAIL_PORT=str(port),
               MAIL_BATCH_SIZE=str(batch), SECRET_KEY="bench-secret",
               RELANCE_ENV="development", MAIL_CONNECTIONS=str(connections))
    env.pop("MAIL_OUTBOX_DIR", None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "flask", "reminders", "run", "--date",
                                   AS_OF.isoformat()], cwd=root, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(senders)]
        outputs = [p.communicate() for p in procs]
        seconds = time.perf_counter() - started
        ceiling = raw_ceiling(port, connections * senders, min(20_000, max(2_000, int(
            connections * senders * 1000 / max(relay_ms, 1)))))
    finally:
        sink.terminate()
        sink.wait()
    sent = 0
    for proc, (out, err) in zip(procs, outputs):
        if proc.returncode:
            raise SystemExit(f"reminders run failed: {err}")
        sent += sum(int(line.split(": ")[1].split()[0]) for line in out.splitlines()
                    if " email: " in line)
    rate = sent / seconds
    print(f"  whole run, {senders} process(es) x {connections} connection(s), relay answering "
          f"in {relay_ms:g} ms: {sent:,} e-mails delivered in {seconds:.2f} s = {rate:,.0f} "
          f"e-mails/s (start-up + plan + claim + render + SMTP + record)")
    print(f"  raw smtplib ceiling of the same sink over {connections * senders} connection(s): "
          f"{ceiling:,.0f} messages/s; the run reaches {rate / ceiling:.2f} x the ceiling")


def with_and_without(url, plain_url, n_invoices, n_creditors, history, rounds=2):
    """The schedule step on the same open invoices without a past (`plain_url`, or `url` before
    the history is played when it is the same database) and with `history` days of it, each
    measure in its own process, alternately when there are two databases."""
    if plain_url != url:
        in_child(setup_database, plain_url, n_invoices, n_creditors)
        in_child(setup_database, url, n_invoices, n_creditors, history)
        for _ in range(rounds):
            in_child(schedule_step, plain_url, n_invoices, "without history")
            in_child(schedule_step, url, n_invoices, f"with {history} days of history")
        return
    in_child(setup_database, url, n_invoices, n_creditors)
    for _ in range(rounds):
        in_child(schedule_step, url, n_invoices, "without history")
    in_child(setup_database, url, n_invoices, n_creditors, history)
    for _ in range(rounds):
        in_child(schedule_step, url, n_invoices, f"with {history} days of history")


def bench(url, n_invoices, schedule_only, batch, senders, relay_ms=0, connections=8,
          n_creditors=1, history=0, plain_url=None):
    if history:
        with_and_without(url, plain_url or url, n_invoices, n_creditors, history)
    else:
        in_child(setup_database, url, n_invoices, n_creditors)
        schedule_step(url, n_invoices)
    if not schedule_only:
        for count in senders:
            if count != senders[0]:
                reset_reminders(url)
            whole_run(url, count, batch, relay_ms, connections)
    with app_for(url).app_context():
        db.drop_all()
        db.engine.dispose()


def reset_reminders(url):
    with app_for(url).app_context():
        for table in ("event", "task", "reminder", "sent_message"):
            db.session.execute(db.text(f"DELETE FROM {table}"))
        db.session.commit()
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    parser.add_argument("--schedule-only", action="store_true", help="skip the sending part")
    parser.add_argument("--batch", type=int, default=200, help="MAIL_BATCH_SIZE")
    parser.add_argument("--senders", default="1,2",
                        help="run processes sending at once, one measure per count (default 1,2)")
    parser.add_argument("--relay-ms", type=float, default=0,
                        help="the sink answers each message after this delay (default 0)")
    parser.add_argument("--connections", type=int, default=8,
                        help="MAIL_CONNECTIONS of each run process (default 8)")
    parser.add_argument("--creditors", type=int, default=1,
                        help="creditors sharing the debtors (default 1)")
    parser.add_argument("--history", type=int, default=0, metavar="DAYS",
                        help="play DAYS days of runs, answers and payments before measuring, "
                        "and measure the schedule step with and without them (bench/history.py)")
    args = parser.parse_args()
    senders = [int(n) for n in args.senders.split(",")]
    total = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite ({args.invoices:,} invoices)")
        bench(f"sqlite:///{tmp}/bench.db", args.invoices, args.schedule_only, args.batch, senders,
              args.relay_ms, args.connections, args.creditors, args.history,
              f"sqlite:///{tmp}/plain.db")
    if args.postgres:
        print(f"PostgreSQL ({args.invoices:,} invoices)")
        bench(PG_URL, args.invoices, args.schedule_only, args.batch, senders, args.relay_ms,
              args.connections, args.creditors, args.history)
    print(f"total {time.perf_counter() - total:.1f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
