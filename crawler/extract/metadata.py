"""Article metadata: what the page declares (<meta>, JSON-LD, OpenGraph) first, then trafilatura's and htmldate's searches.

Read before the tree is pruned; each costly search runs only for what is still missing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import date
from html import unescape as html_unescape
from typing import Any, NamedTuple

from htmldate import find_date
from lxml.html import HtmlElement

from crawler.extract._author_search import author_search
from crawler.extract._trafilatura import (
    META_URL,
    Document,
    examine_meta,
    extract_catstags,
    extract_meta_json,
    extract_sitename,
    extract_title,
    line_processing,
)
from crawler.extract.authors import (
    NAME_META,
    author_card,
    clean_authors,
    credits_list,
    datalayer_author,
    dateline_name,
    from_handle,
    jsonld_authors,
    page_byline,
    written_by,
)
from crawler.extract.dates import choose_published, lone_date, visible_date
from crawler.extract.daytext import latest_day, parse_day, text_date, url_date
from crawler.extract.head import PageHead
from crawler.extract.title import choose_title
from crawler.urls import absolute_http, canonicalize_url, url_host

logger = logging.getLogger(__name__)

_WS = re.compile(r"\s+")

def _names(value: Any) -> list[str]:
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            item = item.get("name")
        if isinstance(item, str) and item.strip():
            out.append(_WS.sub(" ", item).strip())
    return out


def _first(*values: Any) -> str | None:
    for v in values:
        if isinstance(v, list):
            v = v[0] if v else None
        if isinstance(v, dict):
            v = v.get("url") or v.get("name")
        if isinstance(v, str) and v.strip():
            return _WS.sub(" ", v).strip()
    return None


def _iso(value: str | None) -> str | None:
    """Keep ISO-8601-looking dates (``2024-05-01`` or with time); else None."""
    if value and re.match(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$", value.strip()):
        return value.strip().replace(" ", "T", 1)
    return None


def _split_list(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        for part in re.split(r"\s*[,;]\s*", v):
            if part and part not in out:
                out.append(part)
    return out


def _same_site(a: str, b: str) -> bool:
    ha, hb = url_host(a), url_host(b)
    strip = lambda h: h[4:] if h.startswith("www.") else h  # noqa: E731
    return bool(ha) and strip(ha) == strip(hb)


def _canonical(head: PageHead, url: str) -> str:
    for cand in head.canonical + head.meta.get("og:url", []):
        cand = absolute_http(cand, url)  # None for a malformed one (``http://[oops``): the next candidate
        if cand and _same_site(cand, url):
            return canonicalize_url(cand)
    return canonicalize_url(url)


def _declared_language(tree: HtmlElement, meta: Mapping[str, list[str]]) -> str | None:
    value = tree.get("lang") or _first(meta.get("content-language"), meta.get("og:locale"),
                                      meta.get("language"), meta.get("dc.language"))
    if value and (m := re.match(r"^([A-Za-z]{2,3})\b", value.strip())):
        return m.group(1).lower()
    return None


def _detect_language(text: str) -> str | None:
    """py3langid on the first 2,000 characters: enough for a stable guess, cost bounded per page."""
    if len(text) < 20:
        return None
    import py3langid  # start-up: loads its model (~0.15 s); only pages without a declared language need it
    return py3langid.classify(text[:2000])[0]


def _head_metadata(tree: HtmlElement, page: PageHead) -> Document:
    """trafilatura's cheap metadata sources: ``<meta>``/OpenGraph, then its JSON-LD reader."""
    doc = examine_meta(tree)
    if doc.author and " " not in doc.author:  # as trafilatura: a one-word "author" is a site handle
        doc.author = None
    if not page.trafilatura_json:
        return doc
    try:
        doc = extract_meta_json(tree, doc)
    except Exception:  # trafilatura's JSON-LD reader is best effort; ours (_jsonld) still runs
        logger.debug("trafilatura JSON-LD metadata failed", exc_info=True)
    return doc


def _tidy(value: Any) -> Any:
    """The last step of ``trafilatura.metadata.extract_metadata`` for one string field."""
    if isinstance(value, str):
        value = line_processing(html_unescape(value[:9999] + "…" if len(value) > 10000 else value))
    return value


