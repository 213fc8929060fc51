"""The debtor's timeline written for people: one sentence per event, in the reader's language,
with amounts and dates formatted and links to what it concerns (the message as sent, the plan).
The same sentences go into the CSV export. What a debtor wrote is quoted as they wrote it (the
page escapes it). An event kind without a sentence here is still shown, plainly."""
from dataclasses import dataclass, field
from datetime import date

from flask import url_for
from flask_babel import gettext as _, lazy_gettext as _l

from ..i18n import current_lang, day, money
from .inbox import OUTCOMES, task_label

GROUPS = {
    "messages": _l("Messages"), "answers": _l("Customer's answers"),
    "payments": _l("Payments"), "notes": _l("Accountant"), "ledger": _l("Invoices"),
}
ACTORS = {"debtor": _l("customer"), "accountant": _l("accountant"), "system": _l("Relance"),
          "stripe": _l("Stripe"), "api": _l("API"), "import": _l("import")}
HOLDS = {"promise": _l("promised payment"), "not_received": _l("invoice not received"),
         "dispute": _l("dispute"), "payment_pending": _l("payment pending"),
         "manual_pause": _l("held by the accountant"), "plan": _l("instalment plan"),
         "instalment_request": _l("instalment request"),
         "payment_failed": _l("failed direct debit")}

HANDED_TO = {"bailiff": _l("to a bailiff"), "injonction": _l("for an injonction de payer")}


@dataclass
class Line:
    at: object
    actor: str
    text: str
    group: str
    links: list = field(default_factory=list)  # (label, url)


def _money(cents):
    return money(cents or 0, current_lang())


def _day(value):
    if not value:
        return ""
    return day(date.fromisoformat(value) if isinstance(value, str) else value, current_lang())


def _invoices(d, number=None):
    numbers = d.get("invoices") or ([d["number"]] if d.get("number") else [])
    if not numbers and number:
        numbers = [number]
    return ", ".join(numbers) or "—"


def _message_link(d):
    mid = d.get("message_id")
    return [(_("see the message"), url_for("backoffice.message", message_id=mid))] if mid else []


def _plan_link(d):
    pid = d.get("plan_id")
    return [(_("see the plan"), url_for("backoffice.plan", plan_id=pid))] if pid else []


def _reminder(kind, d, number):
    invoices = _invoices(d, number)
    if kind == "reminder_sent":
        return _("Reminder level %(level)s sent by e-mail — %(invoices)s",
                 level=d.get("level"), invoices=invoices), _message_link(d)
    if kind == "reminder_no_address":
        return _("Reminder level %(level)s not sent: no e-mail address on file — add one "
                 "below (%(invoices)s)", level=d.get("level"), invoices=invoices), []
    if kind == "reminder_rejected":
        return _("Reminder level %(level)s refused by the mail server for %(to)s: %(reason)s",
                 level=d.get("level"), to=d.get("recipients", ""),
                 reason=d.get("reason", "")), []
    return _("Reminder level %(level)s not written, a template failed (%(reason)s) — "
             "%(invoices)s", level=d.get("level"), reason=d.get("reason", ""),
             invoices=invoices), []


def _payment(kind, d, number):
    amount, invoices = _money(d.get("amount_cents")), _invoices(d, number)
    texts = {
        "payment_recorded": _l("Payment of %(amount)s received — %(invoices)s"),
        "payment_started": _l("Online payment of %(amount)s started — %(invoices)s"),
        "payment_pending": _l("Payment of %(amount)s pending (SEPA Direct Debit) — "
                              "%(invoices)s"),
        "payment_succeeded": _l("Online payment of %(amount)s succeeded — %(invoices)s"),
        "payment_failed": _l("Payment of %(amount)s failed — %(invoices)s"),
        "payment_refunded": _l("Payment of %(amount)s refunded — %(invoices)s"),
        "payment_disputed": _l("Payment of %(amount)s disputed at the bank — %(invoices)s"),
        "payment_review": _l("Payment of %(amount)s to check before it counts — %(invoices)s"),
        "payment_cancelled": _l("Online payment of %(amount)s abandoned — %(invoices)s"),
    }
    if kind == "payment_partly_refunded":
        return _("Refunds on a payment: %(amount)s in all", amount=_money(
            d.get("refunded_cents"))), []
    if kind == "collection_failed":
        return _("An instalment's debit could not be asked for: %(reason)s",
                 reason=d.get("reason", "")), _plan_link(d)
    if kind == "mandate_signed":
        return _("SEPA mandate signed: the instalments will be debited"), _plan_link(d)
    text = texts.get(kind)
    if not text:
        return None
    text = str(text) % {"amount": amount, "invoices": invoices}
    if d.get("discount_cents"):  # granted with the payment (portal.rules.discount)
        text += " " + _("(early-payment discount of %(amount)s)",
                        amount=_money(d["discount_cents"]))
    return text, []


