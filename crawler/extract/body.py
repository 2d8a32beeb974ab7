"""The body-extraction step: trafilatura's extractor in the mode the page needs.

``auto`` (the default) runs trafilatura in precision mode, which suits most news pages, and,
when precision kept little of the page's prose (it drops whole articles on some modern
layouts: cards, grids, tables of contents), balanced mode too; the longer text wins.

Both modes also drop parts of an article: a section laid out in a table, a list of steps, an
FAQ, text after a widget they took for the end. When what they kept is under the text of the
page's text blocks (paragraphs, list items, quotes, cells, subheadings) outside links, recall
mode runs once more and its text replaces theirs when it adds prose: list items and sentences,
not the teaser headlines, captions and labels recall keeps as well. The block text is measured
on the pruned tree, so menus and widgets already cut do not count; link text does not either (a
short news page beside long menus and teaser lists would otherwise get recall's boilerplate).
"""

from __future__ import annotations

from collections import Counter
from copy import copy

from lxml.html import HtmlElement

from crawler.config.extract import FAVOR_CHOICES
from crawler.extract._trafilatura import BoundedExtractor, Document, bare_extraction, fast_xpaths, text_bound
from crawler.extract.guard import PageProse
from crawler.extract.text import is_list_item

__all__ = ["AUTO_SHARE", "BASE", "RECALL_GAIN", "RECALL_SHARE", "block_text_len", "extract_body", "unlink_heading_anchors"]

# "auto": precision, unless it keeps less than this share of the page's prose; then balanced if longer
AUTO_SHARE = 0.4
# "auto": then recall, when the text kept is under this share of the page's block text...
RECALL_SHARE = 0.95
# ... and recall's text replaces it when the prose it adds makes the text this many times longer
RECALL_GAIN = 1.05
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


def unlink_heading_anchors(tree: HtmlElement) -> None:
    """Unwrap a heading's link to itself (``<h3><a href="#benefits">Benefits</a></h3>``, the anchor a
    table of contents or a permalink icon points at): precision mode deletes a heading that is all
    link text, and this link leads nowhere but to the heading."""
    for heading in tree.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        for link in list(heading.iter("a")):
            if (link.get("href") or "").startswith("#"):
                link.drop_tag()


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
    and the longer text wins. When the text kept is still under the page's text blocks, recall
    mode runs too and wins when it adds prose (:func:`_gain`).
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
    return third if _gain(doc, third) > (RECALL_GAIN - 1) * kept else doc


MIN_SENTENCE_WORDS = 12
# a line of running text ends with one of these; stricter than clean_lines' test for link titles
# (a mark before any trailing symbols), which measured 0.985 -> 0.981 on extraction-dev here
_SENTENCE_END = tuple('.!?"\u201d')


def _is_prose(line: str, count: int) -> bool:
    """A list item, or a line of running text: a dozen words or more ending a sentence, once on the page.
    Related-story headlines, captions repeated by a gallery, button labels are neither."""
    return is_list_item(line) or (count == 1 and line.rstrip().endswith(_SENTENCE_END) and len(line.split()) >= MIN_SENTENCE_WORDS)


def _gain(doc: Document | None, wider: Document | None) -> int:
    """Characters of words ``wider`` adds to ``doc`` in prose lines (:func:`_is_prose`), less the words
    of ``doc`` it leaves out. Recall mode adds what precision drops (a list of steps, a section after
    a widget) and also what it rightly drops (teaser headlines, gallery captions): only prose counts."""
    old = (doc.text or "") if doc is not None else ""
    new = (wider.text or "") if wider is not None else ""
    old_lines, new_lines = old.split("\n"), Counter(new.split("\n"))
    had = set(old_lines)
    moved = Counter(word for line in old_lines if line not in new_lines for word in line.split())
    added = 0
    for line, count in new_lines.items():
        if line in had or not _is_prose(line, count):
            continue
        for word in line.split():
            if moved[word] > 0:
                moved[word] -= 1  # a line of ``doc`` that recall joined or split differently
            else:
                added += len(word) + 1
    lost = Counter(old.split()) - Counter(new.split())
    return added - sum((len(word) + 1) * n for word, n in lost.items())
