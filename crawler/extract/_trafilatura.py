"""The private helpers of trafilatura that newswarc uses, in one place: which, and why.

trafilatura's public API (``bare_extraction``, ``settings.Extractor``, ``settings.Document``)
does the extraction. These helpers are not part of it, and a trafilatura release may rename or
change them; ``tests/test_trafilatura_adapter.py`` fails loudly, naming the helper, when one is
gone or its signature changed.

- ``DOCTYPE_TAG``, ``FAULTY_HTML``, ``HTML_PARSER``, ``INVALID_XML_CHARS`` (``trafilatura.utils``):
  ``load_html``'s repairs and parser, applied to text newswarc has already decoded itself
  (``load_html`` would decode again, with other rules), so that trafilatura sees the same tree.
- ``line_processing`` (``trafilatura.utils``): trafilatura's whitespace and control-character
  clean-up, so that metadata read from ``<meta>`` and JSON-LD is cleaned as its own.
- ``examine_meta``, ``extract_meta_json``, ``extract_author``, ``extract_catstags``,
  ``extract_sitename``, ``extract_title``, ``extract_url``, ``META_URL`` (``trafilatura.metadata``):
  each metadata search on its own, run only for what the page's declarations leave missing
  (``bare_extraction(with_metadata=True)`` runs them all, on every page).
- ``AUTHOR_XPATHS``, ``AUTHOR_DISCARD_XPATHS`` (``trafilatura.xpaths``), ``normalize_authors``
  (``trafilatura.json_metadata``), ``trim`` (``trafilatura.utils``): ``extract_author``'s parts,
  which ``extract/_author_search.py`` reproduces without copying the page (and falls back to
  ``extract_author`` itself when the expressions change).
- ``compare_extraction``, ``SANITIZED_XPATH`` (``trafilatura.external``), called by
  ``trafilatura.core._extract_and_compare``: after its own extraction, trafilatura runs
  readability (and, on an "unclean" or short result, justext) and keeps their text only when its
  own is empty, less than half of readability's, or has no paragraphs. ``BoundedExtractor``
  carries an upper bound of the page's text length; with it, the comparison is skipped when it
  cannot change the result (:func:`comparison_is_futile`), a third of trafilatura's time on
  most article pages. The check replaces ``trafilatura.core._extract_and_compare`` (extraction,
  then comparison), so that a skipped comparison also skips trafilatura's copy of the raw tree
  made for it. Other callers of trafilatura in the process are not affected.
- The XPath lists of its extraction (``BODY_XPATH``, ``OVERALL_DISCARD_XPATH`` and the other
  ``FAST_XPATH_LISTS``, ``trafilatura.xpaths``): their class and id tests (``re:test``,
  ``contains``, ``translate``) cost a Python call per element inside lxml; each expression is
  translated into Python (``extract/_xpath_fast.py``) and runs so only inside newswarc's calls
  (``fast_xpaths()``, in ``extract/body.py``). An expression it cannot read keeps its XPath.
"""

from __future__ import annotations

from copy import copy
from typing import Any

import trafilatura.core as _core
import trafilatura.xpaths as _xpaths
from lxml import etree
from trafilatura import bare_extraction
from trafilatura.external import SANITIZED_XPATH, compare_extraction
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_author,
    extract_catstags,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document, Extractor
from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML, HTML_PARSER, INVALID_XML_CHARS, line_processing, trim
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

from crawler.extract._xpath_fast import fast_xpaths, install

# name -> the parameters newswarc calls it with (checked by the test)
PRIVATE_FUNCTIONS = {
    "examine_meta": ("tree",),
    "extract_meta_json": ("tree", "metadata"),
    "extract_author": ("tree",),
    "extract_catstags": ("metatype", "tree"),
    "extract_sitename": ("tree",),
    "extract_title": ("tree",),
    "extract_url": ("tree", "default_url"),
    "line_processing": ("line", "preserve_space", "trailing_space"),
    "compare_extraction": ("cleaned_tree", "raw_tree", "body", "text", "options"),
    "_extract_and_compare": ("cleaned_tree", "cleaned_tree_backup", "tree", "options"),
    "normalize_authors": ("current_authors", "author_string"),
    "trim": ("string",),
}
PRIVATE_PATTERNS = ("DOCTYPE_TAG", "FAULTY_HTML", "INVALID_XML_CHARS", "META_URL")

