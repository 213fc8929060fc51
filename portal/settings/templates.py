"""Templates the accountant writes, rendered in Jinja's sandbox with a declared set of variables.

Every reminder is worded by a template of the settings: per template key (a level's `template`)
and language, an e-mail `subject`, `text` and `html`, a `letter` body where a level sends a
letter and an `sms` text where it sends an SMS (there `link` is the short link). The legal sentence of each debtor category is a template too (`legal-business`, ...),
given the penalty facts computed by the code: a template states facts through variables, never
through figures written into it.

Safety: Jinja's sandbox refuses attributes that reach Python internals, with a budget of steps,
characters and time per render that holds in any thread (sandbox.py, budget.py);
only the variables of VARIABLES exist (an unknown one is refused when the template is saved, with
its line); the `safe` filter does not exist, and in HTML every value coming from a debtor or an
import is escaped before the template sees it, so no template can put it in the page raw.
"""
import re
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from markupsafe import Markup, escape

from ..i18n import day, money
from .budget import View, _, budget
from .sandbox import Sandbox, bounded_filters, bounded_tests

LANGUAGES = ("fr", "en")
PARTS = ("subject", "text", "html", "letter", "sms")  # letter, sms: where a level sends one
EMAIL_PARTS = ("subject", "text", "html")

# The variables a template may use, with what they hold (listed in the editor and the README).
VARIABLES = {
    "debtor": "the debtor: .name, .ref, .email, .phone, .address, .type (business, consumer, "
              "public), .language",
    "creditor": "your company: .name, .address, .siren, .vat_number, .iban, .bic, .email, "
                ".phone, .signature (a line under the messages, may be empty), .colour",
    "invoices": "the invoices of this message, each with .number, .issue_date, .due_date, "
                ".total_cents, .balance_cents, .currency, .days_late, .penalty_cents, "
                ".promise_date, .discount (none, or the early-payment discount if paid today: "
                ".percent, .cents, .pay_cents, .last_day)",
    "invoice_count": "how many invoices the message lists",
    "what": "\"facture F-1\" or \"3 factures\" (\"invoice F-1\", \"3 invoices\")",
    "total_cents": "what is left to pay on them, in cents (use |money)",
    "penalties_cents": "interest and indemnities owed today, in cents (0 where none is owed)",
    "interest_cents": "late-payment interest owed today, in cents",
    "indemnity_cents": "fixed recovery indemnities owed, in cents",
    "indemnity_each_cents": "the fixed recovery indemnity per invoice, in cents",
    "rate_percent": "the interest rate in force today for this debtor's category, written as the debtor reads numbers (\"12,15\")",
    "contract_rate": "true when the rate is the contract's, not the legal one",
    "days_late": "days since the oldest due date (0 before it)",
    "oldest_days_late": "the same: days late of the oldest invoice listed",
    "newest_days_late": "days late of the most recent invoice listed",
    "upcoming_count": "how many invoices not yet due the message names for information",
    "upcoming_cents": "what is owed on them, in cents (use |money)",
    "owed_cents": "everything the debtor owes: overdue and not yet due, in cents (use |money)",
    "oldest_due_date": "the earliest due date among the invoices",
    "deadline": "the date this level gives to pay (none when the level gives no deadline)",
    "deadline_days": "the number of days this level gives to pay",
    "formal_notice": "true when this level is the formal notice",
    "registered_letter": "true when a letter goes out with this e-mail",
    "restarted": "true when the debtor said an invoice never arrived and got a copy",
    "restarted_invoices": "those invoices (each with .number...), said in {{ facts }}",
    "promise_missed": "the invoices whose promised payment date passed unpaid",
    "payment_failed": "the invoices whose payment failed (debit refused)",
    "link": "the debtor's personal portal link (in an SMS, its short form)",
    "link_max_age_days": "how many days the link stays valid",
    "as_of": "the day of the run",
    "level": "the level's number",
    "facts": "a ready sentence about missed promises and failed payments (empty when none)",
    "discount_offer": "a ready sentence per invoice with an early-payment discount: the amount "
                      "that settles it and its last day (empty when none)",
    "invoice_table": "the ready table of the invoices (with penalties where stated)",
    "legal_notice": "the legal sentence on penalties for the debtor's category (may be empty)",
    "call_planned": "true when this level also queues a phone call to the debtor",
    "formal_notice_follows": "true when a later level of the policy is the formal notice",
    "lang": "the message's language (fr or en)",
}
# The legal-sentence templates get the penalty facts only.
LEGAL_VARIABLES = ("penalties_cents", "interest_cents", "indemnity_cents", "indemnity_each_cents",
                   "rate_percent", "contract_rate", "as_of", "formal_notice", "invoice_count",
                   "lang")


