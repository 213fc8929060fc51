"""The budget of one render of the accountant's templates: it holds in any thread.

Why: a template is code written by someone who is not a programmer of this project. Jinja's
sandbox keeps it away from Python's internals, not from work: a loop over the characters of a
long text, a number squared twenty times, a text doubled with `~` or a `format` width of a
billion can hold a worker for minutes or allocate gigabytes (FINDINGS D3). A signal stops a
render only in the main thread, and gunicorn's threads, the development server and any
threaded server render elsewhere. So each render carries its own Budget (a ContextVar: one
per thread, one per render, nothing shared), and the sandbox spends it at checkpoints: every
loop turn, operator, call, filter, attribute and written value costs a step and looks at the
deadline. Every value a template builds is measured BEFORE it is built (its size predicted
from its parts), so that no single step can allocate much; lists and dicts cannot be changed
in place (a list's size is known when it is made, and stays so). The sandbox that spends
it is in sandbox.py.
"""
import codecs
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from flask import has_request_context
from flask_babel import gettext
from jinja2.exceptions import SecurityError

MAX_STEPS = 100_000  # loop turns, operations, calls, attributes and values written, per render
MAX_CHARS = 10_000_000  # characters a render may build and write in all
MAX_VALUE = 1_000_000  # characters (or items) of one value a template builds
MAX_TEXT = 20_000  # characters or items a repetition (`*`) may build
MAX_POWER = 64
MAX_NUMBER = 10**18  # integers beyond are refused (amounts are cents: 10**16 euros)
MAX_WIDTH = 100  # widths and precisions of a format, digits of a rounding
RENDER_SECONDS = 2  # a render that takes longer is stopped, in any thread


def _(message, **values):
    """`message` in the reader's language on a page (the accountant's editor), in English
    elsewhere (the run's events, the CLI): templates are rendered in both, and outside a
    request Flask-Babel would ask a request for the language."""
    if has_request_context():
        return gettext(message, **values)
    return message % values if values else message


class OverBudget(SecurityError):
    """A template that asks for more work or memory than one message may take."""


class View:
    """Read-only attributes for templates (a dict of facts seen as an object)."""

    def __init__(self, values):
        self.__dict__.update(values)

    def __repr__(self):
        return "<" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ">"


class Budget:
    """What one render may still spend: steps, characters, time."""

    __slots__ = ("steps", "chars", "deadline")

    def __init__(self, steps=MAX_STEPS, chars=MAX_CHARS, seconds=RENDER_SECONDS):
        self.steps, self.chars = steps, chars
        self.deadline = time.monotonic() + seconds

    def spend(self, steps=1, chars=0):
        self.steps -= steps
        self.chars -= chars
        if self.steps < 0:
            raise OverBudget(_("the template takes more than %(limit)s steps (loop turns, "
                               "operations, values written): loop through fewer items or do "
                               "less in each turn", limit=MAX_STEPS))
        if self.chars < 0:
            raise OverBudget(_("the template builds more than %(limit)s characters in all: "
                               "write shorter texts, or write them fewer times",
                               limit=MAX_CHARS))
        if time.monotonic() > self.deadline:
            raise OverBudget(_("the template took more than %(seconds)s s: loop through fewer "
                               "items or do less in each turn", seconds=RENDER_SECONDS))


_BUDGET = ContextVar("relance_template_budget", default=None)


@contextmanager
def budget(**limits):
    """A fresh Budget for the render inside the block (in this thread only)."""
    token = _BUDGET.set(Budget(**limits))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def spend(steps=1, chars=0):
    """Spend from the render's budget; nothing outside a render (Jinja folds constants at
    compile time with the same filters)."""
    current = _BUDGET.get()
    if current is not None:
        current.spend(steps, chars)


def weight(value, limit=MAX_VALUE):
    """About how many characters `value` makes once written (texts their length, numbers
    their digits, lists, dicts and View objects their parts), counted until `limit` is passed.
    Why: writing out or comparing a list costs what all its parts cost, and a list can hold
    the same big text (or list) many times. Each list is walked once (`seen`), so that a list
    made of twice the same list twice, forty times, is weighed in forty steps."""
    if isinstance(value, (str, bytes)):
        return len(value)
    return _weigh(value, limit, {}, 0)


