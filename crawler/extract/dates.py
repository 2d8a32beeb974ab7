"""The date a page shows next to its headline, and how it is weighed against the declared dates.

Readers (and the people who label pages) take an article's date from its header: the line under
or above the ``<h1>`` ("By …, Updated March 3, 2025", ``<time datetime=…>``). That shown date picks
the answer: it confirms the declared ``datePublished``; when it is the declared ``dateModified``
it is the update line and the publication stays declared; marked up as a date (``<time>``,
class/id/itemprop naming a date) and more than a day from the declaration, it replaces it (the
page states it twice, visibly); one day off is the time zone, settled by a date in the URL.
Without a declaration the URL's date, else the shown one, is the answer, and htmldate's costly
search is not needed. The scan is bounded (40 short text nodes after the headline, 12 before) and
stops at the first date, with two exceptions a reader makes too (:func:`header_date_line`): the
publication shown beside an "Updated" line, and a date line right above the headline. An "Updated …" line later than every declared date is the update (the
declared ``dateModified`` is stale). Without a header date, a ``<time pubdate>`` or
``itemprop="datePublished"`` mark is the shown date when all such marks name one day (teaser
cards carry them too). For pages with no date at all so far, :func:`lone_date` is the fallback
after htmldate's fast search: the one day the page's short lines name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import NamedTuple

from lxml import etree
from lxml.html import HtmlElement

from crawler.extract.daytext import latest_day, parse_day, text_date


class VisibleDate(NamedTuple):
    """A date shown in the article's header."""

    day: date
    stamp: str | None  # the ISO value of its ``<time datetime>`` when that is the same day
    marked: bool  # inside ``<time>`` or an element whose class/id/itemprop names a date
    update: bool = False  # the line says it is an update ("Updated …", "Last modified …")


_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "select", "option", "button"})
_MARK = re.compile(r"date|time|publish|posted|updated|modified", re.IGNORECASE)
_WS = re.compile(r"\s+")
_UPDATE = re.compile(r"\b(?:updated|modified|revised)\b", re.IGNORECASE)
_SHORT = 80  # a date line is short; longer text nodes are prose, whose dates are not the article's
_AFTER = 40  # non-blank text nodes read after the headline
_BEFORE = 12  # and before it (a dateline above the headline)
_UPDATE_PAIR = 3  # lines after an "Updated" date searched for the publication date shown beside it
_RIGHT_ABOVE = 2  # text lines right above the headline: its category and date line
_FAR_AFTER = 6  # lines below the headline from which a date is the text's, when one stands right above


def _stamp(value: str | None, day: date) -> str | None:
    """A ``<time datetime>`` value as ISO 8601 (zone kept) when it falls on ``day`` as written."""
    value = _WS.sub(" ", value or "").strip()
    m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?)\s*(Z|[+-]\d{2}:?\d{2})?)?$", value)
    if not m or m[1] != day.isoformat():
        return None
    if not m[2]:
        return m[1]
    return f"{m[1]}T{m[2]}{m[3] or ''}"


def _is_marked(node: etree._Element) -> tuple[bool, str | None]:
    """(marked as a date, the ``datetime`` attribute) for a text's element and two ancestors."""
    for _ in range(3):
        if node is None or not isinstance(node.tag, str):
            break
        if node.tag == "time" or node.get("datetime"):
            return True, node.get("datetime")
        if _MARK.search(" ".join(filter(None, (node.get("class"), node.get("id"), node.get("itemprop"))))):
            return True, None
        node = node.getparent()
    return False, None


def _walk(root: etree._Element, skip_root_tail: bool = False):
    """(element, text) of ``root``'s subtree in document order, tails included, script-free."""
    if not isinstance(root.tag, str):  # a comment or processing instruction: only its tail is text
        if root.tail and not skip_root_tail:
            yield root.getparent(), root.tail
        return
    for event, el in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        if event in ("comment", "pi"):
            if el.tail:
                yield el.getparent(), el.tail
        elif event == "start":
            if isinstance(el.tag, str) and el.tag not in _SKIP and el.text:
                yield el, el.text
        elif el.tail and not (skip_root_tail and el is root):
            yield el.getparent(), el.tail


def texts_after(start: etree._Element):
    """(element, text) in document order from ``start`` (its own text included) to the end of the body."""
    yield from _walk(start, skip_root_tail=True)
    node: etree._Element | None = start
    while node is not None and node.tag != "body":
        if node.tail:
            yield node.getparent(), node.tail
        for sibling in node.itersiblings():
            yield from _walk(sibling)
        node = node.getparent()