def _link_terms(kind: str, tree: HtmlElement, page: PageHead) -> list[str]:
    """trafilatura's tags/categories from links (``/tag/``, ``/category/`` URLs), <head> subjects.

    Its XPath searches are skipped when no link on the page could qualify (one cheap scan).
    """
    needle = "/tag" if kind == "tag" else "/categor"
    if any(needle in (a.get("href") or "") for a in tree.getroottree().getroot().iter("a")) or (
            kind == "category" and any("subject" in key for key in page.meta)):
        return extract_catstags(kind, tree)
    return []


def _authors(tree: HtmlElement, head: Document, page: PageHead, sites: tuple[str | None, ...]) -> list[str]:
    """People first: JSON-LD persons (``@id`` resolved), declared metas, the byline search; organisations last.

    Each source is cleaned (``crawler.extract.authors``); the first that names someone wins.
    """
    people, orgs = jsonld_authors(page.jsonld, page.ld)
    if names := clean_authors(people, sites):
        return names
    if names := clean_authors(written_by(page.meta), sites):
        return names
    declared = [v for key in NAME_META for v in page.meta.get(key, [])]
    stated = head.author
    if any(credits_list(v) for v in declared):  # trafilatura's meta reader read the same list
        stated, declared = None, [v for v in declared if not credits_list(v)]
    login = stated if from_handle(stated, people + declared) else None  # the byline may spell it
    if stated and not login and (names := clean_authors(_tidy(stated).split(";"), sites)):
        return names
    if (byline := _tidy(author_search(tree))) and (names := clean_authors([byline], sites)):
        return names
    if names := clean_authors([v for v in declared if not v.startswith(("http://", "https://", "//"))], sites):
        return names
    if names := clean_authors(page_byline(tree), sites):
        return names
    if names := clean_authors(author_card(tree), sites):
        return names
    title = _first(page.meta.get("og:title"), page.ld.get("headline"), tree.findtext(".//title"))
    if names := clean_authors(dateline_name(tree, title), sites):
        return names
    if names := clean_authors(datalayer_author(tree), sites):
        return names
    return (clean_authors(_tidy(login).split(";"), sites) if login else []) or clean_authors(orgs)


def _site_name(tree: HtmlElement, url: str, doc: Document) -> str | None:
    """trafilatura's site name: meta, else the ``<title>`` part with a dot, else the host."""
    name = doc.sitename or extract_sitename(tree)
    if name:
        name = name.lstrip("@")
        if name and "." not in name and not name[0].isupper():
            name = name.title()
        return _tidy(name) or None
    m = META_URL.match(url or "")
    return m[1] if m else None


def _modified(meta: Mapping[str, list[str]], ld: Mapping[str, Any]) -> str | None:
    return _iso(_first(ld.get("dateModified"), meta.get("article:modified_time"), meta.get("og:updated_time")))


def _published(tree: HtmlElement, url: str, meta: Mapping[str, list[str]], ld: Mapping[str, Any],
               date_params: Mapping[str, Any]) -> str | None:
    """The page's publication timestamp: the declared one, weighed against the date its header shows.

    ``crawler.extract.dates`` reads the date next to the ``<h1>`` and decides; the fallback
    (:func:`_searched_date`) runs only when the page neither declares nor shows a date.
    """
    # the first declaration in ISO 8601 ("datePublished": "Dec 18, 2025" does not hide the <meta>)
    stated = next(filter(None, (_iso(_first(v)) for v in (ld.get("datePublished"), meta.get("article:published_time"),
                                                          meta.get("datepublished"), meta.get("og:published_time")))),
                  None)
    modified = _modified(meta, ld)
    in_url = url_date(url)
    # no date later than tomorrow (the zones ahead of UTC): an event's or a typo's, not a publication
    latest = latest_day()
    stated, modified = (v if (d := parse_day(v)) is None or d <= latest else None for v in (stated, modified))
    in_url = in_url if in_url is None or in_url <= latest else None
    title = _first(meta.get("og:title"), ld.get("headline"), tree.findtext(".//title"))
    shown = visible_date(tree, title, (parse_day(stated), parse_day(modified), in_url))
    announced = bool(meta.get("article:published_time") or meta.get("og:published_time"))
    if chosen := choose_published(stated, modified, shown, in_url, announced=announced):
        return chosen
    return _meta_publication(meta, latest) or _searched_date(tree, url, date_params)


# <meta> names that state a publication date in other forms than ISO 8601 ("July 17, 2025"), or in
# vocabularies other than OpenGraph's; read when the page declares no ISO date and shows none
_PUBLICATION_METAS = ("published", "publish_date", "publish-date", "publishdate", "publisheddate", "pubdate",
                      "og:publish_date", "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued",
                      "dcterms.created", "dc.date", "date")