class TemplateProblem(ValueError):
    """A template that cannot be used: `line` (1-based, or None) and the reason."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.line = line

    def __str__(self):
        return f"line {self.line}: {self.args[0]}" if self.line else self.args[0]


# Filters a template may use: text shaping and lists. Left out: those that build unbounded
# output from a number (center, indent, wordwrap, format, filesizeformat...) and `safe`; those
# that can still grow (replace, join, round, sum) are bounded in sandbox.py.
FILTERS = ("abs", "capitalize", "count", "d", "default", "e", "escape", "first", "int", "join",
           "last", "length", "lower", "max", "min", "replace", "round", "sort", "string",
           "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "wordcount")
MAX_OUTPUT = 2_000_000  # characters a rendered template may have


def _environment(autoescape):
    env = Sandbox(autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters = bounded_filters(FILTERS, {"money": money, "day": day})
    env.tests = bounded_tests(env.tests)
    env.globals.clear()  # no range(), lipsum, cycler...: only the declared variables
    return env


TEXT = _environment(False)
HTML = _environment(True)


def environment(part):
    return HTML if part == "html" else TEXT


def _line_of(source, name):
    for node in TEXT.parse(source).find_all(nodes.Name):
        if node.name == name and node.ctx == "load":
            return node.lineno
    return None


def _error_line(exc):
    """The template line where a render error happened (Jinja rewrites tracebacks so that the
    template's frames carry its line numbers)."""
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@lru_cache(maxsize=512)
def compiled(source, part):
    """The compiled template, or TemplateProblem with the line (syntax, unknown variables,
    a turned-off escaping)."""
    env = environment(part)
    allowed = set(LEGAL_VARIABLES if part == "legal" else VARIABLES)
    try:
        tree = env.parse(source)
        unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
        if unknown:
            raise TemplateProblem(f"unknown variable {unknown[0]!r}; the variables are listed "
                                  "beside the editor", _line_of(source, unknown[0]))
        for node in tree.find_all((nodes.ScopedEvalContextModifier,
                                   nodes.EvalContextModifier)):
            raise TemplateProblem("{% autoescape %} is not available: what debtors wrote is "
                                  "always escaped", node.lineno)
        for node in tree.find_all((nodes.Macro, nodes.CallBlock)):
            raise TemplateProblem("macros are not available in templates", node.lineno)
        _check_loops(tree)
        template = env.from_string(source)
        # The variables it reads: only these are prepared for it (see Prepared).
        template.relance_names = frozenset(meta.find_undeclared_variables(tree))
        return template
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.message or str(exc), exc.lineno) from None
    except RecursionError:  # ((((... or a|upper|upper|... thousands deep: the parser's stack
        raise TemplateProblem(_("expressions are nested too deeply: split them into steps with "
                                "set")) from None


LISTS = ("invoices", "promise_missed", "payment_failed")  # what a {% for %} may go through


def _root_name(node):
    while isinstance(node, (nodes.Filter, nodes.Getattr, nodes.Getitem, nodes.Test)):
        node = node.node
    return node.name if isinstance(node, nodes.Name) else None


