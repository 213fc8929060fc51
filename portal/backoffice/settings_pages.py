"""Relance settings in the back office: the policies (levels and their attributes, with the
impact of a change on tomorrow's run before saving), the templates (with a preview for a real
debtor and "reset to the default"), and the history, where any revision can be put back.

Every change goes through `portal.settings.save()`: the whole document is checked (here, by
`parse` before saving: the check that saving makes, given to `save` so that it runs once), and
problems come back named by their path, shown beside the field they concern."""
from collections import Counter
from dataclasses import fields

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from reminders.compose import Item, compose
from reminders.scan import due_reminders

from .. import clock, settings, tenancy
from ..extensions import db
from ..links import portal_url
from ..models import PAID_CENTS, Customer, Invoice
from ..settings.defaults import default_template
from ..settings.document import SettingsInvalid, parse
from ..rules.policies import CHANNELS, POLICY_ATTRIBUTES, TIERS, Policy
from ..settings.templates import LANGUAGES, PARTS, VARIABLES, TemplateProblem, render
from ..web import parse_id
from ..rules.sms_length import length as sms_length
from . import bp
from .forms import PostForm
from .preview import next_run_day

ATTRIBUTE_LABELS = {
    "max_shift_days": _l("Maximum shift for the customer's payment habits (days)"),
    "min_gap_days": _l("Minimum gap between two reminders to one debtor (days)"),
    "promise_grace_days": _l("Grace period after a promised date (business days)"),
    "promise_max_days": _l("Promised date at the latest within (days)"),
    "restart_business_days": _l("“Invoice not received”: reminders start again after "
                                "(business days)"),
    "instalment_hard_max": _l("Instalment plan: maximum number of instalments"),
    "instalment_max_count": _l("Automatic approval: up to (instalments)"),
    "instalment_max_total_cents": _l("Automatic approval: maximum total amount (cents)"),
    "instalment_min_first_percent": _l("Automatic approval: first instalment of at least (%)"),
    "instalment_first_within_days": _l("First instalment at the latest within (days)"),
    "instalment_grace_days": _l("Instalment unpaid for (days): plan broken"),
    "sepa_prenotice_days": _l("SEPA Direct Debit announced (days before)"),
    "discount_days": _l("Early-payment discount: paid within (days of the issue date; empty "
                        "or 0: by the due date)"),
}
MAX_LEVELS = 20  # rows a policy form may send
NUMBER_ATTRIBUTES = [a for a in POLICY_ATTRIBUTES if a in ATTRIBUTE_LABELS]
ATTRIBUTE_DEFAULTS = {f.name: f.default for f in fields(Policy)}
CHANNEL_LABELS = {"email": _l("E-mail"), "sms": _l("SMS"), "letter": _l("Letter"),
                  "call": _l("Call")}
LEVEL_FIELDS = ("offset_days", "deadline_days")
TIER_LABELS = {"key": _l("Key account"), "standard": _l("Standard"), "risky": _l("At risk")}


def _worded(labels):
    """The labels in the language of the page, as plain text (escaped like any other)."""
    return {key: str(label) for key, label in labels.items()}


def _checked():
    if not PostForm().validate_on_submit():
        abort(400)


@bp.get("/settings")
def settings_page():
    current = settings.current()
    return render_template("backoffice/settings.html", current=current,
                           creditor=settings.creditor(), revisions=settings.revisions(),
                           channel_labels=_worded(CHANNEL_LABELS), languages=LANGUAGES,
                           template_keys=_template_keys(current), form=PostForm())


def _template_keys(current):
    return sorted(current.templates, key=lambda k: (k.startswith("legal-"), k))


def _policy_index(document, name):
    for i, policy in enumerate(document["policies"]):
        if policy["name"] == name:
            return i
    abort(404)


def _int(value):
    try:
        return int(str(value).strip())
    except ValueError:
        return str(value)  # kept as typed: the check names it "a whole number"