__all__ = [
    "AUTHOR_DISCARD_XPATHS", "AUTHOR_XPATHS", "DOCTYPE_TAG", "FAULTY_HTML", "HTML_PARSER", "INVALID_XML_CHARS", "META_URL", "SANITIZED_XPATH",
    "BoundedExtractor", "Document", "Extractor", "bare_extraction", "comparison_is_futile", "compare_extraction",
    "examine_meta", "extract_author", "extract_catstags", "extract_meta_json",
    "extract_sitename", "extract_title", "extract_url", "fast_xpaths", "line_processing", "normalize_authors", "text_bound",
    "trim",
]


class BoundedExtractor(Extractor):
    """trafilatura's options plus ``text_bound``: at least the length of the page's text, whitespace collapsed.

    Set per call (on a copy). Without it (None), trafilatura runs as it always does.
    """

    __slots__ = ("text_bound",)


def text_bound(tree: etree._Element) -> int:
    """The length of ``tree``'s text with whitespace runs collapsed (as ``trafilatura.utils.trim``).

    No extractor returns more text than the tree it is given, and trafilatura gives readability
    a copy of this tree with parts removed: removing text never lengthens the trimmed rest.
    """
    words = tree.text_content().split()
    return sum(map(len, words)) + max(len(words) - 1, 0)


_SANITIZED = etree.XPath(SANITIZED_XPATH)


def comparison_is_futile(body: etree._Element, text: str, options: Any) -> bool:
    """Whether trafilatura's ``compare_extraction`` must return ``(body, text)`` unchanged.

    Its rules (precision and balanced focus): readability's text replaces ``text`` when ``text``
    is empty, when readability's is more than twice as long, or when it is long and ``body``
    has no paragraph text or more tables than paragraphs; justext runs when ``body`` holds
    "unclean" elements (``SANITIZED_XPATH``) or ``text`` is shorter than ``min_extracted_size``.
    With twice ``text`` at least the page's whole text, paragraphs, no unclean element and a
    long enough text, none of them can fire. Recall focus has rules of its own: never skipped.
    """
    bound = getattr(options, "text_bound", None)
    if bound is None or options.focus not in ("precision", "balanced"):
        return False
    n = len(text)
    return n >= options.min_extracted_size and 2 * n >= bound and bool(body.xpath(".//p//text()")) \
        and len(body.findall(".//table")) <= len(body.findall(".//p")) and not _SANITIZED(body)


_extract_and_compare = _core._extract_and_compare  # trafilatura's own, for every other caller


def _extract_and_compare_bounded(cleaned_tree: Any, cleaned_tree_backup: Any, tree: Any, options: Any) -> Any:
    """``trafilatura.core._extract_and_compare``, with the comparison skipped when futile.

    The check comes before trafilatura's copy of the raw tree for the comparison, which a
    skipped comparison never reads. Without a ``BoundedExtractor`` trafilatura's own runs.
    """
    if getattr(options, "text_bound", None) is None:
        return _extract_and_compare(cleaned_tree, cleaned_tree_backup, tree, options)
    postbody, temp_text = _core.extract_content(cleaned_tree, options)
    if not options.fast and not comparison_is_futile(postbody, temp_text, options):
        postbody, temp_text = compare_extraction(cleaned_tree_backup, copy(tree), postbody, temp_text, options)
    return postbody, temp_text


# trafilatura_sequence and _recall_retry look _extract_and_compare up in their module at each call
_core._extract_and_compare = _extract_and_compare_bounded

# the XPath lists of trafilatura's extraction that test classes and ids (its modules share these
# list objects): translated in place, used inside fast_xpaths() only (extract/_xpath_fast.py)
FAST_XPATH_LISTS = ("BODY_XPATH", "DISCARD_IMAGE_ELEMENTS", "OVERALL_DISCARD_XPATH", "PRECISION_DISCARD_XPATH",
                    "RAW_TREE_PRUNE_XPATH", "REMOVE_COMMENTS_AND_LISTS_XPATH", "REMOVE_COMMENTS_XPATH",
                    "TEASER_DISCARD_XPATH")
FAST_XPATHS = install([getattr(_xpaths, name) for name in FAST_XPATH_LISTS if isinstance(getattr(_xpaths, name, None), list)])
