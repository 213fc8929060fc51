"""The settings document: read and check a whole document (policies, legal rules, templates)
before anything uses it. Every problem is named by its path in the document, the same path as
in the TOML file (`policies[0].levels[2].offset_days`), so one message serves the back office
and `flask settings import`.

Two ways in. `parse()` is the check made when settings are saved (`portal.settings.save`, the
back-office pages, `flask settings import`): everything, each template compiled and tried on
the examples of every level that writes with it (hundreds of renders, a quarter to half a
second). `load()` reads a document that passed `parse()` when it was saved (a stored revision)
or that a test checks (the shipped defaults, tests/unit/test_shipped_settings.py): the same
checks of shape, policies, legal rules and privacy, with the same messages, but no template is
compiled or tried there: a template is compiled when a message first uses it."""
import re
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation

from ..rules.penalties import RateTable, SemesterRates

from ..rules.policies import (LADDERS, POLICY_ATTRIBUTES, TIER_ATTRIBUTES, TIERS, Level,
                                   Policy, discount_rate, for_tier, level_problems)
from .templates import EMAIL_PARTS, LANGUAGES, PARTS, TemplateProblem, render, samples

SEMESTER = re.compile(r"^(19|20)\d\d-H[12]$")
_POLICY_DEFAULTS = {f.name: f.default for f in fields(Policy) if f.name in POLICY_ATTRIBUTES}


class SettingsInvalid(ValueError):
    """The document cannot be used; `errors` is [(path, message)], every one of them."""

    def __init__(self, errors):
        super().__init__(f"{len(errors)} error(s) in the settings: "
                         + "; ".join(f"{path}: {message}" for path, message in errors[:5]))
        self.errors = errors


@dataclass(frozen=True)
class Legal:
    contract_rate_percent: Decimal | None
    indemnity_cents: int
    rates: RateTable


@dataclass(frozen=True)
class Privacy:
    """How long a debtor's personal data stay once nothing is owed (portal.privacy): months
    from the day the last invoice was settled; then the retention sweep erases them."""
    retention_months: int = 36


RETENTION_MONTHS = (1, 120)  # a month at least; ten years at most (the books' own period)


@dataclass(eq=False)
class Settings:
    document: dict
    policies: dict  # name -> Policy (before tier overrides)
    legal: Legal
    templates: dict  # key -> language -> part -> source
    revision: int = 0
    privacy: Privacy = Privacy()
    _adapted: dict = field(default_factory=dict, repr=False)

    def policy_for(self, tier="standard", name=None):
        """The policy named `name` (None: "default") adapted to `tier`; an unknown name (a
        policy removed since the customer was set to it) falls back to the default policy."""
        key = (tier or "standard", name or "default")
        if key not in self._adapted:
            base = self.policies.get(key[1]) or self.policies["default"]
            self._adapted[key] = for_tier(base, key[0])
        return self._adapted[key]

    def template(self, key, lang):
        """{part: source} of template `key` in `lang` (French where the language is missing)."""
        by_lang = self.templates[key]
        return by_lang.get(lang) or by_lang["fr"]


# Upper bounds of the numbers of a policy: beyond them the dates the schedule computes leave
# the calendar (and no business chases an invoice ten years on).
LIMITS = {"instalment_hard_max": 120, "instalment_max_count": 120,
          "instalment_max_total_cents": 10**12, "instalment_min_first_percent": 100}
MAX_DAYS = 3650


