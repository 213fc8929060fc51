"""Templates the accountant writes, rendered in Jinja's sandbox with a declared set of variables.

Every reminder is worded by a template of the settings: per template key (a level's `template`)
and language, an e-mail `subject`, `text` and `html`, and a `letter` body where a level sends a
letter. The legal sentence of each debtor category is a template too (`legal-business`, ...),
given the penalty facts computed by the code: a template states facts through variables, never
through figures written into it.

Safety: `jinja2.sandbox.SandboxedEnvironment` refuses attributes that reach Python internals;
only the variables of VARIABLES exist (an unknown one is refused when the template is saved, with
its line); the `safe` filter does not exist, and in HTML every value coming from a debtor or an
import is escaped before the template sees it, so no template can put it in the page raw.
"""
import re
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from ..i18n import day, money

LANGUAGES = ("fr", "en")
PARTS = ("subject", "text", "html", "letter")  # letter: only where a level sends a letter
EMAIL_PARTS = ("subject", "text", "html")

# The variables a template may use, with what they hold (listed in the editor and the README).
VARIABLES = {
    "debtor": "the debtor: .name, .ref, .email, .phone, .address, .type (business, consumer, "
              "public), .language",
    "creditor": "your company: .name, .address, .siren, .vat_number, .iban, .bic, .email, "
                ".phone",
    "invoices": "the invoices of this message, each with .number, .issue_date, .due_date, "
                ".total_cents, .balance_cents, .currency, .days_late, .penalty_cents, "
                ".promise_date",
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
    "oldest_due_date": "the earliest due date among the invoices",
    "deadline": "the date this level gives to pay (none when the level gives no deadline)",
    "deadline_days": "the number of days this level gives to pay",
    "formal_notice": "true when this level is the formal notice",
    "registered_letter": "true when a letter goes out with this e-mail",
    "restarted": "true when the debtor said an invoice never arrived and got a copy",
    "promise_missed": "the invoices whose promised payment date passed unpaid",
    "payment_failed": "the invoices whose payment failed (debit refused)",
    "link": "the debtor's personal portal link",
    "link_max_age_days": "how many days the link stays valid",
    "as_of": "the day of the run",
    "level": "the level's number",
    "facts": "a ready sentence about missed promises and failed payments (empty when none)",
    "invoice_table": "the ready table of the invoices (with penalties where stated)",
    "legal_notice": "the legal sentence on penalties for the debtor's category (may be empty)",
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


def _environment(autoescape):
    env = SandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined,
                               keep_trailing_newline=True)
    env.filters.pop("safe", None)  # no way to mark a value as trusted HTML
    env.globals.clear()  # no range(), lipsum, cycler...: only the declared variables
    env.filters["money"] = money
    env.filters["day"] = day
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
    """The compiled template, or TemplateProblem with the line (syntax, unknown variables)."""
    env = environment(part)
    allowed = set(LEGAL_VARIABLES if part == "legal" else VARIABLES)
    try:
        tree = env.parse(source)
        unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
        if unknown:
            raise TemplateProblem(f"unknown variable {unknown[0]!r}; the variables are listed "
                                  "beside the editor", _line_of(source, unknown[0]))
        return env.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.message or str(exc), exc.lineno) from None


def render(source, part, context):
    """Render `source` with `context` (see `context_for`); TemplateProblem on any failure."""
    template = compiled(source, part)
    try:
        out = template.render(prepare(context, part))
    except TemplateError as exc:  # undefined attribute, sandbox refusal, bad filter argument
        raise TemplateProblem(str(exc.message or exc), _error_line(exc)) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateProblem(f"{exc.__class__.__name__}: {exc}", _error_line(exc)) from None
    if part == "subject":
        out = re.sub(r"\s+", " ", out).strip()  # one header line, whatever the template says
    return out


class Both:
    """A ready block in its two forms: plain text, and HTML markup built by the code."""

    def __init__(self, text="", html=""):
        self.text, self.html = text, Markup(html)

    def __bool__(self):
        return bool(self.text)


class View:
    """Read-only attributes for templates (a dict of facts seen as an object)."""

    def __init__(self, values):
        self.__dict__.update(values)

    def __repr__(self):
        return "<" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ">"


def _prepared(value, html):
    if isinstance(value, Both):
        return value.html if html else value.text
    if isinstance(value, dict):
        return View({k: _prepared(v, html) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return [_prepared(v, html) for v in value]
    if html and isinstance(value, str) and not isinstance(value, Markup):
        # Escaped here, before the template runs: nothing the template says can unescape it.
        return Markup(escape(value))
    return value


def prepare(context, part):
    """The context as templates of `part` see it: dicts as objects, ready blocks in the right
    form and, in HTML, every string from a debtor or an import already escaped."""
    html = part == "html"
    return {k: _prepared(v, html) for k, v in context.items()}


def sample_context(lang="fr", legal=False):
    """Every variable with an example value: templates are tried on it before they are saved
    (an attribute that does not exist fails here, with its line, not in tomorrow's run)."""
    from datetime import date
    as_of = date(2026, 3, 2)
    facts = dict(penalties_cents=5732, interest_cents=1732, indemnity_cents=4000,
                 indemnity_each_cents=4000, rate_percent="12,15", contract_rate=False,
                 as_of=as_of, formal_notice=False, invoice_count=1, lang=lang)
    if legal:
        return facts
    invoice = dict(number="F-2026-001", issue_date=date(2026, 1, 1), due_date=date(2026, 1, 31),
                   total_cents=120_000, balance_cents=120_000, currency="EUR", days_late=30,
                   penalty_cents=5732, promise_date=None)
    return dict(
        facts,
        debtor=dict(name="Exemple SARL", ref="C-001", email="compta@exemple.fr",
                    phone="+33 1 00 00 00 00", address="1 rue de l'Exemple, 75001 Paris",
                    type="business", language=lang),
        creditor=dict(name="Votre société", address="12 rue des Tanneurs, 69002 Lyon",
                      siren="123 456 789", vat_number="FR00123456789",
                      iban="FR76 3000 6000 0112 3456 7890 189", bic="AGRIFRPPXXX",
                      email="compta@example.fr", phone="+33 4 78 00 00 00"),
        invoices=[invoice], what="facture F-2026-001" if lang == "fr" else "invoice F-2026-001",
        total_cents=120_000, days_late=30, oldest_due_date=date(2026, 1, 31),
        deadline=date(2026, 3, 10), deadline_days=8, registered_letter=False, restarted=False,
        promise_missed=[], payment_failed=[], link="https://relance.example/p/exemple",
        link_max_age_days=60, level=1, facts=Both(), invoice_table=Both("(table)", "<table></table>"),
        legal_notice=Both("(legal)", "(legal)"))
