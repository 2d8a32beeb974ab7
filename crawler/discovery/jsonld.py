"""A page's JSON-LD, read one way for both its readers: the page classifier and the metadata extractor.

Both used to parse the scripts themselves, with different rules (one stripped ``<!--``/CDATA
wrappers, one matched the script type loosely, both lost an object to a raw newline inside a
string), so a page could be an article for one and have no article object for the other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from html import unescape
from typing import Any

from lxml import etree

__all__ = ["article_type", "decoded_entities", "is_jsonld_script", "jsonld_documents", "jsonld_types", "parse_jsonld"]

# schema.org types of a page that is an article, in schema.org's spelling (the classifier's reason
# names it: a bounded token whatever case the page uses)
_ARTICLE_NAMES = (
    "Article NewsArticle BlogPosting ReportageNewsArticle AnalysisNewsArticle OpinionNewsArticle "
    "ReviewNewsArticle BackgroundNewsArticle AskPublicNewsArticle SatiricalArticle LiveBlogPosting "
    "TechArticle Report SocialMediaPosting"
).split()
_BY_LOWER = {name.lower(): name for name in _ARTICLE_NAMES}

# what some CMSs wrap a script's JSON in (an HTML comment, a CDATA section, commented or not)
_WRAPPER = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(?:-->|//\s*\]\]>|\]\]>)\s*$")


def is_jsonld_script(el: etree._Element) -> bool:
    """A ``<script>`` whose type says JSON-LD (``application/ld+json``, any case, with parameters)."""
    return "ld+json" in (el.get("type") or "").lower()


def parse_jsonld(raw: str) -> Any:
    """One script's JSON, wrappers stripped, raw control characters in strings allowed; None if unreadable."""
    raw = _WRAPPER.sub("", raw.strip())
    if not raw:
        return None
    try:
        return json.loads(raw, strict=False)  # strict=False: a newline inside a string, as trafilatura reads it
    except (ValueError, RecursionError):  # nested deeper than Python's stack: not metadata
        return None


def jsonld_documents(scripts: Iterable[etree._Element]) -> list[Any]:
    """The parsed JSON of every JSON-LD script among ``scripts`` (e.g. ``root.iter("script")``), in page order."""
    out = []
    for script in scripts:
        if is_jsonld_script(script) and (data := parse_jsonld(script.text or "")) is not None:
            out.append(data)
    return out


def jsonld_types(obj: dict[str, Any]) -> list[str]:
    """``obj``'s ``@type`` names, lower-cased, without a schema.org URL or ``schema:`` prefix."""
    raw = obj.get("@type")
    return [v.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
            for v in (raw if isinstance(raw, list) else [raw]) if isinstance(v, str)]


def article_type(types: Iterable[str]) -> str | None:
    """The first article type among lower-cased ``types``, in schema.org's spelling; None if there is none."""
    return next((_BY_LOWER[t] for t in types if t in _BY_LOWER), None)


def decoded_entities(value: Any) -> Any:
    """``value`` (parsed JSON-LD) with HTML entities decoded in its strings: a script's text is not
    entity-decoded by the HTML parser, and SEO plugins write ``What&#8217;s`` or ``&amp;`` into
    ``headline`` and author names."""
    if isinstance(value, str):
        return unescape(value) if "&" in value else value
    if isinstance(value, list):
        return [decoded_entities(v) for v in value]
    if isinstance(value, dict):
        return {k: decoded_entities(v) for k, v in value.items()}
    return value