def _check_loops(tree):
    """Loops go through the message's lists (never a text, a number or a range), at most two
    deep, and never recursively: a template's work stays bounded by the data."""
    for loop in tree.find_all(nodes.For):
        if _root_name(loop.iter) not in LISTS:
            raise TemplateProblem("a {% for %} can only go through " + ", ".join(LISTS),
                                  loop.lineno)
        if loop.recursive:
            raise TemplateProblem("recursive loops are not available", loop.lineno)
        for inner in loop.find_all(nodes.For):
            if any(True for _ in inner.find_all(nodes.For)):
                raise TemplateProblem("loops can be nested two deep at most", inner.lineno)


def render(source, part, context):
    """Render `source` with `context` (a dict of facts, or `Prepared` facts shared by the parts
    of one message); TemplateProblem on any failure, never anything else."""
    template = compiled(source, part)
    try:
        with budget():  # this render's own, in whatever thread it runs
            out = template.render(context.form(part, template.relance_names)
                                  if isinstance(context, Prepared) else prepare(context, part))
    except TemplateError as exc:  # undefined attribute, sandbox refusal, bad filter argument
        raise TemplateProblem(str(exc.message or exc), _error_line(exc)) from None
    except RecursionError:
        raise TemplateProblem("the template calls itself without end") from None
    except MemoryError:
        raise TemplateProblem("the template builds a value too large for memory") from None
    except Exception as exc:  # noqa: BLE001 - whatever a template does, the caller gets a reason
        raise TemplateProblem(f"{exc.__class__.__name__}: {exc}", _error_line(exc)) from None
    if len(out) > MAX_OUTPUT:
        raise TemplateProblem(f"the template writes more than {MAX_OUTPUT:,} characters")
    if part == "subject":
        out = re.sub(r"\s+", " ", out).strip()  # one header line, whatever the template says
    elif part == "sms":
        out = sms_text(out)
    return out


# Typography the GSM alphabet lacks, written plainly so one character does not turn the whole
# SMS into UCS-2 (70 characters a segment instead of 160): French amounts carry no-break spaces.
_PLAIN = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2019": "'",
                        "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                        "\u2014": "-", "\u2026": "..."})


def sms_text(out):
    """An SMS on one paragraph per line, trimmed, in plain typography."""
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in out.translate(_PLAIN).splitlines())
    return "\n".join(line for line in lines if line)


class Both:
    """A ready block in its two forms: plain text, and HTML markup built by the code."""

    def __init__(self, text="", html=""):
        self.text, self.html = text, Markup(html)

    def __bool__(self):
        return bool(self.text)


