"""trafilatura's class/id XPath expressions, evaluated in Python instead of libxml2.

trafilatura prunes and searches its trees with XPath expressions that test class and id values
with EXSLT regular expressions (``re:test(@class, '...')``), ``contains()`` and ``translate()``.
lxml answers each ``re:test`` with a call into Python that converts its arguments to Python
objects, once per element the expression looks at, for every test of the predicate; and libxml2
evaluates even the string functions on attributes more slowly than Python's string tests on the
same elements. Here each such expression is read once into a generated Python function: lxml's
iterator walks the descendants (of the tags the expression names, selected in C) and one
Python condition, the same tests with Python's ``re`` (which is what lxml's ``re:test``
uses), keeps the matches: the same elements in the same order.

Only the expression shapes and XPath functions newswarc has read are translated (``.//*`` with
predicates, a trailing ``[1]`` or ``(...)[1]``; ``self::``, attributes, ``=``, ``contains``,
``starts-with``, ``translate``, ``re:test``, ``not``, ``and``, ``or``, a relative ``.//tag``); any
other expression, a changed one included, keeps trafilatura's own XPath. The faster form is
used only inside :func:`fast_xpaths` (newswarc's own extraction calls); every other caller of
trafilatura in the process gets its XPath as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from lxml import etree

__all__ = ["FastXPath", "fast_xpaths", "install", "translate_xpath"]

_ACTIVE: ContextVar[bool] = ContextVar("newswarc_fast_xpaths", default=False)

_TOKEN = re.compile(r"\s*(?:(?P<str>'[^']*'|\"[^\"]*\")|(?P<attr>@[\w:-]+)|(?P<path>\.//[\w*-]+)|"
                    r"(?P<self>self::[\w-]+)|(?P<name>[\w:-]+)|(?P<punct>[()\[\],|=]))")


class _Unsupported(ValueError):
    """An expression outside the translated subset: trafilatura's XPath is kept."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _Unsupported(text[pos:pos + 20])
        out.append((m.lastgroup or "", m.group(m.lastgroup or 0)))
        pos = m.end()
    return out


def _first_value(el: Any, names: tuple[str, ...]) -> str:
    """XPath's string value of ``@a|@b``: the one of the attributes that comes first on the element."""
    values = [(n, v) for n in names if (v := el.get(n)) is not None]
    if not values:
        return ""
    if len(values) > 1:
        order = el.keys()
        values.sort(key=lambda nv: order.index(nv[0]))
    return values[0][1]


def _first_of_two(el: Any, a: str | None, b: str | None, name_a: str, name_b: str) -> str:
    """:func:`_first_value` for two attributes whose values are read already (the common case, cheaper)."""
    if a is None:
        return b or ""
    if b is None:
        return a
    order = el.keys()
    return a if order.index(name_a) < order.index(name_b) else b


class _Parser:
    """Recursive descent over the predicate language, writing a Python expression over ``el``/``get``.

    Constants (compiled patterns, translation tables, tag sets) go to ``self.consts``.
    """

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.i = tokens, 0
        self.consts: dict[str, Any] = {"_first": _first_value, "_first2": _first_of_two}

    def const(self, value: Any) -> str:
        name = f"_c{len(self.consts)}"
        self.consts[name] = value
        return name

    def peek(self, value: str | None = None) -> bool:
        if self.i >= len(self.tokens):
            return False
        return value is None or self.tokens[self.i][1] == value

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        if self.i >= len(self.tokens):
            raise _Unsupported("end of expression")
        k, v = self.tokens[self.i]
        if (value is not None and v != value) or (kind is not None and k != kind):
            raise _Unsupported(v)
        self.i += 1
        return v

    def string(self) -> str:
        return self.take(kind="str")[1:-1]

    def operands(self, word: str, operand: Callable[[], tuple[str, set[str] | None]]) -> list[tuple[str, set[str] | None]]:
        """``operand (word operand)*``: the operands of a chain of ``or`` or of ``and``."""
        parts = [operand()]
        while self.peek(word):
            self.take(word)
            parts.append(operand())
        return parts

    def or_expr(self) -> tuple[str, set[str] | None]:
        """(Python source, the tags it is limited to when it is only ``self::`` tests, else None)."""
        parts = self.operands("or", self.and_expr)
        if len(parts) == 1:
            return parts[0]
        if all(tags is not None for _, tags in parts):
            tags = set().union(*(t for _, t in parts if t is not None))
            return f"(el.tag in {self.const(frozenset(tags))})", tags
        return "(" + " or ".join(src for src, _ in parts) + ")", None

    def and_expr(self) -> tuple[str, set[str] | None]:
        parts = self.operands("and", self.unary)
        if len(parts) == 1:
            return parts[0]
        return "(" + " and ".join(src for src, _ in parts) + ")", None

    def unary(self) -> tuple[str, set[str] | None]:
        if self.peek("not"):
            self.take("not")
            self.take("(")
            inner, _ = self.or_expr()
            self.take(")")
            return f"(not {inner})", None
        if self.peek("("):
            self.take("(")
            inner = self.or_expr()
            self.take(")")
            return inner
        return self.primary()

    def attrs(self) -> tuple[str, ...]:
        names = [self.take(kind="attr")[1:]]
        while self.peek("|"):
            self.take("|")
            names.append(self.take(kind="attr")[1:])
        if any(":" in n for n in names) or len(set(names)) < len(names):
            raise _Unsupported("namespaced or repeated attribute")
        return tuple(names)

    def value(self, names: tuple[str, ...]) -> str:
        """Source of the XPath string value of the attribute set."""
        if len(names) == 1:
            return f"(get({names[0]!r}) or '')"
        if len(names) == 2:
            return f"_first2(el, get({names[0]!r}), get({names[1]!r}), {names[0]!r}, {names[1]!r})"
        return f"_first(el, {names!r})"

    def string_expr(self) -> str:
        if self.peek("translate"):
            self.take("translate")
            self.take("(")
            names = self.attrs()
            self.take(",")
            src = self.string()
            self.take(",")
            dst = self.string()
            self.take(")")
            table: dict[int, int | None] = {}
            for pos, ch in enumerate(src):
                table.setdefault(ord(ch), ord(dst[pos]) if pos < len(dst) else None)  # XPath: the first wins
            return f"{self.value(names)}.translate({self.const(table)})"
        return self.value(self.attrs())

    def primary(self) -> tuple[str, set[str] | None]:
        kind, value = self.tokens[self.i] if self.i < len(self.tokens) else ("", "")
        if kind == "self":
            self.take()
            tag = value[len("self::"):]
            return f"(el.tag == {tag!r})", {tag}
        if kind == "path":
            self.take()
            tag = value[len(".//"):]
            if tag == "*":
                raise _Unsupported(value)
            return f"(el.find({value!r}) is not None)", None
        if kind == "attr":
            names = self.attrs()
            if self.peek("="):
                self.take("=")
                want = self.string()
                return "(" + " or ".join(f"get({n!r}) == {want!r}" for n in names) + ")", None
            return "(" + " or ".join(f"get({n!r}) is not None" for n in names) + ")", None
        if value in ("contains", "starts-with"):
            self.take()
            self.take("(")
            text = self.string_expr()
            self.take(",")
            needle = self.string()
            self.take(")")
            if value == "contains":
                return f"({needle!r} in {text})", None
            return f"{text}.startswith({needle!r})", None
        if value == "re:test":
            self.take()
            self.take("(")
            names = self.attrs()
            flags = ""
            self.take(",")
            pattern = self.string()
            if self.peek(","):
                self.take(",")
                flags = self.string()
            self.take(")")
            if set(flags) - {"i", "g"}:
                raise _Unsupported(flags)
            regex = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)  # what lxml's re:test runs
            return f"({self.const(regex.search)}({self.value(names)}) is not None)", None
        raise _Unsupported(value)