def texts_before(start: etree._Element, limit: int) -> list[tuple[etree._Element, str]]:
    """Up to ``limit`` non-blank (element, text) before ``start``, nearest first."""
    out: list[tuple[etree._Element, str]] = []
    for text in start.xpath(f"preceding::text()[normalize-space()][position() <= {limit}]"):
        parent = text.getparent()
        if parent is None:
            continue
        owner = parent.getparent() if text.is_tail else parent
        if not text.is_tail and (not isinstance(parent.tag, str) or parent.tag in _SKIP):
            continue
        out.append((owner if owner is not None else parent, str(text)))
    out.reverse()
    return out


def _date_in(element: etree._Element, text: str, latest: date, month_first: bool,
             hints: tuple[date, ...]) -> VisibleDate | None:
    text = _WS.sub(" ", text).strip()
    if not text or len(text) > _SHORT or not any(c.isdigit() for c in text):
        return None
    found = text_date(text, latest, month_first, hints)
    if found is None:
        return None
    marked, value = _is_marked(element)
    return VisibleDate(found, _stamp(value, found), marked, bool(_UPDATE.search(text)))


def headline(tree: HtmlElement, title: str | None) -> etree._Element | None:
    """The article's ``<h1>``: the longest one that is part of the declared title (or holds it).

    The longest, since a site-name ``<h1>`` is part of "Headline - Site" too. Without a match, the
    page's only ``<h1>``; several unmatched ones are widget headings ("Contact Us", "Follow Us"),
    whose neighbours are no article header.
    """
    key = _WS.sub(" ", title or "").strip().lower()
    found: list[etree._Element] = []
    best: tuple[int, etree._Element] | None = None
    for h1 in tree.iter("h1"):
        text = _WS.sub(" ", h1.text_content()).strip().lower()
        if not text:
            continue
        if key and (text in key or key in text) and (best is None or len(text) > best[0]):
            best = (len(text), h1)
        found.append(h1)
        if len(found) > 8:
            break
    if best is not None:
        return best[1]
    return found[0] if len(found) == 1 or (found and not key) else None


class DateLine(NamedTuple):
    """The header line that shows the article's date, and the headline it was found from."""

    headline: etree._Element
    element: etree._Element  # the element whose text (or tail) the line is
    text: str  # whitespace collapsed
    shown: VisibleDate


def reads_month_first(tree: HtmlElement) -> bool:
    """Whether the page's numeric dates with slashes read month first: US English, or no language."""
    lang = (tree.get("lang") or "").lower()
    return not lang or lang == "en" or lang.startswith("en-us")


def header_date_line(tree: HtmlElement, title: str | None = None, hints: Iterable[date | None] = (),
                     now: datetime | None = None) -> DateLine | None:
    """The first short text line with a date after the headline, else the nearest one before it.

    Two header layouts are read as a reader reads them. An "Updated …" line with a plain date
    within the next lines ("Updated: Jan 2, 2026", then "Dec 22, 2022") gives the plain one: the
    update line is only the first of two. A date right above the headline (a category and date
    line, the two nearest text lines) beats one the text shows only further down (an event's date
    in the article's first paragraphs, :data:`_FAR_AFTER` lines or more below the headline).

    A numeric date that reads both ways (``03/10/2023``) takes the reading one of ``hints`` has
    (the declared dates, the URL's). The date rules and the dateline byline
    (``authors.dateline_name``) read the same line.
    """
    h1 = headline(tree, title)
    if h1 is None:
        return None
    latest = latest_day(now)
    month_first = reads_month_first(tree)
    known = tuple(h for h in hints if h)

    def first_date(lines: Iterable[tuple[etree._Element, str]]) -> tuple[int, DateLine] | None:
        update: tuple[int, DateLine] | None = None
        for i, (element, text) in enumerate(lines):
            if update is not None and i > update[0] + _UPDATE_PAIR:
                break
            if found := _date_in(element, text, latest, month_first, known):
                line = (i, DateLine(h1, element, _WS.sub(" ", text).strip(), found))
                if not found.update:
                    return line
                update = update or line
        return update

    after = first_date(islice(((el, text) for el, text in texts_after(h1) if text.strip()), _AFTER))
    before = first_date(texts_before(h1, _BEFORE))
    if after is not None and not (before is not None and before[0] < _RIGHT_ABOVE and after[0] >= _FAR_AFTER):
        return after[1]
    return before[1] if before is not None else None


_PUBLISHED_MARK = etree.XPath("//time[@pubdate] | //*[@itemprop='datePublished'][not(self::meta)]")
# "Published on <time …>": a <time> whose label, the text just before it, says it is the publication
_LABELLED = re.compile(r"\b(?:published|posted)(?:\s+(?:on|at))?\s*:?\s*$", re.IGNORECASE)