def _prepared(value, html):
    if isinstance(value, Both):
        return value.html if html else value.text
    if isinstance(value, dict):
        return View({k: _prepared(v, html) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return [_prepared(v, html) for v in value]
    if html and isinstance(value, str) and not isinstance(value, Markup):
        # Escaped here, before the template runs: nothing the template says can unescape it.
        return escape(value)  # Markup already
    return value


def prepare(context, part):
    """The context as templates of `part` see it: dicts as objects, ready blocks in the right
    form and, in HTML, every string from a debtor or an import already escaped."""
    html = part == "html"
    return {k: _prepared(v, html) for k, v in context.items()}


class Prepared:
    """One message's facts, each prepared once in each form (plain, HTML) and only when a part
    reads it: subject, text, HTML and letter read the same values (objects without setters,
    strings; the lists copied for each part). A template reads a handful of the ~35 facts:
    preparing them all cost a third of a millisecond a message."""

    def __init__(self, context):
        self.context, self.forms = context, {False: {}, True: {}}

    def form(self, part, names):
        html = part == "html"
        done = self.forms[html]
        for name in names:
            if name not in done and name in self.context:
                done[name] = _prepared(self.context[name], html)
        # Lists copied for each part (a second guard: the sandbox lets no template change one).
        return {name: list(done[name]) if type(done[name]) is list else done[name]
                for name in names if name in done}


def sample_context(lang="fr", legal=False, category="business", level=None, answers=False):
    """Every variable with an example value: templates are tried on such examples before they
    are saved (an attribute that does not exist fails then, with its line, not in tomorrow's
    run). `level` (a policy Level) gives its own facts: no deadline where it gives none, no
    rate where it states no penalties; `answers` adds a missed promise and a failed payment."""
    from datetime import date
    as_of = date(2026, 3, 2)
    states = level is None or level.penalties or level.formal_notice
    consumer = category == "consumer"
    facts = dict(penalties_cents=0 if consumer else 5732, interest_cents=0 if consumer else 1732,
                 indemnity_cents=0 if consumer else 4000,
                 indemnity_each_cents=0 if consumer else 4000,
                 rate_percent="12,15" if states else "", contract_rate=False, as_of=as_of,
                 formal_notice=bool(level and level.formal_notice), invoice_count=2, lang=lang)
    if legal:
        return facts
    first = dict(number="F-2026-001", issue_date=date(2026, 1, 1), due_date=date(2026, 1, 31),
                 total_cents=120_000, balance_cents=120_000, currency="EUR", days_late=30,
                 penalty_cents=5732, promise_date=date(2026, 2, 20) if answers else None,
                 discount=dict(percent="2", cents=2400, pay_cents=117_600,
                               last_day=date(2026, 3, 10)) if answers else None)
    second = dict(first, number="F-2026-002", total_cents=30_000, balance_cents=30_000,
                  days_late=12, penalty_cents=0, promise_date=None, discount=None)
    deadline_days = 8 if level is None else level.deadline_days
    return dict(
        facts,
        debtor=dict(name="Exemple SARL", ref="C-001", email="compta@exemple.fr",
                    phone="+33 1 00 00 00 00", address="1 rue de l'Exemple, 75001 Paris",
                    type=category, language=lang),
        creditor=dict(name="Votre société", address="12 rue des Tanneurs, 69002 Lyon",
                      siren="123 456 789", vat_number="FR00123456789",
                      iban="FR76 3000 6000 0112 3456 7890 189", bic="AGRIFRPPXXX",
                      email="compta@example.fr", phone="+33 4 78 00 00 00", signature="",
                      colour=""),
        invoices=[first, second], what="2 factures" if lang == "fr" else "2 invoices",
        total_cents=150_000, days_late=30, oldest_due_date=date(2026, 1, 31),
        oldest_days_late=30, newest_days_late=12, upcoming_count=1 if answers else 0,
        upcoming_cents=45_000 if answers else 0, owed_cents=195_000 if answers else 150_000,
        deadline=date(2026, 3, 2 + deadline_days) if deadline_days else None,
        deadline_days=deadline_days,
        registered_letter=bool(level and "letter" in level.channels),
        call_planned=bool(level is None or "call" in level.channels),
        formal_notice_follows=level is None or not level.formal_notice,
        restarted=answers, restarted_invoices=[first] if answers else [],
        promise_missed=[first] if answers else [],
        payment_failed=[second] if answers else [], link="https://relance.example/p/exemple",
        link_max_age_days=60, level=1 if level is None else level.number,
        facts=Both("(facts)", "<p>(facts)</p>") if answers else Both(),
        discount_offer=Both("(discount)", "<p>(discount)</p>") if answers else Both(),
        invoice_table=Both("(table)", "<table></table>"),
        legal_notice=Both("(legal)", "(legal)") if states else Both())


def samples(lang, legal=False, level=None):
    """The examples a template must render on: each debtor category, with and without the
    debtor's answers (missed promise, failed payment, copy sent again)."""
    for category in ("business", "consumer", "public"):
        for answers in ((False,) if legal else (False, True)):
            yield sample_context(lang, legal, category, level, answers)
