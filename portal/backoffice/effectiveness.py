"""What gets paid, per level, channel and settings revision (portal/effectiveness.py): a table,
a chart drawn on the server and a CSV, for a period the accountant chooses."""
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, render_template, request
from flask_babel import gettext as _, lazy_gettext as _l

from .. import clock
from ..effectiveness import (FOLLOW_DAYS, MIN_PER_VARIANT, WINDOWS, ab_tests, outcomes,
                             revisions_of)
from ..i18n import current_lang, day, plain_amount
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


# The shipped templates by what they are; a template the accountant added keeps its own name.
LEVEL_NAMES = {"heads-up": _l("heads-up"), "cordial": _l("friendly reminder"),
               "firm": _l("firm reminder"), "penalties": _l("reminder with penalties"),
               "formal-notice": _l("formal notice")}


def level_name(document, number):
    """What level `number` is in a settings document: "formal notice" where it is one, else its
    template's name; the policies' names joined where they differ; "" when it has no such level."""
    names = []
    for policy in (document or {}).get("policies") or ():
        for level in policy.get("levels") or ():
            if level.get("number") == number:
                key = "formal-notice" if level.get("formal_notice") else level.get("template", "")
                name = str(LEVEL_NAMES.get(key, key))
                if name and name not in names:
                    names.append(name)
    return " / ".join(names)


@dataclass
class Label:
    """How a row of outcomes reads: "Level 2 — firm reminder", "e-mail + SMS", the settings
    in force (said only when the period spans several revisions) and the A/B variant."""
    level: str
    name: str
    channel: str
    settings: str
    variant: str

    @property
    def details(self):
        return " · ".join(p for p in (self.channel, self.settings, self.variant) if p)

    def __str__(self):
        head = f"{self.level} — {self.name}" if self.name else self.level
        return f"{head} · {self.details}"


def labels(rows):
    """The function that gives the Label of each row of outcomes() `rows`."""
    revisions = revisions_of(rows)
    several = len({r.revision for r in rows}) > 1
    lang = current_lang()
    found = {}
    for r in rows:
        saved_at, document = revisions.get(r.revision, (None, None))
        settings = ""
        if several and r.revision == 0:
            settings = _("shipped settings")
        elif several and saved_at is not None:
            settings = _("settings of %(day)s",
                         day=day(saved_at.astimezone(clock.zone()).date(), lang, "short"))
        elif several:
            settings = _("settings revision %(number)s", number=r.revision)
        found[id(r)] = Label(_("Level %(level)s", level=r.level), level_name(document, r.level),
                             _channel(r), settings,
                             _("variant %(variant)s", variant=r.variant) if r.variant else "")
    return lambda row: found[id(row)]


@bp.get("/effectiveness")
def effectiveness_page():
    since, until, today = _period()
    rows = outcomes(since, until, today)
    # The chart: one bar per row, its length the share paid within 30 days of a 0-100 % track.
    bars = [(r, None if r.share(30) is None else min(max(r.share(30), 0), 100)) for r in rows]
    return render_template("backoffice/effectiveness.html", rows=rows, bars=bars,
                           tests=ab_tests(rows), minimum=MIN_PER_VARIANT, label=labels(rows),
                           since=since, until=until, windows=WINDOWS, follow_days=FOLLOW_DAYS)


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