_ONE = [("punct", "["), ("name", "1"), ("punct", "]")]


def translate_xpath(path: str) -> tuple[Callable[[Any], list[Any]], str] | None:
    """``(function, its Python source)`` for an expression of the translated subset, else None."""
    try:
        tokens = _tokens(path)
        first_only = per_parent = False
        if tokens[:1] == [("punct", "(")] and tokens[-4:] == [("punct", ")"), *_ONE]:
            tokens, first_only = tokens[1:-4], True  # (...)[1]: the first in document order
        elif tokens[-3:] == _ONE:
            tokens, per_parent = tokens[:-3], True  # .//*[...][1]: the first of each parent's children
        if tokens[:1] != [("path", ".//*")]:
            return None
        parser = _Parser(tokens)
        parser.take()
        conditions: list[str] = []
        tags: set[str] | None = None
        while parser.peek("["):
            parser.take("[")
            cond, only = parser.or_expr()
            parser.take("]")
            if not conditions and only is not None:
                tags = only  # the first predicate names the tags: lxml's iterator selects them in C
            else:
                conditions.append(cond)
        if parser.peek() or not (conditions or tags):
            return None
    except _Unsupported:
        return None
    select = ", ".join(repr(t) for t in sorted(tags)) if tags else "tag=_Element"
    keep = "return [el]" if first_only else "out.append(el)"
    if per_parent:
        keep = "parent = el.getparent()\n            if parent not in seen:\n                seen.add(parent)\n" \
               "                out.append(el)"
    source = (f"def evaluate(tree):\n    out = []\n    seen = set()\n    for el in tree.iterdescendants({select}):\n"
              f"        get = el.get\n        if {' and '.join(conditions) or 'True'}:\n            {keep}\n"
              f"    return out\n")
    namespace = {**parser.consts, "_Element": etree.Element}
    exec(compile(source, f"<trafilatura XPath {path[:40]!r}>", "exec"), namespace)  # noqa: S102
    return namespace["evaluate"], source


class FastXPath:
    """A stand-in for one of trafilatura's XPath objects: the translation inside :func:`fast_xpaths`."""

    def __init__(self, original: etree.XPath, fast: Callable[[Any], list[Any]]) -> None:
        self.original, self.fast = original, fast
        self.path = original.path

    def __call__(self, tree: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not _ACTIVE.get():
            return self.original(tree, *args, **kwargs)
        return self.fast(tree)

    def __str__(self) -> str:
        return str(self.original)

    def __repr__(self) -> str:
        return f"FastXPath({self.path!r})"


@contextmanager
def fast_xpaths() -> Iterator[None]:
    """Within the block (in this thread or task), translated expressions run their faster form."""
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def install(lists: list[list[Any]]) -> int:
    """Replace, in place, every translatable XPath of ``lists`` (trafilatura's own list objects,
    which its modules share) by a :class:`FastXPath`; returns how many were replaced.

    Expressions without ``re:test`` are translated too: libxml2 evaluates ``contains()`` and
    ``translate()`` on attributes slower than Python's string tests on the same elements.
    """
    count = 0
    for exprs in lists:
        for i, expr in enumerate(exprs):
            if not isinstance(expr, etree.XPath):
                continue
            translated = translate_xpath(expr.path)
            if translated is not None:
                exprs[i] = FastXPath(expr, translated[0])
                count += 1
    return count
