"""The body-extraction step: trafilatura's extractor in the mode the page needs.

``auto`` (the default) runs trafilatura in precision mode, which suits most news pages, and,
when precision kept little of the page's prose (it drops whole articles on some modern
layouts: cards, grids, tables of contents), balanced mode too; the longer text wins.
"""

from __future__ import annotations

from copy import copy

from lxml.html import HtmlElement

from crawler.config.extract import FAVOR_CHOICES
from crawler.extract._trafilatura import BoundedExtractor, Document, bare_extraction, text_bound
from crawler.extract.guard import PageProse

__all__ = ["AUTO_SHARE", "BASE", "extract_body"]

# "auto": precision, unless it keeps less than this share of the page's prose; then balanced if longer
AUTO_SHARE = 0.4


def _extractor(favor: str) -> BoundedExtractor:
    # metadata is read by _page_metadata, which skips the costly searches a page makes unnecessary
    return BoundedExtractor(output_format="python", with_metadata=False, comments=False, tables=True,
                     precision=favor == "precision", recall=favor == "recall")


BASE = {favor: _extractor(favor) for favor in FAVOR_CHOICES if favor != "auto"}  # built once per process, never edited


def extract_body(tree: HtmlElement, url: str, favor: str, prose: PageProse | None) -> Document | None:
    """trafilatura on ``tree`` (it works on its own copy), precision first in ``auto`` mode.

    Precision mode drops whole articles on some modern layouts (cards, grids, tables of
    contents); when what it keeps is a small part of the page's prose, balanced mode runs too
    and the longer text wins.
    """
    bound = text_bound(tree)  # lets trafilatura skip its readability/justext comparison when futile
    opts = copy(BASE.get("precision" if favor == "auto" else favor, BASE["precision"]))
    opts.url = opts.source = url
    opts.text_bound = bound
    doc = bare_extraction(tree, options=opts)
    if favor != "auto" or prose is None:
        return doc
    kept = len(doc.text or "") if doc is not None else 0
    if kept >= AUTO_SHARE * prose.total:
        return doc
    opts = copy(BASE["balanced"])
    opts.url = opts.source = url
    opts.text_bound = bound
    second = bare_extraction(tree, options=opts)
    return second if second is not None and len(second.text or "") > kept else doc