def _hold(kind, d, number):
    released = kind.endswith("_released")
    what = HOLDS.get(kind[len("hold_"):-len("_released")] if released else kind[len("hold_"):],
                     kind)
    number = d.get("number") or number or "—"
    if released:
        return _("Invoice %(number)s: %(what)s over", number=number, what=what), []
    if kind == "hold_promise":
        return _("Promised to pay invoice %(number)s on %(day)s", number=number,
                 day=_day(d.get("until"))), []
    if kind == "hold_not_received":
        return _("Said invoice %(number)s never arrived: a copy was sent, reminders start "
                 "again later", number=number), []
    if kind == "hold_dispute":
        return _("Disputes invoice %(number)s (%(reason)s): its reminders wait",
                 number=number, reason=d.get("reason", "")), []
    if kind == "hold_manual_pause" and d.get("reason"):
        if d.get("until"):
            return _("Invoice %(number)s put on hold until %(day)s: %(reason)s", number=number,
                     day=_day(d.get("until")), reason=d["reason"]), []
        return _("Invoice %(number)s put on hold: %(reason)s", number=number,
                 reason=d["reason"]), []
    return _("Invoice %(number)s: reminders paused (%(what)s)", number=number, what=what), []


def _plan(kind, d, number):
    if kind == "plan_requested":
        return _("Asked for an instalment plan: %(count)s instalments, %(amount)s, the first "
                 "on %(day)s — %(invoices)s", count=d.get("count"),
                 amount=_money(d.get("total_cents")), day=_day(d.get("first_date")),
                 invoices=_invoices(d)), _plan_link(d)
    texts = {
        "plan_waiting": _l("The instalment plan waits for a decision (%(why)s)"),
        "plan_approved": _l("Instalment plan approved %(how)s"),
        "plan_countered": _l("Counter-proposal: %(count)s instalments from %(day)s"),
        "plan_rejected": _l("Instalment plan refused: %(note)s"),
        "plan_counter_accepted": _l("Accepted the counter-proposal"),
        "plan_counter_declined": _l("Declined the counter-proposal"),
        "plan_broken": _l("Instalment plan broken: an instalment stayed unpaid"),
        "plan_completed": _l("Instalment plan paid in full"),
    }
    text = texts.get(kind)
    if text is None:
        return None
    how = _("automatically, within the policy") if d.get("auto") else \
        _("by %(who)s", who=d.get("by") or "")
    why = d.get("why")
    return str(text) % {"why": ", ".join(why) if isinstance(why, list) else (why or ""),
                        "how": how, "count": d.get("count"), "day": _day(d.get("first_date")),
                        "note": d.get("note") or ""}, _plan_link(d)


