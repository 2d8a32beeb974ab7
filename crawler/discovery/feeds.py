"""RSS 2.0, RSS 1.0 (RDF) and Atom feeds to article URLs, and feed discovery in HTML.

Feeds are the cheapest fresh-article source a news site offers. ``parse_feed`` is lenient
(broken XML is recovered, unknown roots are ``kind="invalid"``) and never raises; it uses
the same XXE-safe parser as the sitemaps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from crawler.dates import parse_date
from crawler.discovery.links import base_url, parse_html, rel_tokens
from crawler.discovery.xmlsafe import (
    child,
    child_text,
    first_element_name,
    gunzip_capped,
    localname,
    xml_root,
)
from crawler.urls import absolute_http

logger = logging.getLogger(__name__)

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")


@dataclass(frozen=True)
class FeedEntry:
    """One feed item: the article URL, its title and dates as given by the feed (UTC)."""

    url: str
    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None


@dataclass
class Feed:
    """A parsed feed: ``kind`` is ``rss``, ``atom``, ``rdf`` or ``invalid`` (see ``error``)."""

    kind: str
    entries: list[FeedEntry] = field(default_factory=list)
    error: str | None = None
    recovered: bool = False  # broken XML, entries are what lxml could recover


def _first_date(el: etree._Element, *names: str) -> datetime | None:
    for name in names:
        dt = parse_date(child_text(el, name))
        if dt is not None:
            return dt
    return None


def _rss_item(item: etree._Element, base: str) -> FeedEntry | None:
    """RSS 2.0 / RDF item: feedburner origLink, then <link>, then a permalink <guid>, then rdf:about."""
    url = absolute_http(child_text(item, "origLink"), base)
    links = [c for c in item if localname(c) == "link"]
    for c in sorted(links, key=lambda c: "}" in c.tag):  # plain <link> before <atom:link>
        if url:
            break
        rel = (c.get("rel") or "alternate").strip().lower()
        if rel == "alternate":
            url = absolute_http((c.text or "").strip() or c.get("href"), c.base or base)
    if not url:
        guid = child(item, "guid")
        if guid is not None and (guid.get("isPermaLink") or "true").strip().lower() != "false":
            url = absolute_http((guid.text or "").strip(), base)
    if not url:
        about = next((v for k, v in item.attrib.items() if k.endswith("}about") or k == "about"), None)
        url = absolute_http(about, base)
    if not url and links:  # only a broken link (``http://[::1/x``): the spider counts it as a bad URL
        url = absolute_http((links[0].text or "").strip() or links[0].get("href"), base, keep_broken=True)
    if not url:
        return None
    return FeedEntry(
        url=url,
        title=child_text(item, "title"),
        published=_first_date(item, "pubDate", "date", "published", "issued"),
        updated=_first_date(item, "updated", "modified"),
    )


def _atom_entry(entry: etree._Element, base: str) -> FeedEntry | None:
    """Atom entry: the alternate link (HTML preferred), resolved through xml:base; else an http id."""
    candidates: list[tuple[int, str]] = []
    for c in entry:
        if localname(c) != "link":
            continue
        rel = (c.get("rel") or "alternate").strip().lower()
        if rel not in ("alternate", "http://www.iana.org/assignments/relation/alternate"):
            continue
        link = absolute_http(c.get("href"), c.base or base)
        if link:
            ctype = (c.get("type") or "text/html").lower()
            candidates.append((0 if "html" in ctype else 1, link))
    url = min(candidates, key=lambda pair: pair[0])[1] if candidates else None
    if url is None:
        ident = child_text(entry, "id")
        if ident and ident.lower().startswith(("http://", "https://")):
            url = absolute_http(ident, base)
    if not url:  # only a broken link (``http://[::1/x``): the spider counts it as a bad URL
        url = next((link for c in entry if localname(c) == "link"
                    and (link := absolute_http(c.get("href"), c.base or base, keep_broken=True))), None)
    if not url:
        return None
    return FeedEntry(
        url=url,
        title=child_text(entry, "title"),
        published=_first_date(entry, "published", "issued", "created"),
        updated=_first_date(entry, "updated", "modified"),
    )


def parse_feed(body: bytes, url: str) -> Feed:
    """Parse an RSS 2.0, RSS 1.0/RDF or Atom 1.0 feed; never raises.

    Args:
        body: the response body (a gzip file is inflated, capped like sitemaps).
        url: where it came from; relative links and ``xml:base`` resolve against it.
    Returns:
        a ``Feed`` with entries in feed order (deduplicated by URL); ``kind="invalid"`` and a
        one-line ``error`` when the body is not a feed or nothing could be recovered.
    """
    try:
        data = gunzip_capped(body or b"")
    except ValueError as exc:
        return Feed(kind="invalid", error=str(exc))
    if not data.strip():
        return Feed(kind="invalid", error="empty body")
    root, error = xml_root(data, url)
    if root is None:
        return Feed(kind="invalid", error=f"not XML: {error or 'nothing parseable'}")
    name = localname(root)
    if name in ("rss", "channel"):
        kind, channel = "rss", child(root, "channel") if name == "rss" else root
        items = [el for el in (channel if channel is not None else root) if localname(el) == "item"]
        parse_one = _rss_item
    elif name == "RDF":
        kind, parse_one = "rdf", _rss_item
        items = [el for el in root if localname(el) == "item"]
        if not items:  # RSS 0.90 nests items in the channel
            channel = child(root, "channel")
            items = [el for el in (channel if channel is not None else []) if localname(el) == "item"]
    elif name == "feed":
        kind, parse_one = "atom", _atom_entry
        items = [el for el in root if localname(el) == "entry"]
    else:
        return Feed(kind="invalid", error=f"not a feed: root element is <{name or '?'}>")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for item in items:
        entry = parse_one(item, url)
        if entry is not None and entry.url not in seen:
            seen.add(entry.url)
            entries.append(entry)
    if error and not entries:
        return Feed(kind="invalid", error=f"broken XML: {error}")
    if error:
        logger.debug("feed %s is broken XML (%s); recovered %d entries", url, error, len(entries))
    return Feed(kind=kind, entries=entries, recovered=bool(error))


def looks_like_feed(body: bytes, content_type: str = "") -> bool:
    """Cheap sniff from the Content-Type or the first element: rss, Atom feed or RSS 1.0 rdf:RDF."""
    ctype = (content_type or "").lower()
    if any(t in ctype for t in FEED_TYPES):
        return True
    head = (body or b"")[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return False
    name = first_element_name(head)
    if name in ("rss", "feed"):
        return True
    return name == "RDF" and b"purl.org/rss" in head


def feed_links(html: bytes | str | etree._Element, url: str) -> list[str]:
    """Feeds a page advertises (``<link rel=alternate type=rss/atom>``), absolute and deduplicated.

    Comment feeds (title or href mentioning "comments") are skipped: they hold no articles.
    """
    root = parse_html(html)
    if root is None:
        return []
    base = base_url(root, url)
    out: list[str] = []
    for el in root.iter("link", "a"):
        if "alternate" not in rel_tokens(el):
            continue
        if (el.get("type") or "").strip().lower() not in FEED_TYPES:
            continue
        href = el.get("href") or ""
        if "comments" in href.lower() or "comments" in (el.get("title") or "").lower():
            continue
        link = absolute_http(href, base)
        if link and link not in out:
            out.append(link)
    return out
