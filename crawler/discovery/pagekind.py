"""Is a page an article, an index (listing worth following) or something else?

The spider extracts articles and follows indexes. Seeds may say it with URL patterns;
otherwise a declared JSON-LD article type decides, then a linear score over many weak page
signals (``pagekind_model``: Open Graph, URL shape, prose, a dated ``<article>``...), then
listing types and signals. Every answer carries a short reason token so the spider can
count decisions per reason.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from crawler.discovery.jsonld import article_type, jsonld_documents, jsonld_types
from crawler.discovery.links import parse_html, rel_tokens
from crawler.discovery.pagekind_model import DOCS_URL, SERVICE_URL, article_score, features, main_articles

logger = logging.getLogger(__name__)

# Listing types (schema.org's spelling, for the reason): the strong ones outrank Open Graph;
# WebPage/ItemList appear on article pages too. Article types: crawler.discovery.jsonld.
STRONG_LISTING_TYPES = {t.lower(): t for t in ("CollectionPage", "SearchResultsPage", "ProfilePage")}
WEAK_LISTING_TYPES = frozenset({"webpage", "itemlist"})

_LISTING_SEGMENTS = frozenset(
    (
        "tag tags category categories author authors section sections topic topics archive "
        "archives feed search series"
    ).split()
)
_UTILITY_SEGMENTS = frozenset(
    (
        "about about-us contact contact-us privacy privacy-policy terms terms-of-use "
        "terms-of-service terms-and-conditions tos legal imprint impressum cookies cookie-policy "
        "login log-in signin sign-in logout register signup sign-up subscribe account my-account "
        "advertise careers jobs faq help wp-login.php wp-admin cart checkout"
    ).split()
)
_NOT_PAGE_EXT = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|json|xml|rss|atom|pdf|zip|gz|mp[34]|txt)$", re.I
)
_DATE_PATH = re.compile(
    r"/(?:19|20)\d{2}/(?:0?[1-9]|1[0-2])(?:/(?:0?[1-9]|[12]\d|3[01]))?/[^/]*[a-z][^/]*", re.I
)
_DATE_INLINE = re.compile(
    r"(?:^|[/_-])(?:19|20)\d{2}-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01])(?:[/_.-]|$)"
)
_NUMERIC_ID = re.compile(r"(?:^|[-_/.a-z])\d{5,}(?:[-_/.]|\.html?$|$)", re.I)
_SLUG_SPLIT = re.compile(r"[-_.]")
_PAGE_N = re.compile(r"/page/\d+/?$")

# article types that documentation sites put on every page (schema.org: "how-to topics, step-by-step,
# procedural troubleshooting, specifications"): the page model decides those pages
MODEL_DECIDES_TYPES = frozenset({"techarticle"})
MIN_TEASERS = 3
MIN_HEADLINE_LINKS = 6


@dataclass(frozen=True)
class PageKind:
    """``kind`` is ``article``, ``index`` or ``other``; ``reason`` is a short, bounded token."""

    kind: str
    reason: str


def _segments(url: str) -> list[str]:
    try:
        path = urlsplit(url).path
    except ValueError:
        return []
    return [s.lower() for s in path.split("/") if s]


def _is_listing_url(url: str) -> bool:
    segs = _segments(url)
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return bool(_PAGE_N.search(path)) or any(s in _LISTING_SEGMENTS for s in segs[:-1] or segs)


def _is_utility_url(url: str) -> bool:
    """A utility word ending the path, or followed by one short segment (``/account/orders``).

    Deeper paths under such a word are sections with their own pages: ``/terms/d/<slug>`` (a
    glossary), ``/faq/<long-slug>`` (an answer written as an article), ``/about/blog/...``.
    """
    segs = _segments(url)
    for i, seg in enumerate(segs):
        if seg in _UTILITY_SEGMENTS:
            rest = segs[i + 1:]
            if not rest or (len(rest) == 1 and len(_SLUG_SPLIT.split(rest[0])) <= 2):
                return True
    return False


@functools.lru_cache(maxsize=8192)  # as canonicalize_url's: the same links
def looks_like_article_url(url: str) -> bool:
    """URL-shape guess used to prioritise: date path, long numeric id or ``.html`` slug.

    False for listings (``/tag/``, ``/category/``, ``/author/``, ``/page/N/``, ``/feed/``),
    utility pages and non-HTML files.
    """
    try:
        path = urlsplit((url or "").strip()).path
    except ValueError:
        return False
    segs = [s for s in path.split("/") if s]
    if not segs or _NOT_PAGE_EXT.search(path) or _is_listing_url(url) or _is_utility_url(url):
        return False
    if segs[-1].lower() in _LISTING_SEGMENTS:
        return False
    last = segs[-1]
    if _DATE_PATH.search(path) or _DATE_INLINE.search(path):
        return True
    if _NUMERIC_ID.search("/" + last):
        return True
    if re.search(r"\.s?html?$", last, re.I) and "-" in last:
        return True
    words = [w for w in re.split(r"[-_]", last.lower().rsplit(".", 1)[0]) if w]
    return len(words) >= 5 and len(last) >= 25


def _jsonld_objects(root: etree._Element) -> Iterator[dict]:
    """Top-level JSON-LD objects, ``@graph`` members and their ``mainEntity`` (not nested teasers)."""
    for data in jsonld_documents(root.iter("script")):
        for obj in data if isinstance(data, list) else [data]:
            if not isinstance(obj, dict):
                continue
            graph = obj.get("@graph")
            for member in [obj] + (graph if isinstance(graph, list) else []):
                if not isinstance(member, dict):
                    continue
                yield member
                main = member.get("mainEntity")
                if isinstance(main, dict):
                    yield main


def declared_article_type(types: Sequence[str], url: str = "") -> str | None:
    """The JSON-LD article type that decides before the page model (lower-cased ``types``), if any.

    None on a site's home page and under a documentation or services path (``url``): SEO
    plug-ins and documentation platforms stamp ``Article`` on every page of a site, while a
    site's articles (a short brief too) live under their own paths; the page model decides those.
    """
    if url and _model_decides_url(url):
        return None
    return article_type(t for t in types if t not in MODEL_DECIDES_TYPES)


def _model_decides_url(url: str) -> bool:
    try:
        path = urlsplit(url).path or "/"
    except ValueError:
        return False
    return not path.strip("/") or bool(DOCS_URL.search(path) or SERVICE_URL.search(path))


def _listing_signal(root: etree._Element, url: str, teasers: int) -> bool:
    if teasers >= MIN_TEASERS or _is_listing_url(url):
        return True
    if any("next" in rel_tokens(el) for el in root.iter("link")):
        return True
    headline_links = sum(1 for h in root.iter("h2", "h3") if next(h.iter("a"), None) is not None)
    return headline_links >= MIN_HEADLINE_LINKS


def classify_page(
    html: bytes | str,
    url: str,
    *,
    article_patterns: Sequence[re.Pattern] = (),
    deny_patterns: Sequence[re.Pattern] = (),
    tree: etree._Element | None = None,
    discovered: Mapping[str, Any] | None = None,
) -> PageKind:
    """Classify a page as ``article``, ``index`` or ``other``; never raises.

    Args:
        html: the page (bytes in any declared encoding, or text).
        url: the page URL (after redirects).
        article_patterns: seed regexes; when given, they alone decide article vs index.
        deny_patterns: seed regexes for pages to leave alone (``other``).
        tree: an already parsed lxml HTML root, to parse the page only once.
        discovered: what the discovery route said about the page (``news_publication_date``
            from a Google News sitemap): a page the site lists as news with a date is an article
            even when its own metadata is thin (``news_sitemap``).
    Returns:
        a ``PageKind`` with a short reason token (``deny_pattern``, ``url_pattern``,
        ``no_url_pattern``, ``utility_page``, ``unparseable``, ``jsonld:<Type>``,
        ``model:<feature>``, ``listing``, ``news_sitemap``, ``error``).
    """
    try:
        kind = _classify(html, url, article_patterns, deny_patterns, tree)
    except Exception:  # a classifier bug must not stop the crawl: logged with its traceback
        logger.error("page classification failed for %s", url, exc_info=True)
        return PageKind("other", "error")
    if kind.kind != "article" and discovered and discovered.get("news_publication_date") and \
            kind.reason not in _DECISIVE:
        return PageKind("article", "news_sitemap")
    return kind


# verdicts that the discovery route does not overrule: the seed's own rules, utility pages
_DECISIVE = frozenset({"deny_pattern", "url_pattern", "no_url_pattern", "utility_page", "unparseable"})


def _classify(
    html: bytes | str,
    url: str,
    article_patterns: Sequence[re.Pattern],
    deny_patterns: Sequence[re.Pattern],
    tree: etree._Element | None,
) -> PageKind:
    if any(p.search(url) for p in deny_patterns):
        return PageKind("other", "deny_pattern")
    if article_patterns:
        if any(p.search(url) for p in article_patterns):
            return PageKind("article", "url_pattern")
        return PageKind("index", "no_url_pattern")
    if _is_utility_url(url):
        return PageKind("other", "utility_page")
    root = tree if tree is not None else parse_html(html)
    if root is None:
        return PageKind("other", "unparseable")

    objects = list(_jsonld_objects(root))
    types = [t for obj in objects for t in jsonld_types(obj)]
    mains = main_articles(root)
    listing_url = _is_listing_url(url)
    teaser_list = listing_url and len(mains) >= MIN_TEASERS
    declared = declared_article_type(types, url)
    if declared and not teaser_list:
        return PageKind("article", f"jsonld:{declared}")
    feats = features(root, url, objects, mains=mains)
    score, top = article_score(feats)
    if score > 0 and not teaser_list:
        return PageKind("article", f"model:{top}")
    listing_type = next((STRONG_LISTING_TYPES[t] for t in types if t in STRONG_LISTING_TYPES), None)
    if listing_type:
        return PageKind("index", f"jsonld:{listing_type}")
    weak_listing_type = any(t in WEAK_LISTING_TYPES for t in types)
    if feats["og_website"] or weak_listing_type or _listing_signal(root, url, len(mains)):
        return PageKind("index", "listing")
    return PageKind("other", f"model:{top}")
