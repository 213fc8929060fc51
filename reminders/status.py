"""`flask reminders status`: the last runs of a creditor as lines of text, and its health."""
from portal import clock, run_log

from .claims import _is_dead

CHANNEL_ORDER = ("email", "sms", "letter", "call")


def outcome_of(row, me="status"):
    """The row's outcome as a reader needs it: a "running" row whose process is gone is
    "interrupted" (the next run closes it as failed)."""
    if row.outcome == "running" and _is_dead(row.owner, row.started_at, me):
        return "interrupted"
    return row.outcome


def sent_text(counts):
    """{"channels": {"email": {"1": 3}}, ...} -> "email L1: 3; sms sent: 1"."""
    channels = (counts or {}).get("channels") or (
        {"sms": counts["sms"]} if counts and "sms" in counts else {})
    parts = [f"{channel} " + ", ".join(f"L{level}: {n}" for level, n in sorted(levels.items()))
             for channel, levels in sorted(channels.items(), key=lambda kv: (
                 CHANNEL_ORDER.index(kv[0]) if kv[0] in CHANNEL_ORDER else 9, kv[0]))]
    for key, label in (("sms_sent", "SMS sent"), ("letters_posted", "letters posted"),
                       ("rejected", "refused addresses"), ("skipped", "dropped")):
        if counts and counts.get(key):
            parts.append(f"{label}: {counts[key]}")
    return "; ".join(parts) or "nothing sent"


def run_lines(row):
    """One run: date, start (creditor's time), duration, outcome, what was sent, failures."""
    zone = clock.zone()
    started = row.started_at.astimezone(zone)
    took = (f"{(row.finished_at - row.started_at).total_seconds():.1f} s"
            if row.finished_at else "-")
    kind = "" if row.kind == "run" else f" [{row.kind}]"
    yield (f"  {row.run_date.isoformat()}{kind}  started {started:%Y-%m-%d %H:%M:%S}  "
           f"{took}  {outcome_of(row)}  {sent_text(row.counts)}")
    if row.error:
        yield f"      error: {row.error}"
    for failure in row.failures or ():
        yield f"      {failure.get('what', '?')}: {failure.get('reason', '')}"


def health_line(health):
    if health.late:
        return (f"LATE: no successful run since {health.reference.isoformat()} (a business day "
                "went by without one): check the cron line of `flask reminders run`")
    when = health.last_success_on.isoformat() if health.last_success_on else "none yet"
    return f"Last successful run: {when}; not late."


def status_lines(creditor, limit=10):
    """The creditor's health and its last runs, newest first."""
    health = run_log.health(creditor)
    yield health_line(health)
    rows = run_log.last_runs(creditor.id, limit)
    if not rows:
        yield "  no run recorded yet"
    for row in rows:
        yield from run_lines(row)