def _other(kind, d, number):
    number = d.get("number") or number or "—"
    if kind == "message":
        return _("Wrote about invoice %(number)s (%(reason)s): “%(text)s”", number=number,
                 reason=d.get("reason", ""), text=d.get("text", "")), []
    if kind == "note":
        links = [(_("attachment: %(file)s", file=d["filename"]),
                  url_for("backoffice.attachment", attachment_id=d["attachment_id"]))
                 ] if d.get("attachment_id") else []
        return _("Note: “%(text)s”", text=d.get("text", "")), links
    if kind == "call":
        text = _("Phone call: reached") if d.get("reached") else _("Phone call: not reached")
        if d.get("promise_date"):
            text += " — " + _("promised to pay on %(day)s", day=_day(d["promise_date"]))
        if d.get("notes"):
            text += " — “%s”" % d["notes"]
        return text, []
    if kind == "collector_changed":
        return _("Collector: %(user)s", user=d.get("collector") or _("nobody")), []
    if kind == "work_done":
        return _work_done(d), []
    texts = {
        "call_task_queued": _l("Phone call to make — %(invoices)s"),
        "letter_task_queued": _l("Letter to post — %(invoices)s"),
        "call_task_done": _l("Phone call done"),
        "letter_task_done": _l("Letter posted"),
        "portal_visit": _l("Opened the portal"),
        "invoice_downloaded": _l("Downloaded invoice %(number)s"),
        "copy_not_sent": _l("The copy of invoice %(number)s could not be sent: %(reason)s"),
        "link_resent": _l("A fresh link was sent"),
        "link_not_resent": _l("A fresh link could not be sent: %(reason)s"),
        "links_revoked": _l("Every link sent so far was revoked"),
        "reminders_resumed": _l("Reminders resumed"),
        "contact_changed": _l("Contact details: %(before)s → %(after)s"),
        "tier_changed": _l("Category, type and policy: %(before)s → %(after)s"),
        "invoice_imported": _l("Invoice %(number)s imported: %(amount)s due on %(day)s"),
        "invoice_updated": _l("Invoice %(number)s updated: %(amount)s"),
    }
    if kind == "letter_task_queued" and d.get("by_post"):
        return _("Letter prepared for the postal provider — %(invoices)s",
                 invoices=_invoices(d, number)), _message_link(d)
    if kind == "handed_over":
        to = HANDED_TO.get(d.get("to"), d.get("to"))
        links = [(_("the dossier (ZIP)"), url_for("backoffice.attachment",
                                                  attachment_id=d["attachment_id"]))
                 ] if d.get("attachment_id") else []
        return _("File handed over (%(to)s) for %(amount)s — %(invoices)s: reminders stopped",
                 to=to, amount=_money(d.get("amount_cents")), invoices=_invoices(d)), links
    if kind == "handover_closed":
        return _("Case closed: the invoices handed over are paid — %(invoices)s",
                 invoices=_invoices(d)), []
    if kind == "reminders_paused":
        until = d.get("until")
        return (_("Reminders suspended until %(day)s", day=_day(until)) if until
                else _("Reminders suspended")), []
    text = texts.get(kind)
    if text is None:
        return None
    links = _message_link(d) if kind.endswith("_task_queued") else []
    return str(text) % {
        "invoices": _invoices(d, number), "number": number, "reason": d.get("reason", ""),
        "before": " / ".join(map(str, d.get("before") or [])),
        "after": " / ".join(map(str, d.get("after") or [])),
        "amount": _money(d.get("amount_cents")), "day": _day(d.get("due_date"))}, links


def _sms(kind, d, number):
    """The SMS of a reminder: sent, delivered or not, why none went, STOP and replies."""
    texts = {
        "sms_sent": _l("SMS sent to %(to)s (level %(level)s, %(segments)s segment(s))"),
        "sms_delivered": _l("SMS delivered to %(to)s"),
        "sms_undelivered": _l("SMS not delivered to %(to)s (%(error)s)"),
        "sms_failed": _l("SMS refused for %(to)s: %(reason)s"),
        "sms_not_sent": _l("No SMS at level %(level)s: %(why)s"),
        "sms_opted_out": _l("No more SMS (%(how)s)"),
        "sms_opted_in": _l("SMS allowed again"),
        "sms_reply": _l("Replied by SMS from %(number)s: “%(text)s”"),
    }
    text = texts.get(kind)
    if text is None:
        return None
    why = {"no mobile number on file": _("no mobile number on file"),
           "the debtor asked for no more SMS": _("the debtor asked for no more SMS"),
           }.get(d.get("reason"), d.get("reason", ""))
    how = {"debtor": _("the debtor replied STOP"), "provider": _("the provider refuses the "
                                                                  "number: STOP sent earlier"),
           }.get(d.get("by"), _("decided by %(who)s", who=d.get("by") or ""))
    if kind == "sms_not_sent" and d.get("reason") == "paid or on hold since the reminder":
        why = _("paid or put on hold since the reminder")
    return str(text) % {"to": d.get("to", ""), "level": d.get("level", ""),
                        "segments": d.get("segments", 1), "reason": d.get("reason", ""),
                        "error": d.get("error_code") or "—", "why": why, "how": how,
                        "number": d.get("number", ""), "text": d.get("text", "")}, []


LETTER_STATUS = {"PENDING": _l("waiting to be printed"), "ACCEPTED": _l("accepted for printing"),
                 "PROCESSED": _l("printed and handed to La Poste"),
                 "PROCESSED_WITH_ERRORS": _l("processed with errors"),
                 "REJECTED": _l("rejected by the provider"), "CANCELED": _l("cancelled")}


def _letter(kind, d, number):
    """A registered letter sent through the postal provider, and what became of it."""
    texts = {
        "letter_posted": _l("Registered letter handed to %(provider)s (level %(level)s) — "
                            "%(invoices)s"),
        "letter_not_posted": _l("Letter not sent by the postal provider: %(reason)s — to post "
                                "by hand"),
        "letter_status": _l("Registered letter %(number)s: %(status)s"),
        "letter_delivery": _l("Registered letter %(number)s: %(status)s"),
        "letter_deposit_proof": _l("Deposit proof of registered letter %(number)s"),
    }
    text = texts.get(kind)
    if text is None:
        return None
    links = [(_("deposit proof: %(file)s", file=d["filename"]),
              url_for("backoffice.attachment", attachment_id=d["attachment_id"]))
             ] if d.get("attachment_id") else []
    status = d.get("status", "")
    return str(text) % {
        "provider": (d.get("provider") or "").capitalize(), "level": d.get("level", ""),
        "invoices": _invoices(d, number), "reason": d.get("reason", ""),
        "number": d.get("registered_number") or "", "status": str(LETTER_STATUS.get(
            status, status))}, links