def _meta_publication(meta: Mapping[str, list[str]], latest: date) -> str | None:
    """The first of :data:`_PUBLICATION_METAS` whose content is a date (ISO 8601, or one the date rules
    read from text), as an ISO timestamp or day; no day after ``latest``."""
    for name in _PUBLICATION_METAS:
        for value in meta.get(name, ()):
            value = value.strip()
            if stamp := _iso(value):
                if (day := parse_day(stamp)) is not None and day <= latest:
                    return stamp
            elif len(value) <= 40 and (day := text_date(value, latest)) is not None:
                return day.isoformat()
    return None


def _searched_date(tree: HtmlElement, url: str, date_params: Mapping[str, Any]) -> str | None:
    """htmldate's fast search (markup, ``<time>``, date-named elements, timestamps), else the one day
    the page's short text lines name (``dates.lone_date``).

    Not htmldate's extensive search: its free-text pass costs ten times the rest, and what it finds
    beyond the fast search is mostly the copyright year padded to January 1st or one of several
    dates in the text. A January 1st from htmldate is such a padded year, not a day.
    """
    try:
        found = _iso(find_date(tree, **{**date_params, "extensive_search": False, "url": url}))
    except Exception:  # htmldate is best effort: no date is a valid outcome
        logger.debug("htmldate failed for %s", url, exc_info=True)
        found = None
    if found and found[5:10] != "01-01":
        return found
    lone = lone_date(tree)
    return lone.isoformat() if lone else None


def _declared_site(tree: HtmlElement, page: PageHead, head: Document, home: str | None) -> str | None:
    publisher = page.ld.get("publisher")
    return _first(page.meta.get("og:site_name"), publisher.get("name") if isinstance(publisher, dict) else None) \
        or _site_name(tree, home, head)


def page_authors(tree: HtmlElement, page: PageHead, head: Document, home: str | None) -> list[str]:
    """The authors, read before the tree is pruned: a byline's name can sit in a ``<button>`` (a
    profile pop-up) or a hover-card link, which the pruning removes with its text."""
    return _authors(tree, head, page, (_declared_site(tree, page, head, home),))


def _title_and_site(tree: HtmlElement, url: str, page: PageHead, head: Document,
                    home: str | None) -> tuple[str | None, str | None]:
    """The headline (``extract/title.py``) and the site name, which it is told apart from."""
    meta, ld = page.meta, page.ld
    site_name = _declared_site(tree, page, head, home)
    declared = (_first(meta.get("og:title")), _first(ld.get("headline")), _tidy(head.title),
                _first(tree.findtext(".//title")))
    sites = (site_name, _first(meta.get("application-name")))
    fallback = None if any(declared) else _tidy(extract_title(tree))
    return choose_title(tree, declared, sites, url, fallback=fallback), site_name


class _Meta(NamedTuple):
    title: str | None
    authors: list[str]
    published: str | None
    updated: str | None
    site_name: str | None
    description: str | None
    categories: list[str]
    tags: list[str]
    image: str | None
    canonical_url: str


def _page_metadata(tree: HtmlElement, url: str, page: PageHead, head: Document, home: str | None,
                   published: str | None, authors: list[str]) -> _Meta:
    """Metadata: what the page declares first; each costly search only for what is still missing."""
    meta, ld = page.meta, page.ld
    tags = [_tidy(t) for t in head.tags or []] \
        or _split_list(meta.get("article:tag", []) + _names(ld.get("keywords"))) or _link_terms("tag", tree, page)
    categories = [_tidy(c) for c in head.categories or []] \
        or _split_list(meta.get("article:section", []) + _names(ld.get("articleSection"))) \
        or _link_terms("category", tree, page)
    image = _first(meta.get("og:image"), ld.get("image"), _tidy(head.image))
    title, site_name = _title_and_site(tree, url, page, head, home)
    return _Meta(
        title=title,
        authors=authors,
        published=published,
        updated=_modified(meta, ld),
        site_name=site_name,
        description=_first(_tidy(head.description), meta.get("og:description"), meta.get("description"),
                           ld.get("description")),
        categories=[c for c in categories if c],
        tags=[t for t in tags if t],
        image=absolute_http(image, url),  # a malformed image URL is no image, not a lost article
        canonical_url=_canonical(page, url),
    )
