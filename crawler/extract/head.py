"""What a page says about itself: its ``<meta>``, canonical links and JSON-LD, read in one pass.

Read before the body is pruned (the extractor cuts the tree in place), once per page; the
metadata, the date, author and title rules and the paywall test all read this one record.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from lxml import etree
from lxml.html import HtmlElement

from crawler.discovery.jsonld import decoded_entities, is_jsonld_script, jsonld_documents

__all__ = ["PageHead", "article_object", "read_head"]

_ARTICLE_TYPES = {"newsarticle", "article", "blogposting", "reportagenewsarticle", "analysisnewsarticle",
                  "opinionnewsarticle", "webpage", "liveblogposting", "scholarlyarticle", "techarticle"}


class PageHead(NamedTuple):
    """What the page says about itself, read in one pass before the body is pruned."""

    meta: dict[str, list[str]]  # <meta> name/property/itemprop (lower-cased) -> contents
    ld: dict[str, Any]  # the article-like JSON-LD object, or {}
    canonical: list[str]  # hrefs of <link rel="canonical">
    trafilatura_json: bool  # a script trafilatura's JSON-LD reader would read
    jsonld: list[Any]  # every JSON-LD script, parsed once (also for @id references)


def _head_nodes(tree: HtmlElement) -> Iterator[etree._Element]:
    """``//meta[@content] | //link[@rel][@href] | //script[@type]``, in document order, in one traversal
    (lxml's tag iterator and the attribute tests in Python cost less than libxml2's XPath)."""
    for node in tree.getroottree().getroot().iter("meta", "link", "script"):
        tag = node.tag
        if (node.get("content") is not None) if tag == "meta" else (node.get("type") is not None) if tag == "script" \
                else (node.get("rel") is not None and node.get("href") is not None):
            yield node


def read_head(tree: HtmlElement) -> PageHead:
    """The page's :class:`PageHead`, from one traversal of its ``<meta>``, ``<link>`` and ``<script>``."""
    meta: dict[str, list[str]] = {}
    scripts: list[etree._Element] = []
    canonical: list[str] = []
    trafilatura_json = False
    for node in _head_nodes(tree):
        tag = node.tag
        if tag == "meta":
            key = (node.get("property") or node.get("name") or node.get("itemprop") or "").strip().lower()
            value = (node.get("content") or "").strip()
            if key and value:
                meta.setdefault(key, []).append(value)
        elif tag == "link":
            if (node.get("rel") or "").lower() == "canonical":
                canonical.append(node.get("href") or "")
        else:
            kind = node.get("type") or ""
            trafilatura_json = trafilatura_json or kind in ("application/ld+json", "application/settings+json")
            if is_jsonld_script(node):
                scripts.append(node)
    # the classifier's reader (comment/CDATA wrappers, raw newlines), with HTML entities decoded for
    # every use here: the article object, and the people and publishers it names by @id
    parsed = decoded_entities(jsonld_documents(scripts))
    return PageHead(meta, article_object(parsed), canonical, trafilatura_json, parsed)


def article_object(documents: Iterable[Any]) -> dict[str, Any]:
    """The first article-like JSON-LD object (``@graph`` and lists searched)."""
    best: dict[str, Any] = {}
    for data in documents:
        queue = deque([data])  # breadth first (the page's own object before nested ones), O(1) pops
        while queue:
            obj = queue.popleft()
            if isinstance(obj, list):
                queue.extend(obj)
            elif isinstance(obj, dict):
                types = obj.get("@type", [])
                types = {t.lower() for t in ([types] if isinstance(types, str) else types) if isinstance(t, str)}
                if types & _ARTICLE_TYPES and ("headline" in obj or "datePublished" in obj):
                    if "webpage" not in types:
                        return obj
                    best = best or obj
                queue.extend(v for k, v in obj.items() if k in ("@graph", "mainEntity", "mainEntityOfPage"))
    return best