def _label(node: etree._Element) -> str:
    """The text right before ``node``: its previous sibling's tail, else its parent's own text."""
    before, parent = node.getprevious(), node.getparent()
    text = before.tail if before is not None else parent.text if parent is not None else None
    return text or ""


def _publication_marks(tree: HtmlElement) -> list[etree._Element]:
    """The elements a page marks as its publication date: the markup above, then the ``<time>``
    elements labelled "Published"/"Posted" by the text right before them."""
    marks = _PUBLISHED_MARK(tree)
    marked = set(marks)
    return marks + [node for node in tree.iter("time") if node not in marked and _LABELLED.search(_label(node)[-40:])]


def marked_publication(tree: HtmlElement, now: datetime | None = None) -> VisibleDate | None:
    """The day the page marks as its publication date (``<time pubdate>``, microdata
    ``itemprop="datePublished"`` on an element, a ``<time>`` labelled "Published on"), wherever it
    stands, when all such marks name the same day: teaser cards of other articles carry the same
    marks, each with its own date."""
    latest = latest_day(now)
    shown: VisibleDate | None = None
    for node in _publication_marks(tree):
        value = node.get("datetime") or node.get("content")
        found = parse_day(value)
        if found is None or not date(1995, 1, 1) <= found <= latest:
            text = _WS.sub(" ", node.text_content()).strip()
            found = text_date(text, latest) if len(text) <= _SHORT else None
        if found is None:
            continue
        if shown is not None and shown.day != found:
            return None
        shown = shown or VisibleDate(found, _stamp(value, found), True)
    return shown


def lone_date(tree: HtmlElement, now: datetime | None = None) -> date | None:
    """The day the page's short text lines name when they all name the same one ("Last updated:
    November 13, 2025" at the foot of a page without other dates), else None."""
    body = tree.find("body")
    if body is None:
        return None
    latest = latest_day(now)
    month_first = reads_month_first(tree)
    found: date | None = None
    for _, text in _walk(body):
        if len(text) > 4 * _SHORT or not any(c.isdigit() for c in text):
            continue
        text = _WS.sub(" ", text).strip()
        if len(text) > _SHORT or not (day := text_date(text, latest, month_first)):
            continue
        if found is not None and day != found:
            return None
        found = day
    return found


def visible_date(tree: HtmlElement, title: str | None = None, hints: Iterable[date | None] = (),
                 now: datetime | None = None) -> VisibleDate | None:
    """The date the article's header shows (:func:`header_date_line`), else the one the page marks up
    as its publication date (:func:`marked_publication`)."""
    line = header_date_line(tree, title, hints, now)
    return line.shown if line is not None else marked_publication(tree, now)


def choose_published(declared: str | None, modified: str | None, shown: VisibleDate | None,
                     in_url: date | None = None, *, announced: bool = True) -> str | None:
    """The publication date to report, from the declared dates, the URL's and the one the header shows.

    A header showing the declared modification date is the update line: the publication stays the
    declared one (``updated`` carries the other). Without a declaration, a date in the URL is the
    publication (it is fixed when the page is first published), else the shown date is. A shown date
    that is neither wins over the declaration only when it is marked up as a date (the page states
    it twice, visibly) and more than a day away: one day apart is the time zone, and the declared
    timestamp is exact. None when nothing is known (htmldate searches then).

    ``announced`` says whether the publication is in the page's ``<meta>`` (``article:published_time``)
    too. When it is only in the structured data and the header shows just the update date, the page
    presents that update as its date, and the update wins.
    """
    if shown is None:
        return declared
    day = shown.day
    if parse_day(declared) == day:
        return declared
    if shown.update and all(known is None or day > known for known in (parse_day(declared), parse_day(modified))):
        # an "Updated …" line later than every declared date: the page's latest modification
        modified = shown.stamp or day.isoformat()
    if parse_day(modified) == day:
        if declared and not announced and in_url is None:
            return modified
        return declared or (in_url.isoformat() if in_url else modified)
    if declared is None:
        if in_url and in_url != day:
            return in_url.isoformat()
        return shown.stamp or day.isoformat()
    stated = parse_day(declared)
    if stated is None or abs((day - stated).days) > 1:
        return shown.stamp or day.isoformat() if shown.marked else declared
    if in_url == day or not _some_zone_day(declared, day):
        # the page's own day, in its header and its URL, the declaration in another zone; or a day
        # the declared instant falls on in no time zone (UTC-12 to UTC+14)
        return shown.stamp or day.isoformat()
    return declared


def _some_zone_day(stamp: str, day: date) -> bool:
    """Whether the instant ``stamp`` (with a UTC offset) is on ``day`` somewhere; True without an offset."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return True
    if moment.tzinfo is None:
        return True
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return (utc - timedelta(hours=12)).date() <= day <= (utc + timedelta(hours=14)).date()
