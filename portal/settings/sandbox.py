"""Jinja's sandbox, bounded: the checkpoints where a render spends its budget (budget.py).

Jinja shows a sandbox its operators, calls, attributes and written values, not its loops nor
`~`: the parse step rewrites those (`_Bounds`) into filters of names a template cannot write
(`~turn` around every loop's sequence, `~concat` for `~`, `~built` around every list, tuple
and dict written in the template). Sizes are predicted from the parts before anything is made:
a repetition, a sum of texts, a join, a replace, a format width, a power.
"""
import re
from decimal import Decimal
from functools import update_wrapper, wraps

from jinja2 import filters, nodes, pass_environment, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup

from .budget import (MAX_POWER, MAX_TEXT, MAX_WIDTH, OverBudget, _, built, number, predicted,
                     spend, too_big, weight, weights, written)

NUMBERS = (int, float, Decimal)
SEQUENCES = (str, bytes, list, tuple)
MADE = (str, bytes, list, tuple, dict)  # results counted by their length (a sort of a long
# text is a list as long as the text: ten of them are as much as a render may make)


def _repeat(left, right):
    """`*`: a text or list repeated stays under MAX_TEXT; a product of integers under 10^18
    (refused from the operands' bit lengths, before multiplying)."""
    for items, count in ((left, right), (right, left)):
        if isinstance(items, SEQUENCES) and isinstance(count, int):
            if weight(items, MAX_TEXT) * max(count, 0) > MAX_TEXT:
                raise OverBudget(_("a repeated text is limited to %(limit)s characters",
                                   limit=MAX_TEXT))
            return
    if isinstance(left, int) and isinstance(right, int) \
            and left.bit_length() + right.bit_length() - 2 >= 60:
        too_big()


def _power(left, right):
    if not isinstance(right, int) or abs(right) > MAX_POWER:
        raise OverBudget(_("powers are limited to %(limit)s", limit=MAX_POWER))
    if isinstance(left, int) and abs(left) > 1 and right > 0 \
            and (abs(left).bit_length() - 1) * right >= 60:
        too_big()  # at least 2**60: refused before it is computed


def _add(left, right):
    if isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
        built(weight(left) + weight(right))


def _modulo(left, right):
    if not isinstance(left, NUMBERS):  # text formatting: widths without bound
        raise OverBudget(_("the %(sign)s operator is not available for texts in templates: "
                           "write the values themselves, with their filters (money, day)",
                           sign="%"))


BINOPS = {"*": _repeat, "**": _power, "+": _add, "%": _modulo}


class _Bounded:
    """A formatter that refuses wide fields and counts what it makes, before making it."""

    made = 0

    def format_field(self, value, format_spec):
        spend()
        _wide(format_spec)
        self.made += weight(value) + MAX_WIDTH + 12 * len(format_spec)  # a date's "%c"
        built(self.made, charge=0)
        return super().format_field(value, format_spec)


def _wide(spec):
    if any(int(digits) > MAX_WIDTH for digits in re.findall(r"\d+", str(spec))):
        raise OverBudget(_("a width or precision above %(limit)s is not available in "
                           "templates", limit=MAX_WIDTH))


class BoundedFormatter(_Bounded, SandboxedFormatter):
    pass


class BoundedEscapeFormatter(_Bounded, SandboxedFormatter, EscapeFormatter):
    pass


@pass_eval_context
def _replace(eval_ctx, s, old, new, count=None):
    """`replace`, measured first (an empty `old` inserts `new` between every two characters)."""
    text, pattern = str(s), str(old)
    grown = len(str(new)) * (6 if eval_ctx.autoescape else 1)  # escaped: at most six times
    found = len(text) + 1 if not pattern else text.count(pattern)
    found = min(found, count) if count is not None and count >= 0 else found
    built(len(text) + found * max(grown - len(pattern), 0))
    return filters.do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx, value, d="", attribute=None):
    items = list(value)
    built(weights(items) + len(str(d)) * max(len(items) - 1, 0))
    return filters.sync_do_join(eval_ctx, items, d, attribute)


def _round(value, precision=0, method="common"):
    _wide(str(abs(precision)) if isinstance(precision, int) else "0")
    return filters.do_round(value, precision, method)


@pass_environment
def _sum(environment, iterable, attribute=None, start=0):
    """Numbers only: a sum of lists is a list copied once per item."""
    items = list(iterable)
    if attribute is not None:
        items = list(map(filters.make_attrgetter(environment, attribute), items))
    if not all(isinstance(v, NUMBERS) for v in (start, *items)):
        raise SecurityError(_("sum adds numbers only"))
    return number(sum(items, start))


class _Turns:
    """A loop's sequence: each turn spends a step, and the characters the loop's body writes
    from the template itself."""

    __slots__ = ("items", "written")

    def __init__(self, items, written=0):
        self.items, self.written = items, written

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        for item in self.items:
            spend(1, self.written)
            yield item