def _weigh(item, limit, seen, depth):
    if isinstance(item, (str, bytes)):
        return len(item)
    if isinstance(item, int):
        return item.bit_length() * 3 // 10 + 1
    if not isinstance(item, (list, tuple, dict, View)):
        return 8
    if id(item) in seen:
        return seen[id(item)]
    if depth > 100:
        return limit + 1  # deeper than any message needs: weighed as too heavy
    seen[id(item)] = limit + 1  # a list inside itself weighs more than any limit
    parts = vars(item) if isinstance(item, View) else item
    total = 2 + len(parts)
    for part in (*parts, *parts.values()) if isinstance(parts, dict) else parts:
        total += _weigh(part, limit - total, seen, depth + 1)
        if total > limit:
            break
    seen[id(item)] = total
    return total


def weights(values, limit=MAX_VALUE):
    total = 0
    for value in values:
        total += weight(value, limit - total)
        if total > limit:
            break
    return total


def built(size, charge=None):
    """Refuse a value of `size` characters before it is made; count it in the render's."""
    if size > MAX_VALUE:
        raise OverBudget(_("a value of more than %(limit)s characters or items cannot be built "
                           "in a template", limit=MAX_VALUE))
    spend(0, size if charge is None else charge)


def number(value):
    """An integer result within MAX_NUMBER, or the reason it is refused."""
    if isinstance(value, int) and abs(value) > MAX_NUMBER:
        too_big()
    return value


def too_big():
    raise OverBudget(_("numbers are limited to 10^18 in templates: amounts are in cents, "
                       "compute with smaller numbers"))


def written(value):
    """Every value a template writes (Jinja's finalize): a step, and its characters counted
    before it is turned into text."""
    current = _BUDGET.get()
    if current is not None:
        current.spend(1, weight(value, max(current.chars, 0) + 1))
    return value


# Methods of texts, numbers and dicts that can make far more than they are given: the size
# of what they would make, from their arguments (the others make at most a few times their
# owner's size, which is bounded already).
def _width(owner, width, fill=" "):
    return max(len(owner), width)


def _tabs(owner, tabsize=8):
    return len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * max(tabsize, 0)


def _replaced(owner, old, new, count=-1):
    found = len(owner) + 1 if not old else owner.count(old)
    found = min(found, count) if count >= 0 else found
    return len(owner) + found * max(len(new) - len(old), 0)


def _joined(owner, items):
    return weights(items) + len(owner) * max(len(items) - 1, 0)


def _translated(owner, table):
    longest = max((len(v) for v in table.values() if isinstance(v, (str, bytes))), default=1) \
        if isinstance(table, dict) else 1
    return len(owner) * max(longest, 1)


def _to_bytes(owner, length=1, byteorder="big", *, signed=False):
    return length


def _fromkeys(owner, keys, value=None):
    return weight(keys) + len(keys) * weight(value)


PLAIN_CODECS = ("utf-8", "ascii", "iso8859-1", "cp1252", "utf-16", "utf-32")


def _coded(owner, encoding="utf-8", errors="strict"):
    """Plain encodings only: others run Python code for long (punycode: 25 s for 10,000
    distinct characters, in one call that no checkpoint interrupts)."""
    if codecs.lookup(encoding).name not in PLAIN_CODECS:
        raise OverBudget(_("the %(codec)s encoding is not available in templates",
                           codec=encoding))
    return len(owner) * 4


def _strftime(owner, pattern):
    return len(pattern) * 12  # "%c": 24 characters for 2


TEXTS = (str, bytes)
GROWS = {"ljust": (TEXTS, _width), "rjust": (TEXTS, _width), "center": (TEXTS, _width),
         "zfill": (TEXTS, _width), "expandtabs": (TEXTS, _tabs), "replace": (TEXTS, _replaced),
         "join": (TEXTS, _joined), "translate": (TEXTS, _translated),
         "encode": (TEXTS, _coded), "decode": (TEXTS, _coded), "to_bytes": ((int,), _to_bytes),
         "fromkeys": ((dict,), _fromkeys), "strftime": ((date,), _strftime)}


def predicted(method, args, kwargs):
    """The arguments to call `method` with, once what it would make has been measured."""
    owner, name = getattr(method, "__self__", None), getattr(method, "__name__", "")
    owners, measure = GROWS.get(name, ((), None))
    if not (isinstance(owner, owners)
            or isinstance(owner, type) and issubclass(owner, owners)):  # dict.fromkeys
        return args
    try:
        if name == "join" and args:
            args = (list(args[0]),) + args[1:]  # measured, then joined: a generator once
        size = measure(owner, *args, **kwargs)
    except SecurityError:
        raise
    except Exception:  # noqa: BLE001 - what the method would refuse too, said plainly
        raise SecurityError(_("%(name)s() was called with arguments it does not take",
                              name=name)) from None
    built(size)
    return args
