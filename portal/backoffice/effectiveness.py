"""What gets paid, per level, channel and settings revision (portal/effectiveness.py): a table,
a chart drawn on the server and a CSV, for a period the accountant chooses."""
from datetime import timedelta

from flask import abort, render_template, request

from .. import clock
from ..effectiveness import FOLLOW_DAYS, MIN_PER_VARIANT, WINDOWS, ab_tests, outcomes
from ..i18n import plain_amount
from ..imports import parse_date
from . import bp
from .preview import channels_label
from .views import _csv

DEFAULT_DAYS = 180


def _period():
    """(since, until) from ?since= and ?until= (ISO dates); the last 180 days by default."""
    today = clock.today()
    try:
        until = parse_date(request.args["until"]) if request.args.get("until") else today
        since = parse_date(request.args["since"]) if request.args.get("since") \
            else until - timedelta(days=DEFAULT_DAYS)
    except ValueError as exc:
        abort(400, f"since/until: {exc}")
    if since > until:
        abort(400, "since: the period starts after it ends; give since <= until")
    return since, until, today


def _channel(outcome):
    return channels_label(outcome.channel.split("+"))  # "email+sms": e-mail + SMS


@bp.get("/effectiveness")
def effectiveness_page():
    since, until, today = _period()
    rows = outcomes(since, until, today)
    # The chart: the share paid within 30 days, one bar per row; 100 % is 300 px of 520.
    bars = [(r, int(r.share(30) * 3) if r.share(30) is not None else 0) for r in rows]
    return render_template("backoffice/effectiveness.html", rows=rows, bars=bars,
                           tests=ab_tests(rows), minimum=MIN_PER_VARIANT,
                           since=since, until=until, windows=WINDOWS, follow_days=FOLLOW_DAYS,
                           channel=_channel)


@bp.get("/effectiveness.csv")
def effectiveness_csv():
    since, until, today = _period()
    out = [["level", "channel", "settings_revision", "variant", "reminders", "reminded"]
           + [f"paid_within_{n}_days" for n in WINDOWS]
           + [f"share_paid_within_{n}_days_percent" for n in WINDOWS]
           + ["reminders_followed_by_a_payment", "median_days_to_payment",
              f"visited_within_{FOLLOW_DAYS}_days_percent",
              f"answered_within_{FOLLOW_DAYS}_days_percent"]]
    for r in outcomes(since, until, today):
        out.append([r.level, r.channel, r.revision, r.variant, r.sent,
                    plain_amount(r.reminded_cents)]
                   + [plain_amount(r.paid_cents[n]) for n in WINDOWS]
                   + ["" if r.share(n) is None else str(r.share(n)) for n in WINDOWS]
                   + [len(r.days_to_payment),
                      "" if r.median_days is None else str(r.median_days),
                      "" if r.visit_share is None else str(r.visit_share),
                      "" if r.answer_share is None else str(r.answer_share)])
    return _csv(out, f"effectiveness-{since.isoformat()}-{until.isoformat()}.csv")