def _work_done(d):
    """A task of the worklist done, with its outcome and the accountant's note."""
    text = _("Task done: %(task)s — %(outcome)s", task=task_label(d.get("task") or ""),
             outcome=OUTCOMES.get(d.get("outcome"), d.get("outcome") or "—"))
    return text + (" — “%s”" % d["note"] if d.get("note") else "")


def _group(kind, actor):
    if kind.startswith(("reminder_", "call_task_queued", "letter_task_queued", "letter_",
                        "sms_sent",
                        "sms_delivered", "sms_undelivered", "sms_failed", "sms_not_sent")):
        return "messages"
    if kind.startswith(("payment_", "collection_", "mandate_")):
        return "payments"
    if kind.startswith("invoice_") and actor != "debtor":
        return "ledger"
    if actor == "debtor" or kind.startswith(("hold_promise", "hold_not_received",
                                             "hold_dispute", "plan_requested", "plan_counter")):
        return "answers"
    return "notes"


# Events about one invoice whose line links to the invoice itself.
INVOICE_EVENTS = ("invoice_imported", "invoice_updated", "invoice_downloaded", "message",
                  "hold_not_received", "hold_dispute", "hold_promise", "hold_manual_pause")


def describe(event, number=None):
    """The sentence, group and links for one event (`number`: its invoice's, when known)."""
    d, kind = event.details or {}, event.kind
    for family in (_reminder if kind.startswith("reminder_") else None,
                   _payment if kind.startswith(("payment_", "collection_", "mandate_")) else None,
                   _hold if kind.startswith("hold_") else None,
                   _plan if kind.startswith("plan_") else None,
                   _sms if kind.startswith("sms_") else None,
                   _letter if kind.startswith("letter_") else None, _other):
        if family is None:
            continue
        found = family(kind, d, number)
        if found:
            text, links = found
            break
    else:
        text = kind.replace("_", " ") + (" — " + ", ".join(
            f"{k}: {v}" for k, v in d.items() if v not in (None, "", [], {})) if d else "")
        links = []
    if event.invoice_id and kind in INVOICE_EVENTS:
        links = links + [(_("the invoice (PDF)"),
                          url_for("backoffice.invoice_pdf", invoice_id=event.invoice_id))]
    actor = str(ACTORS.get(event.actor, event.actor))
    if event.actor == "accountant" and d.get("by"):
        actor = f"{actor} ({d['by']})"
    return Line(event.at, actor, str(text), _group(kind, event.actor), links)


# How states and codes read on the pages (the codes stay in the data and the exports).
WORDS = {
    "invoice": {"open": _l("open"), "paid": _l("paid"), "cancelled": _l("cancelled")},
    "payment": {"created": _l("started"), "pending": _l("pending"), "succeeded": _l("received"),
                "failed": _l("failed"), "refunded": _l("refunded"), "disputed": _l("disputed"),
                "review": _l("to check"), "cancelled": _l("abandoned")},
    "plan": {"requested": _l("requested"), "approved": _l("approved"),
             "countered": _l("counter-proposed"), "rejected": _l("refused"),
             "broken": _l("broken"), "completed": _l("paid in full")},
    "source": {"stripe": _l("online"), "demo": _l("online (demo)"), "api": _l("API"),
               "csv": _l("bank transfer"), "manual": _l("recorded by hand"),
               "bank": _l("bank statement"),
               "import": _l("import")},
    "method": {"card": _l("card"), "sepa_debit": _l("SEPA Direct Debit")},
    "hold": HOLDS,
    "handover": {"bailiff": _l("bailiff"), "injonction": _l("injonction de payer")},
    "role": {"accountant": _l("accountant"), "admin": _l("administrator")},
    "tier": {"key": _l("key account"), "standard": _l("standard"), "risky": _l("at risk")},
    "debtor_type": {"business": _l("business"), "consumer": _l("consumer"),
                    "public": _l("public buyer")},
}


def say(kind, code):
    """The words for a code (`say("invoice", "open")` -> "ouverte"); the code if unknown."""
    word = WORDS.get(kind, {}).get(code)
    return str(word) if word is not None else code