def _policy_from_form(raw, form):
    """The policy as the form describes it (every value as typed; save() checks it all)."""
    policy = {k: v for k, v in raw.items() if k not in ("levels", "tiers")}
    policy["label"] = form.get("label", policy.get("label", "")).strip()
    ladder = form.get("ladder", "").strip()
    if ladder and ladder != "account":  # the shipped one is not written out
        policy["ladder"] = ladder
    else:
        policy.pop("ladder", None)
    percent = form.get("discount_percent", "").strip()
    if percent:  # kept as text ("1.5"): the check reads it as a Decimal, never a float
        policy["discount_percent"] = percent
    else:  # empty: no early-payment discount
        policy.pop("discount_percent", None)
    for attribute in NUMBER_ATTRIBUTES:
        value = form.get(attribute, "").strip()
        if value:
            policy[attribute] = _int(value)
        else:  # left empty: the shipped value
            policy.pop(attribute, None)
    levels = []
    count = form.get("level_count", "0")
    if not count.isascii() or not count.isdigit() or int(count) > MAX_LEVELS:
        abort(400)
    for i in range(int(count) + 1):
        prefix = f"levels-{i}-"
        if form.get(prefix + "remove") or not form.get(prefix + "offset_days", "").strip():
            continue
        levels.append(dict(
            number=_int(form.get(prefix + "number") or (max([lv["number"] for lv in levels],
                                                               default=-1) + 1)),
            offset_days=_int(form[prefix + "offset_days"]),
            channels=[c for c in CHANNELS if form.get(prefix + "channel-" + c)],
            template=form.get(prefix + "template", ""),
            penalties=bool(form.get(prefix + "penalties")),
            formal_notice=bool(form.get(prefix + "formal_notice")),
            deadline_days=_int(form.get(prefix + "deadline_days") or 0)))
        if form.get(prefix + "variant_template"):  # an A/B test of the level's wording
            levels[-1]["variant_template"] = form[prefix + "variant_template"]
    policy["levels"] = levels
    tiers = {}
    for tier in TIERS:
        overrides = dict((raw.get("tiers") or {}).get(tier, {}))
        offsets = {str(lv["number"]): _int(form[f"tier-{tier}-{lv['number']}"]) for lv in levels
                   if form.get(f"tier-{tier}-{lv['number']}", "").strip()}
        overrides.pop("offsets", None)
        if offsets:
            overrides["offsets"] = offsets
        shift = form.get(f"tier-{tier}-max_shift_days", "").strip()
        overrides.pop("max_shift_days", None)
        if shift:
            overrides["max_shift_days"] = _int(shift)
        if overrides:
            tiers[tier] = overrides
    policy["tiers"] = tiers
    return policy


def impact(as_of, before, after):
    """[(level number, reminders under `before`, under `after`)] for the run of `as_of`."""
    counts = []
    for candidate in (before, after):
        counts.append(Counter(due.level for due in due_reminders(as_of, settings=candidate)))
    levels = sorted(set(counts[0]) | set(counts[1]))
    return [(level, counts[0][level], counts[1][level]) for level in levels]


def _errors_by_field(errors, index):
    """{form field name: [messages]} for the errors of policy `index`; others under "*"."""
    prefix, found = f"policies[{index}]", {}
    for path, message in errors:
        if not path.startswith(prefix):
            found.setdefault("*", []).append(_("%(path)s: %(message)s", path=path,
                                                 message=message))
            continue
        rest = path[len(prefix):].lstrip(".")
        if rest.startswith("levels["):
            number, _sep, field = rest[len("levels["):].partition("].")
            key = f"levels-{number}-{field or 'offset_days'}"
        else:
            key = rest or "*"
        found.setdefault(key, []).append(message)
    return found


@bp.route("/settings/policies/<name>", methods=["GET", "POST"])
def policy_page(name):
    document = settings.editable()
    index = _policy_index(document, name)
    raw, errors, rows = document["policies"][index], {}, None
    as_of = next_run_day(clock.today())
    if request.method == "POST":
        _checked()
        document["policies"][index] = raw = _policy_from_form(raw, request.form)
        try:
            candidate = parse(document)
        except SettingsInvalid as invalid:
            errors = _errors_by_field(invalid.errors, index)
        else:
            if request.form.get("action") == "save":
                revision = settings.save(document, author=current_user.email,
                                         note=_("policy %(name)s", name=name),
                                         checked=candidate)
                db.session.commit()
                flash(_("Policy saved (revision %(number)d).", number=revision.number)
                      if revision else _("Nothing has changed."), "success")
                return redirect(url_for(".policy_page", name=name))
            rows = impact(as_of, settings.current(), candidate)
    return render_template("backoffice/policy.html", policy=raw, name=name, errors=errors,
                           impact=rows, as_of=as_of, channels=CHANNELS,
                           channel_labels=_worded(CHANNEL_LABELS), attributes=NUMBER_ATTRIBUTES,
                           attribute_labels=_worded(ATTRIBUTE_LABELS), tiers=TIERS,
                           defaults=ATTRIBUTE_DEFAULTS,
                           tier_labels=_worded(TIER_LABELS),
                           templates=[k for k in _template_keys(settings.current())
                                      if not k.startswith("legal-")],
                           form=PostForm())


def _sample_debtor(customer_id):
    """A real debtor for the preview: the one chosen, else the one with the oldest open
    invoice; with its open invoices (balances summed by the database)."""
    query = (select(Customer).join(Invoice, Invoice.customer_id == Customer.id)
             .where(Invoice.status == "open"))
    customer = tenancy.own(db.session, Customer, customer_id) if customer_id else None
    if customer is None:
        customer = db.session.scalar(query.order_by(Invoice.due_date).limit(1))
    if customer is None:
        return None, []
    rows = db.session.execute(
        select(Invoice.number, Invoice.issue_date, Invoice.due_date, Invoice.total_cents,
               (Invoice.total_cents - PAID_CENTS).label("balance"), Invoice.currency)
        .where(Invoice.customer_id == customer.id, Invoice.status == "open")
        .order_by(Invoice.due_date).limit(20)).all()
    return customer, rows


