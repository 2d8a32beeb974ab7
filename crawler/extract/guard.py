"""Guards for the tree surgery before extraction: never cut away the article itself.

Real pages break the assumptions behind "this element never holds article text". An unclosed
``<button>``, ``<nav>`` or ``<aside>`` swallows the rest of the page when lxml parses it (a
browser would close it); a "share" class sits on the post's own content wrapper; React's
streaming server rendering sends the body in ``<div hidden id="S:0">`` segments that its
script moves into place. Each removal is therefore checked against how much of the page's
prose (text outside links) the element holds: an element that holds much of it is kept, and a
tag that should never hold prose but does is unwrapped (tag dropped, content kept).
"""

from __future__ import annotations

import re

from lxml import etree

__all__ = ["PageProse", "is_streamed_segment", "strip_tags_guarded"]

# React streaming SSR: hidden segment "S:<n>", revealed by $RC/$RS into template "B:<n>".
_SEGMENT_ID = re.compile(r"^[SP]:[0-9a-f]+$")
SHARE_OF_PAGE = 0.4  # an element holding this share of the page's prose is the content
PROSE_CHARS = 1500  # a widget with this much prose (outside links) is not a widget
CARDS = 3  # this many sibling elements of one tag and class are a list of teasers
_CARD_TAGS = frozenset({"article", "div", "li", "section", "figure"})


def is_streamed_segment(el: etree._Element) -> bool:
    """A hidden React streaming segment: content the browser shows once its script runs."""
    return _SEGMENT_ID.match(el.get("id") or "") is not None


def prose_len(el: etree._Element) -> int:
    """Characters of ``el``'s text outside links (link text is navigation, not prose)."""
    total = len(el.text_content())
    for a in el.iter("a"):
        total -= len(a.text_content())
    return total


class PageProse:
    """The prose of a page's body, measured once, against which removals are checked."""

    def __init__(self, body: etree._Element) -> None:
        self.total = max(prose_len(body), 1)

    def remeasure(self, body: etree._Element | None) -> None:
        """Measure again after cuts (the guards' decisions are taken; what is left is what counts)."""
        if body is not None:
            self.total = max(prose_len(body), 1)

    def holds_content(self, el: etree._Element, *, widget: bool = False) -> bool:
        """Whether removing ``el`` would remove (part of) the article.

        A widget made of repeated cards (three or more children of one tag and class: teasers
        with their excerpts) holds no article, however much prose its excerpts add up to.
        """
        need = min(SHARE_OF_PAGE * self.total, PROSE_CHARS) if widget else SHARE_OF_PAGE * self.total
        if len(el.text_content()) < need:  # prose is part of the text: most elements stop here
            return False
        n = prose_len(el)
        if not (n >= SHARE_OF_PAGE * self.total or (widget and n >= PROSE_CHARS)):
            return False
        return not (widget and _is_card_list(el, n))


def _card_class(el: etree._Element) -> str:
    """The first class token: a component's name (later tokens vary per item: ``post-7816``, ``category-x``)."""
    tokens = (el.get("class") or "").split()
    return tokens[0] if tokens else ""


def _is_card_list(el: etree._Element, prose: int) -> bool:
    groups: dict[tuple[str, str], int] = {}
    for child in el:
        # a card is a block that links somewhere (a teaser); paragraphs of one text are not cards
        if child.tag in _CARD_TAGS and next(child.iter("a"), None) is not None:
            key = (child.tag, _card_class(child))
            groups[key] = groups.get(key, 0) + 1
    if not groups:
        return False
    (tag, cls), count = max(groups.items(), key=lambda kv: kv[1])
    if count < CARDS:
        return False
    cards = [c for c in el if c.tag == tag and _card_class(c) == cls and next(c.iter("a"), None) is not None]
    return sum(prose_len(c) for c in cards) >= 0.7 * prose


def strip_tags_guarded(tree: etree._Element, tags: tuple[str, ...], prose: PageProse | None) -> None:
    """Remove ``tags`` with their content, except those holding the page's prose: those are unwrapped.

    Unless what such an element holds stands elsewhere in the page too: a ``<noscript>`` copy of
    the article for browsers without JavaScript, beside the article itself, is removed (kept, the
    body would come out twice).
    """
    if prose is not None:
        keep = [el for el in tree.iter(*tags) if prose.holds_content(el)]
        if keep:
            keep = _without_copies(tree, keep)
        if keep:
            for el in keep:
                el.tag = "unwrapped-guard"
            etree.strip_tags(tree, "unwrapped-guard")
    etree.strip_elements(tree, *tags, with_tail=False)


_SAMPLE_CHARS = 120  # a paragraph's opening this long is found twice only when the text is copied


def _without_copies(tree: etree._Element, holders: list[etree._Element]) -> list[etree._Element]:
    """``holders`` less those whose text stands elsewhere in the page, outside the ones already left out.

    So of two ``<noscript>`` copies with no article beside them, the first is a copy of the second
    and goes, and the second, whose text then stands nowhere else, stays: the article is kept once.
    """
    page_text = _flat(tree)
    kept: list[etree._Element] = []
    dropped: list[str] = []
    for el in holders:
        sample, own = _opening(el), _flat(el)
        if sample and page_text.count(sample) - own.count(sample) - sum(t.count(sample) for t in dropped) > 0:
            dropped.append(own)
        else:
            kept.append(el)
    return kept


def _flat(el: etree._Element) -> str:
    return " ".join(el.text_content().split())


def _opening(el: etree._Element) -> str | None:
    """The first ``_SAMPLE_CHARS`` characters of ``el``'s first paragraph that has as many."""
    for p in el.iter("p"):
        sample = _flat(p)[:_SAMPLE_CHARS]
        if len(sample) == _SAMPLE_CHARS:
            return sample
    return None
