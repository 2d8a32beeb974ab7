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
"""

from __future__ import annotations

from trafilatura import bare_extraction
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
from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML, HTML_PARSER, INVALID_XML_CHARS, line_processing

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
}
PRIVATE_PATTERNS = ("DOCTYPE_TAG", "FAULTY_HTML", "INVALID_XML_CHARS", "META_URL")

__all__ = [
    "DOCTYPE_TAG", "FAULTY_HTML", "HTML_PARSER", "INVALID_XML_CHARS", "META_URL", "Document", "Extractor",
    "bare_extraction", "examine_meta", "extract_author", "extract_catstags", "extract_meta_json",
    "extract_sitename", "extract_title", "extract_url", "line_processing",
]