def template_preview(candidate, key, lang, customer, rows, as_of):
    """The message as `customer` would get it with the candidate settings, at the first level
    that uses template `key` (its penalties, deadline and channels)."""
    policy = candidate.policy_for(customer.tier, customer.policy)
    level = next((lv for lv in policy.levels if key in (lv.template, lv.variant_template)),
                 None)
    if level is None or not rows:
        return None
    items = [Item(r.number, r.issue_date, r.due_date, r.total_cents, r.balance, level.number,
                  currency=r.currency) for r in rows if r.balance > 0] or None
    if items is None:
        return None
    shown = Customer(id=customer.id, ref=customer.ref, name=customer.name, email=customer.email,
                     phone=customer.phone, address=customer.address, language=lang,
                     tier=customer.tier, policy=customer.policy,
                     debtor_type=customer.debtor_type)
    return compose(shown, items, as_of, portal_url(customer), candidate)


@bp.route("/settings/templates/<key>/<lang>", methods=["GET", "POST"])
def template_page(key, lang):
    document = settings.editable()
    if key not in document["templates"] or lang not in LANGUAGES:
        abort(404)
    parts = dict(document["templates"][key].get(lang) or {})
    legal = key.startswith("legal-")
    wanted = ("text",) if legal else _parts_shown(key, parts, settings.current())
    errors, preview, problem = {}, None, None
    customer_id = parse_id(request.values.get("customer_id"))  # out of range: no choice
    if request.method == "POST":
        _checked()
        action = request.form.get("action")
        if action == "reset":
            parts = default_template(key, lang) or parts
        else:
            parts = {p: request.form.get(p, "").replace("\r\n", "\n") for p in wanted}
        document["templates"][key][lang] = parts
        try:
            candidate = parse(document)
        except SettingsInvalid as invalid:
            for path, message in invalid.errors:
                part = path.rpartition(".")[2] if path.startswith(
                    f"templates.{key}.{lang}.") else "*"
                errors.setdefault(part, []).append(message if part != "*" else _(
                    "%(path)s: %(message)s", path=path, message=message))
        else:
            if action == "save":
                revision = settings.save(document, author=current_user.email,
                                         note=_("template %(key)s (%(lang)s)", key=key,
                                                 lang=lang), checked=candidate)
                db.session.commit()
                flash(_("Template saved (revision %(number)d).", number=revision.number)
                      if revision else _("Nothing has changed."), "success")
                return redirect(url_for(".template_page", key=key, lang=lang,
                                        customer_id=customer_id))
            if action == "reset":
                flash(_("Default text loaded again: save to apply it."), "info")
    else:
        candidate = settings.current()
    customer, rows = _sample_debtor(customer_id)
    sms = None
    if not errors and not legal and customer is not None:
        try:
            preview = template_preview(candidate, key, lang, customer, rows, clock.today())
            if preview is not None and parts.get("sms"):
                link = current_app.config["PORTAL_BASE_URL"].rstrip("/") + "/s/AbCd1234"
                text = render(parts["sms"], "sms", dict(preview.facts, link=link))
                sms = dict(text=text, length=sms_length(text))
        except TemplateProblem as exc:
            problem = str(exc)
    debtors = db.session.execute(
        select(Customer.id, Customer.name).order_by(Customer.name).limit(200)).all()
    return render_template("backoffice/template.html", key=key, lang=lang, parts=parts,
                           wanted=wanted, errors=errors, preview=preview, problem=problem,
                           customer=customer, debtors=debtors, legal=legal, sms=sms,
                           variables=VARIABLES, form=PostForm())


def _parts_shown(key, parts, current):
    """The e-mail's parts, and the letter and the SMS where the template has one or a level
    that writes with it sends one."""
    sends = {channel for policy in current.policies.values() for level in policy.levels
             if key in (level.template, level.variant_template) for channel in level.channels}
    return tuple(p for p in PARTS if p in parts or p not in ("letter", "sms") or p in sends)


@bp.post("/settings/revisions/<int:number>/revert")
def revert_revision(number):
    _checked()
    try:
        revision = settings.revert(number, author=current_user.email)
    except LookupError:
        abort(404)
    except SettingsInvalid as invalid:  # an old revision the current code cannot read
        flash(_("Revision %(number)d cannot be restored: %(error)s", number=number,
                error=invalid), "error")
        return redirect(url_for(".settings_page"))
    db.session.commit()
    flash(_("Revision %(number)d restored (new revision %(new)d).", number=number,
            new=revision.number) if revision
          else _("Revision %(number)d is already the one in force.", number=number), "success")
    return redirect(url_for(".settings_page"))
