"""trafilatura's byline search (``trafilatura.metadata.extract_author``) without its copy of the page.

trafilatura copies the whole tree, deletes from the copy what its ``AUTHOR_DISCARD_XPATHS``
match (comments, sidebars, dates, figures...) and runs its three ``AUTHOR_XPATHS`` on what is
left, in order; the first match whose text has 3 to 119 characters is the byline. The
expressions test classes and ids with ``re:test``, which lxml answers with a Python call per
element and expression. This module gives the same answer from one C pass that selects the
elements carrying any of the attributes tested (or one of the tags), the same tests in Python,
and the text the match would have after the deletions (a deleted element's tail joins the text
before it, as ``trafilatura.xml.delete_element`` does), read from the page itself.

It is only used while trafilatura's expressions are the ones written out here
(:data:`EMULATED`), and on trees where the emulation is exact (no comment or processing
instruction nodes, no ``<rel>`` element); otherwise trafilatura's own function runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from crawler.extract._trafilatura import (
    AUTHOR_DISCARD_XPATHS,
    AUTHOR_XPATHS,
    extract_author,
    normalize_authors,
    trim,
)

__all__ = ["EMULATED", "author_search"]

# trafilatura's expressions, whitespace collapsed: what the tests below reproduce
_AUTHOR_PATHS = (
    "//*[self::a or self::address or self::div or self::link or self::p or self::span or self::strong][ "
    "@rel='author' or @id='author' or @class='author' or @itemprop='author name' or rel='me' or "
    "@data-testid='AuthorCard' or @data-testid='AuthorURL' or re:test(@class, 'author-?name|AuthorName|authorName')]"
    "|//author",
    "//*[self::a or self::div or self::h3 or self::h4 or self::p or self::span][ @class='byline' or "
    "@class='username' or @class='byl' or @class='BBL' or contains(@itemprop, 'author') or "
    "re:test(@id, 'author|zuozhe|bianji|xiaobian') or re:test(@class, "
    "'author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name')]",
    "//*[ contains(@data-component, 'Byline') or contains(@itemprop, 'author') or re:test(@id, '[Aa]uthor') or "
    "re:test(@class, '[Aa]uthor|screenname|writer|[Bb]yline')]",
)
_DISCARD_PATHS = (
    ".//*[self::a or self::div or self::section or self::span][ @id='comments' or @class='comments' or "
    "@class='title' or @class='date' or re:test(@id, '^comments|comment-?list|ProductReviews') or "
    "re:test(@class, '^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
    "article-(?:share|support)|print|category|meta-date|meta-reviewer') or contains(@data-component, 'Figure')]",
    "//time|//figure",
)


def _collapsed(paths: list[etree.XPath]) -> tuple[str, ...]:
    return tuple(" ".join(x.path.split()) for x in paths)


EMULATED = _collapsed(AUTHOR_XPATHS) == _AUTHOR_PATHS and _collapsed(AUTHOR_DISCARD_XPATHS) == _DISCARD_PATHS

# every element any of the expressions can select, in document order (no Python call per element)
_CANDIDATES = etree.XPath("//*[@class or @id or @itemprop or @rel or @data-testid or @data-component] | "
                          "//author | //time | //figure")
_INEXACT = etree.XPath("//comment() | //processing-instruction() | //rel")

_A1_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_A2_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
_D1_TAGS = frozenset({"a", "div", "section", "span"})
_A1_CLASS = re.compile("author-?name|AuthorName|authorName")
_A2_ID = re.compile("author|zuozhe|bianji|xiaobian")
_A2_CLASS = re.compile("author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name")
_A3_ID = re.compile("[Aa]uthor")
_A3_CLASS = re.compile("[Aa]uthor|screenname|writer|[Bb]yline")
_D1_ID = re.compile("^comments|comment-?list|ProductReviews")
_D1_CLASS = re.compile("^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
                       "article-(?:share|support)|print|category|meta-date|meta-reviewer")


def _kept_text(el: etree._Element, gone: set[etree._Element]) -> Iterator[str]:
    """``el.itertext()`` as it would be once the ``gone`` elements are deleted, tails kept."""
    pending = el.text
    for child in el:
        if child in gone:
            if child.tail:
                pending = (pending or "") + child.tail
            continue
        if pending is not None:
            yield pending
        yield from _kept_text(child, gone)
        pending = child.tail
    if pending is not None:
        yield pending


def author_search(tree: etree._Element) -> str | None:
    """``trafilatura.metadata.extract_author(tree)``, the same result without copying the tree."""
    if not EMULATED or tree.getparent() is not None or _INEXACT(tree):
        return extract_author(tree)
    gone: set[etree._Element] = set()
    matches: tuple[list[etree._Element], ...] = ([], [], [])
    for el in _CANDIDATES(tree):
        tag, get = el.tag, el.get
        cls, ident, itemprop = get("class"), get("id"), get("itemprop") or ""
        component = get("data-component") or ""
        if tag in ("time", "figure") or (tag in _D1_TAGS and el is not tree and (
                ident == "comments" or cls in ("comments", "title", "date") or _D1_ID.search(ident or "")
                or _D1_CLASS.search(cls or "") or "Figure" in component)):
            gone.add(el)
        if tag == "author" or (tag in _A1_TAGS and (
                get("rel") == "author" or ident == "author" or cls == "author" or itemprop == "author name"
                or get("data-testid") in ("AuthorCard", "AuthorURL") or _A1_CLASS.search(cls or ""))):
            matches[0].append(el)
        if tag in _A2_TAGS and (cls in ("byline", "username", "byl", "BBL") or "author" in itemprop
                                or _A2_ID.search(ident or "") or _A2_CLASS.search(cls or "")):
            matches[1].append(el)
        if "Byline" in component or "author" in itemprop or _A3_ID.search(ident or "") or \
                _A3_CLASS.search(cls or ""):
            matches[2].append(el)
    for found in matches:
        for el in found:
            if el in gone or any(a in gone for a in el.iterancestors()):
                continue  # not in trafilatura's pruned copy
            content = trim(" ".join(_kept_text(el, gone)))
            if content and 2 < len(content) < 120:
                return normalize_authors(None, content)
    return None
