"""The body-extraction step: trafilatura's extractor in the mode the page needs.

``auto`` (the default) runs trafilatura in precision mode, which suits most news pages, and,
when precision kept little of the page's prose (it drops whole articles on some modern
layouts: cards, grids, tables of contents), balanced mode too; the longer text wins.

Both modes also drop parts of an article: a section laid out in a table, a list of steps, an
FAQ, text after a widget they took for the end. When what they kept is well under the text of
the page's text blocks (paragraphs, list items, quotes, cells, subheadings) outside links,
recall mode runs once more and its text replaces theirs when clearly longer. The block text is
measured on the pruned tree, so menus and widgets already cut do not count; link text does not
either (a short news page beside long menus and teaser lists would otherwise get recall's
boilerplate).
"""

from __future__ import annotations

from copy import copy

from lxml.html import HtmlElement

from crawler.config.extract import FAVOR_CHOICES
from crawler.extract._trafilatura import BoundedExtractor, Document, bare_extraction, fast_xpaths, text_bound
from crawler.extract.guard import PageProse

__all__ = ["AUTO_SHARE", "BASE", "RECALL_GAIN", "RECALL_SHARE", "block_text_len", "extract_body"]

# "auto": precision, unless it keeps less than this share of the page's prose; then balanced if longer
AUTO_SHARE = 0.4
# "auto": then recall, when the text kept is under this share of the page's block text...
RECALL_SHARE = 0.6
# ... and recall's text replaces it when it is this many times longer
RECALL_GAIN = 1.1
_BLOCKS = ("p", "li", "blockquote", "pre", "td", "h2", "h3", "h4")


def _extractor(favor: str) -> BoundedExtractor:
    # metadata is read by _page_metadata, which skips the costly searches a page makes unnecessary
    return BoundedExtractor(output_format="python", with_metadata=False, comments=False, tables=True,
                     precision=favor == "precision", recall=favor == "recall")


BASE = {favor: _extractor(favor) for favor in FAVOR_CHOICES if favor != "auto"}  # built once per process, never edited


def _trimmed_len(el: HtmlElement) -> int:
    words = el.text_content().split()
    return sum(map(len, words)) + max(len(words) - 1, 0)


def block_text_len(tree: HtmlElement) -> int:
    """Characters (whitespace runs collapsed) of the outermost text blocks of ``tree`` outside links:
    the text an article is written in, without the loose text of menus, buttons and layout
    wrappers, nor the link titles of menus and teaser lists written as list items."""
    total, top = 0, None
    for el in tree.iter(_BLOCKS):
        if top is not None:
            parent = el.getparent()
            while parent is not None and parent is not top:
                parent = parent.getparent()
            if parent is top:
                continue  # inside the block counted last (document order)
        top = el
        total += _trimmed_len(el) - sum(_trimmed_len(a) for a in el.iter("a"))
    return total


def _run(tree: HtmlElement, url: str, favor: str, bound: int) -> Document | None:
    opts = copy(BASE[favor])
    opts.url = opts.source = url
    opts.text_bound = bound
    with fast_xpaths():  # trafilatura's re:test expressions without a Python call per element
        return bare_extraction(tree, options=opts)


def _length(doc: Document | None) -> int:
    return len(doc.text or "") if doc is not None else 0


def extract_body(tree: HtmlElement, url: str, favor: str, prose: PageProse | None) -> Document | None:
    """trafilatura on ``tree`` (it works on its own copy), precision first in ``auto`` mode.

    Precision mode drops whole articles on some modern layouts (cards, grids, tables of
    contents); when what it keeps is a small part of the page's prose, balanced mode runs too
    and the longer text wins. When the text kept is still a small part of the page's text
    blocks, recall mode runs too and wins when clearly longer.
    """
    bound = text_bound(tree)  # lets trafilatura skip its readability/justext comparison when futile
    doc = _run(tree, url, favor if favor in BASE else "precision", bound)
    if favor != "auto" or prose is None:
        return doc
    kept = _length(doc)
    if kept < AUTO_SHARE * prose.total:
        second = _run(tree, url, "balanced", bound)
        if _length(second) > kept:
            doc, kept = second, _length(second)
    # the block text is at most the page's text (bound): most pages stop at the first test
    if kept >= RECALL_SHARE * bound or kept >= RECALL_SHARE * block_text_len(tree):
        return doc
    third = _run(tree, url, "recall", bound)
    return third if _length(third) > RECALL_GAIN * kept else doc