@pass_eval_context
def _concat(eval_ctx, parts):
    spend()
    built(weights(parts))
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


def _literal(value):
    spend()
    built(weight(value))
    return value


def _counted(function):
    """Every filter: a step, and what it makes counted (and refused beyond MAX_VALUE)."""
    @wraps(function)
    def counted(*args, **kwargs):
        spend()
        result = function(*args, **kwargs)
        if isinstance(result, MADE):
            built(len(result))
        return result
    return counted


BOUNDED = {"replace": _replace, "join": _join, "round": _round, "sum": _sum}
HIDDEN = {"~turn": _Turns, "~concat": _concat, "~built": _literal}  # no template can name them


def _numbers_only(test):
    """`odd`, `even`, `divisibleby` compute `value % n`: on a text, that is formatting (a
    width of a billion in '%1000000000d' is odd)."""
    @wraps(test)
    def numbers_only(value, *args):
        if not all(isinstance(v, NUMBERS) for v in (value, *args)):
            raise SecurityError(_("%(name)s applies to numbers only", name=test.__name__[5:]))
        return test(value, *args)
    return numbers_only


def bounded_tests(tests):
    """Jinja's tests, with those that compute `%` for numbers only."""
    return {name: _numbers_only(test) if test in (tests["odd"], tests["even"],
                                                  tests["divisibleby"]) else test
            for name, test in tests.items()}


def _short(function):
    """The project's own filters (money, day) take short arguments: a language, a currency, a
    date pattern, which Babel keeps in caches of 1,024 entries for the life of the process."""
    @wraps(function)
    def short(value, *args, **kwargs):
        if any(len(str(a)) > MAX_WIDTH for a in (*args, *kwargs.values())):
            raise SecurityError(_("%(name)s takes arguments of %(limit)s characters at most",
                                  name=function.__name__, limit=MAX_WIDTH))
        return function(value, *args, **kwargs)
    return short


def bounded_filters(available, extra):
    """The filters of a template: the `available` of Jinja's (bounded where they can grow) and
    `extra` ones, each counted; the hidden ones the parse step puts in."""
    chosen = {name: BOUNDED.get(name, filters.FILTERS[name]) for name in available}
    chosen.update({name: _short(function) for name, function in extra.items()})
    return {**{name: _counted(f) for name, f in chosen.items()}, **HIDDEN}


def _filter(node, name, *args):
    return nodes.Filter(node, name, [nodes.Const(a) for a in args], [], None, None,
                        lineno=node.lineno)


def _literal_size(body):
    """The characters a loop's body writes from the template itself, in each turn."""
    size = 0
    for statement in body:
        for node in (statement, *statement.find_all((nodes.TemplateData, nodes.Const))):
            if isinstance(node, nodes.TemplateData):
                size += len(node.data)
            elif isinstance(node, nodes.Const) and isinstance(node.value, str):
                size += len(node.value)
    return size


class _Bounds(NodeTransformer):
    """Puts the hidden filters where the sandbox would not see the work: loops, `~`, and the
    lists, tuples and dicts a template writes."""

    def visit_For(self, node):
        size = _literal_size(node.body)
        self.generic_visit(node)
        node.iter = _filter(node.iter, "~turn", size)
        return node

    def visit_Concat(self, node):
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes, lineno=node.lineno), "~concat")

    def visit_List(self, node):
        return _filter(self.generic_visit(node), "~built")

    visit_Dict = visit_List

    def visit_Tuple(self, node):
        node = self.generic_visit(node)
        return _filter(node, "~built") if node.ctx == "load" else node


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox (lists and dicts read-only) with the checkpoints of the budget."""

    intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%", "**"])

    def __init__(self, **options):
        super().__init__(finalize=written, **options)

    def _parse(self, source, name, filename):
        return _Bounds().visit(super()._parse(source, name, filename))

    def call_binop(self, context, operator, left, right):
        spend()
        check = BINOPS.get(operator)
        if check is not None:
            check(left, right)
        return number(super().call_binop(context, operator, left, right))

    def getattr(self, obj, attribute):
        spend()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        spend()
        return super().getitem(obj, argument)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's own names
        spend()
        args = predicted(__obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, MADE):
            built(len(result))
        return result

    def wrap_str_format(self, value):
        """`str.format` and `format_map` with BoundedFormatter (Jinja's own, bounded)."""
        if getattr(value, "__name__", None) not in ("format", "format_map") \
                or not isinstance(getattr(value, "__self__", None), str):
            return None
        text = value.__self__
        mapped = value.__name__ == "format_map"

        env = self

        def wrapper(*args, **kwargs):
            formatter = BoundedEscapeFormatter(env, escape=text.escape) \
                if isinstance(text, Markup) else BoundedFormatter(env)
            if mapped:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(text)(formatter.vformat(text, args, kwargs))
        return update_wrapper(wrapper, value)