def _int(value, path, errors, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append((path, f"a whole number, not {value!r}"))
        return None
    if minimum is not None and value < minimum:
        errors.append((path, f"at least {minimum}"))
        return None
    if maximum is not None and value > maximum:
        errors.append((path, f"at most {maximum}"))
        return None
    return value


def _decimal(value, path, errors, allow_empty=False):
    if allow_empty and value in ("", None):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
        if not number.is_finite() or number < 0 or number > 100:
            raise InvalidOperation
        return number
    except (InvalidOperation, ValueError):
        errors.append((path, f"a rate in percent between 0 and 100 such as \"2.15\", not {value!r}"))
        return None


def _level(raw, path, errors):
    if not isinstance(raw, dict):
        errors.append((path, "a table with number, offset_days, channels, template"))
        return None
    unknown = set(raw) - {"number", "offset_days", "channels", "template", "penalties",
                          "formal_notice", "deadline_days", "variant_template"}
    for key in sorted(unknown):
        errors.append((f"{path}.{key}", "unknown key"))
    number = _int(raw.get("number"), f"{path}.number", errors, 0, 99)
    offset = _int(raw.get("offset_days"), f"{path}.offset_days", errors, -365, MAX_DAYS)
    deadline = _int(raw.get("deadline_days", 0), f"{path}.deadline_days", errors, 0, 365)
    channels = raw.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        errors.append((f"{path}.channels", "a list such as [\"email\", \"call\"]"))
        channels = None
    template = raw.get("template")
    if not isinstance(template, str) or not template:
        errors.append((f"{path}.template", "the name of a template"))
    variant = raw.get("variant_template", "")
    if not isinstance(variant, str):
        errors.append((f"{path}.variant_template", "the name of a template, or \"\" for none"))
        variant = ""
    elif variant and variant == template:
        errors.append((f"{path}.variant_template", "another template than the level's own "
                                                   "(an A/B test compares two wordings)"))
    flags = {}
    for flag in ("penalties", "formal_notice"):
        flags[flag] = raw.get(flag, False)
        if not isinstance(flags[flag], bool):
            errors.append((f"{path}.{flag}", "true or false"))
    if None in (number, offset, deadline, channels) or not isinstance(template, str):
        return None
    return Level(number, offset, tuple(channels), template, bool(flags["penalties"]),
                 bool(flags["formal_notice"]), deadline, variant)


def _tiers(raw, path, levels, errors):
    if not isinstance(raw, dict):
        errors.append((path, "a table of tiers (key, standard, risky)"))
        return ()
    tiers = []
    for tier, overrides in raw.items():
        where = f"{path}.{tier}"
        if tier not in TIERS:
            errors.append((where, f"unknown tier; use {', '.join(TIERS)}"))
            continue
        if not isinstance(overrides, dict):
            errors.append((where, "a table of attributes"))
            continue
        clean = {}
        for key, value in overrides.items():
            if key == "offsets":
                clean["offsets"] = _offsets(value, f"{where}.offsets", levels, errors)
            elif key not in TIER_ATTRIBUTES:
                errors.append((f"{where}.{key}", "a tier may change only "
                               + ", ".join(TIER_ATTRIBUTES + ("offsets",))))
            elif _typed(value, _POLICY_DEFAULTS[key], f"{where}.{key}", errors):
                clean[key] = tuple(value) if isinstance(value, list) else value
        tiers.append((tier, clean))
    return tuple(tiers)


def _offsets(raw, path, levels, errors):
    numbers = {lv.number for lv in levels}
    if not isinstance(raw, dict):
        errors.append((path, "a table such as { \"1\" = 3, \"2\" = 14 }"))
        return {}
    offsets = {}
    for key, value in raw.items():
        if not re.fullmatch(r"[0-9]{1,2}", str(key)) or int(key) not in numbers:
            errors.append((f"{path}.{key}", "not a level of this policy"))
        elif _int(value, f"{path}.{key}", errors, -365, MAX_DAYS) is not None:
            offsets[int(key)] = value
    return offsets


def _typed(value, default, path, errors):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        key = path.rpartition(".")[2]
        ok = isinstance(value, int) and not isinstance(value, bool) \
            and 0 <= value <= LIMITS.get(key, MAX_DAYS)
    elif isinstance(default, tuple):
        ok = isinstance(value, list) and all(v in TIERS for v in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        errors.append((path, f"expected {_describe(default)}, not {value!r}"))
    return ok


def _describe(default):
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number from 0 to its limit (3650 days, 120 instalments)"
    if isinstance(default, tuple):
        return f"a list of tiers among {', '.join(TIERS)}"
    return "a text"


def _policy(raw, path, errors):
    if not isinstance(raw, dict):
        errors.append((path, "a table"))
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_-]{1,32}", name or ""):
        errors.append((f"{path}.name", "a short name of lowercase letters, digits, - or _"))
        name = None
    attributes = {}
    for key, value in raw.items():
        if key in ("name", "levels", "tiers"):
            continue
        if key not in _POLICY_DEFAULTS:
            errors.append((f"{path}.{key}", "unknown key"))
        elif _typed(value, _POLICY_DEFAULTS[key], f"{path}.{key}", errors):
            attributes[key] = tuple(value) if isinstance(value, list) else value
    _discount_problems(attributes, path, errors)
    if attributes.get("ladder", "account") not in LADDERS:
        errors.append((f"{path}.ladder", f"\"account\" (one ladder per debtor) or \"invoice\" "
                       f"(one per invoice), not {attributes['ladder']!r}"))
    raw_levels = raw.get("levels")
    if not isinstance(raw_levels, list) or not raw_levels:
        errors.append((f"{path}.levels", "a policy needs its levels ([[policies.levels]])"))
        return None
    levels = [_level(lv, f"{path}.levels[{i}]", errors) for i, lv in enumerate(raw_levels)]
    if None in levels:
        return None
    for index, key, message in level_problems(levels):
        errors.append((f"{path}.levels" + (f"[{index}].{key}" if index is not None else ""),
                       message))
    tiers = _tiers(raw.get("tiers", {}), f"{path}.tiers", levels, errors)
    if name is None:
        return None
    policy = Policy(name=name, levels=tuple(levels), tiers=tiers, **attributes)
    for tier, overrides in tiers:  # a tier's own offsets must keep the levels in order
        if not overrides.get("offsets"):
            continue
        for index, key, message in level_problems(list(for_tier(policy, tier).levels)):
            errors.append((f"{path}.tiers.{tier}.offsets", f"level {index}: {message}"))
    return policy


def _discount_problems(attributes, path, errors):
    """The early-payment discount: a percent written as text ("2", "1.5": no float), more than 0
    and less than 100, at most two decimals; a number of days only with a percent."""
    if "discount_percent" in attributes:
        text = attributes["discount_percent"].strip()
        if text and discount_rate(text) is None:
            errors.append((f"{path}.discount_percent", "a percent more than 0 and less than 100 "
                           f"with at most two decimals, as text such as \"2\" or \"1.5\", "
                           f"not {text!r}"))
        elif not text and attributes.get("discount_days"):
            errors.append((f"{path}.discount_days", "a discount period needs a discount_percent"))
    elif attributes.get("discount_days"):
        errors.append((f"{path}.discount_days", "a discount period needs a discount_percent"))


def _legal(raw, errors):
    if not isinstance(raw, dict):
        errors.append(("legal", "a table"))
        return None
    contract = _decimal(raw.get("contract_rate_percent", ""), "legal.contract_rate_percent",
                        errors, allow_empty=True)
    indemnity = _int(raw.get("indemnity_cents", 4000), "legal.indemnity_cents", errors, 0,
                     100_000)
    rows = []
    rates = raw.get("rates") or []
    if not isinstance(rates, list):
        errors.append(("legal.rates", "a list of semesters ([[legal.rates]])"))
        rates = []
    for i, row in enumerate(rates):
        path = f"legal.rates[{i}]"
        if not isinstance(row, dict) or not SEMESTER.match(str(row.get("semester", ""))):
            errors.append((f"{path}.semester", "a semester such as \"2026-H1\""))
            continue
        values = [_decimal(row.get(k), f"{path}.{k}", errors)
                  for k in ("ecb_percent", "legal_individual_percent", "legal_other_percent")]
        if None not in values:
            rows.append(SemesterRates(row["semester"], *values))
    if not rows:
        errors.append(("legal.rates", "at least one semester of rates"))
        return None
    try:
        table = RateTable(rows)
    except ValueError as exc:
        errors.append(("legal.rates", str(exc)))
        return None
    if contract is not None:
        # L441-10: a contract may not set less than three times the legal interest rate.
        floor = 3 * table.latest.legal_other_percent
        if contract < floor:
            errors.append(("legal.contract_rate_percent", f"at least three times the legal "
                           f"interest rate ({floor} % in {table.latest.semester}, L441-10), "
                           "or empty for the legal rate"))
    return Legal(contract, indemnity, table)


def _privacy(raw, errors):
    """The [privacy] table; absent (a document saved before it existed): the defaults."""
    if raw is None:
        return Privacy()
    if not isinstance(raw, dict):
        errors.append(("privacy", "a table such as [privacy] retention_months = 36"))
        return None
    for key in sorted(set(raw) - {"retention_months"}):
        errors.append((f"privacy.{key}", "unknown key; the key is retention_months"))
    months = _int(raw.get("retention_months", Privacy.retention_months),
                  "privacy.retention_months", errors, *RETENTION_MONTHS)
    return None if months is None else Privacy(months)


def _templates(raw, policies, errors, trial=True):
    if not isinstance(raw, dict):
        errors.append(("templates", "a table of templates"))
        return {}
    needed = {}  # key -> parts every language must have
    for policy in policies:
        for level in policy.levels:
            for key in _keys(level):
                parts = needed.setdefault(key, set(EMAIL_PARTS))
                parts.update(p for p in ("letter", "sms") if p in level.channels)
    for category in ("business", "consumer", "public"):
        needed[f"legal-{category}"] = {"text"}
    for key, parts in sorted(needed.items()):
        for lang in LANGUAGES:
            have = _parts(raw, key, lang)
            for part in sorted(parts - set(have)):
                errors.append((f"templates.{key}.{lang}.{part}", "missing"))
    broken = set()
    for key, by_lang in raw.items():
        if not isinstance(by_lang, dict):
            errors.append((f"templates.{key}", "a table per language"))
            continue
        for lang, parts in by_lang.items():
            path = f"templates.{key}.{lang}"
            if lang not in LANGUAGES or not isinstance(parts, dict):
                errors.append((path, f"a table per language among {', '.join(LANGUAGES)}"))
                continue
            for part, source in parts.items():
                found = template_errors(key, lang, part, source, trial)
                errors.extend(found)
                if found:
                    broken.add((key, lang, part))
    if not trial:  # load(): the trial renders were made when the document was saved
        return raw
    # Each level's templates, on that level's own facts (no deadline where it gives none...):
    # what passes here is what the run will render.
    for i, policy in enumerate(policies):
        for level in policy.levels:
            for key, lang in ((k, lang) for k in _keys(level) for lang in LANGUAGES):
                for part, source in _parts(raw, key, lang).items():
                    if (key, lang, part) in broken or part not in PARTS:
                        continue
                    if part in ("letter", "sms") and part not in level.channels:
                        continue
                    problem = _first_problem(source, part, samples(lang, level=level))
                    if problem:
                        broken.add((key, lang, part))
                        errors.append((f"templates.{key}.{lang}.{part}",
                                       f"at level {level.number} of policy "
                                       f"{policy.name!r}: {problem}"))
    return raw


def _keys(level):
    """The templates a level writes with: its own, and its A/B variant's."""
    return (level.template, level.variant_template) if level.variant_template \
        else (level.template,)


def _parts(raw, key, lang):
    by_lang = raw.get(key)
    parts = by_lang.get(lang) if isinstance(by_lang, dict) else None
    return parts if isinstance(parts, dict) else {}


def _first_problem(source, part, contexts):
    if not isinstance(source, str):
        return None
    for context in contexts:
        try:
            render(source, part, context)
        except TemplateProblem as problem:
            return str(problem)
    return None


def template_errors(key, lang, part, source, trial=True):
    """[(path, message)] for one template part: syntax, unknown variables, and trial renders
    on example debtors of each category, with and without answers (an attribute that does not
    exist, a refused operation, a date that is not there). Without `trial`, its shape only
    (a known part, a text, a subject not empty, a length): nothing compiled or rendered."""
    path = f"templates.{key}.{lang}.{part}"
    legal = key.startswith("legal-")
    if (legal and part != "text") or (not legal and part not in PARTS):
        return [(path, "unknown part; a template has " + ("text" if legal else ", ".join(PARTS)))]
    if not isinstance(source, str):
        return [(path, "a text")]
    if part == "subject" and not source.strip():
        return [(path, "a subject cannot be empty")]
    if len(source) > 100_000:
        return [(path, "longer than 100,000 characters")]
    if not trial:
        return []
    problem = _first_problem(source, "legal" if legal else part, samples(lang, legal=legal))
    if not problem and part == "sms":
        problem = sms_problem(source, lang)
    return [(path, problem)] if problem else []


def sms_problem(source, lang):
    """Why an SMS template cannot be used as it is: empty, or longer than MAX_SEGMENTS segments
    on the examples (each segment is billed; a long SMS also reads badly)."""
    from ..rules.sms_length import MAX_SEGMENTS, length
    for context in samples(lang):
        text = render(source, "sms", dict(context, link=SAMPLE_SHORT_LINK))
        if not text:
            return "an SMS cannot be empty"
        size = length(text)
        if size.segments > MAX_SEGMENTS:
            return (f"the SMS takes {size.segments} segments ({size.units} characters, "
                    f"{size.encoding}): keep it within {MAX_SEGMENTS} "
                    f"({MAX_SEGMENTS * (153 if size.encoding == 'GSM-7' else 67)} characters)")
    return None


SAMPLE_SHORT_LINK = "https://relance.example/s/AbCd1234"


def parse(document, revision=0):
    """A checked Settings, or SettingsInvalid naming every problem; never anything else. The
    check made when a document is saved: every template tried on the examples."""
    return _read(document, revision, True)


def load(document, revision=0):
    """The Settings of a document checked when it was saved (a stored revision) or by the
    suite (the shipped defaults): parse() without the templates' trial renders, a few
    milliseconds instead of half a second in every process. SettingsInvalid as parse() for
    what it still checks (shape, policies, legal rules, privacy)."""
    return _read(document, revision, False)


def _read(document, revision, trial):
    try:
        return _parse(document, revision, trial)
    except SettingsInvalid:
        raise
    except Exception as exc:  # noqa: BLE001 - a shape no check foresaw: still an answer
        raise SettingsInvalid([("(settings)", f"cannot be read ({exc.__class__.__name__}: "
                                               f"{exc}); compare with `flask settings export`")]) \
            from None


def _parse(document, revision, trial):
    errors = []
    if not isinstance(document, dict):
        raise SettingsInvalid([("", "the settings are a table")])
    for key in sorted(set(document) - {"creditor", "policies", "legal", "templates",
                                        "privacy"}):
        errors.append((key, "unknown section; the sections are creditor, policies, legal, "
                       "templates, privacy"))
    raw_policies = document.get("policies")
    policies = {}
    if not isinstance(raw_policies, list) or not raw_policies:
        errors.append(("policies", "at least one policy ([[policies]])"))
        raw_policies = []
    for i, raw in enumerate(raw_policies):
        policy = _policy(raw, f"policies[{i}]", errors)
        if policy is None:
            continue
        if policy.name in policies:
            errors.append((f"policies[{i}].name", f"a second policy named {policy.name!r}"))
        policies[policy.name] = policy
    if raw_policies and "default" not in policies and not any(
            p == "policies" or p.endswith(".name") for p, _ in errors):
        errors.append(("policies", "one policy must be named \"default\""))
    legal = _legal(document.get("legal"), errors)
    templates = _templates(document.get("templates"), list(policies.values()), errors, trial)
    privacy = _privacy(document.get("privacy"), errors)
    if errors:
        raise SettingsInvalid(errors)
    return Settings(document, policies, legal, templates, revision, privacy)
