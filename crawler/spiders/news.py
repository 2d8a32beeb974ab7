"""The one generic news spider: a seed file in, article pages out.

Discovery takes every route a careful archivist would: robots.txt ``Sitemap:`` lines, sitemap
indexes, news sitemaps, RSS/Atom feeds (given or found through ``<link rel="alternate">``),
start pages and section pages with their pagination. The spider only routes: parsing lives in
:mod:`crawler.discovery`, extraction in the pipeline, archiving in :mod:`crawler.archive`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import scrapy
from scrapy import signals
from scrapy.http import Response, TextResponse
from scrapy.utils.httpobj import urlparse_cached

from crawler.config import Seed, load_seed
from crawler.discovery.feeds import feed_links, looks_like_feed, parse_feed
from crawler.discovery.links import extract_links, next_page_links
from crawler.discovery.pagekind import classify_page, looks_like_article_url
from crawler.discovery.robots import sitemaps_from_robots
from crawler.discovery.sitemaps import looks_like_sitemap, parse_sitemap
from crawler.items import ArticlePage
from crawler.urls import canonicalize_url, is_allowed_domain

logger = logging.getLogger(__name__)

# Requests for discovery documents go first, then articles, then listing pages.
PRIORITY = {"robots": 30, "sitemap": 20, "feed": 20, "article": 10, "start": 5, "section": 0, "link": -5}
HTML_TYPES = (b"text/html", b"application/xhtml")


class NewsSpider(scrapy.Spider):
    """``scrapy crawl news -a seed=seeds/NAME.toml`` (or a seed name)."""

    name = "news"

    def __init__(self, seed: str | Seed | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if seed is None:
            raise ValueError("the news spider needs a seed: scrapy crawl news -a seed=seeds/NAME.toml")
        self.seed: Seed = seed if isinstance(seed, Seed) else load_seed(seed)
        self.allowed_domains = list(self.seed.allowed_domains)
        self._requested: set[str] = set()
        self._emitted: set[str] = set()
        self._robots_done: set[str] = set()
        self.max_pages: int | None = None
        self.state = None  # a CrawlState when incremental crawling is on

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.max_pages = spider.seed.max_pages or settings.getint("NEWSWARC_CRAWL_MAX_PAGES") or None
        if spider.seed.max_depth is not None:
            crawler.settings.set("DEPTH_LIMIT", 0, priority="spider")  # our own depth: see _depth()
        crawler.signals.connect(spider._robots_parsed, signal=signals.robots_parsed)
        return spider

    # --- requests -----------------------------------------------------------------------

    def _request(self, url: str, route: str, callback, *, depth: int = 0, meta: dict | None = None,
                 canonical: bool = True) -> scrapy.Request | None:
        """One request per URL per run, inside the allowed domains, within the page budget."""
        url = canonicalize_url(url) if canonical else url
        if url in self._requested:
            return None
        if not is_allowed_domain(url, self.seed.allowed_domains):
            self.crawler.stats.inc_value("newswarc/crawl/offsite")
            return None
        if route in ("link", "section", "article", "start") and any(p.search(url) for p in self.seed.deny_url_patterns):
            self.crawler.stats.inc_value("newswarc/crawl/denied")
            return None
        if self.seed.max_depth is not None and depth > self.seed.max_depth:
            self.crawler.stats.inc_value("newswarc/crawl/too_deep")
            return None
        if self.max_pages and len(self._requested) >= self.max_pages:
            self.crawler.stats.inc_value("newswarc/crawl/over_max_pages")
            return None
        self._requested.add(url)
        self.crawler.stats.inc_value(f"newswarc/crawl/requests/{route}")
        return scrapy.Request(
            url,
            callback=callback,
            errback=self._failed,
            priority=PRIORITY.get(route, 0),
            meta={"newswarc_seed": self.seed.name, "newswarc_route": route, "newswarc_depth": depth, **(meta or {})},
        )

    async def start(self):
        for url in self.seed.start_urls:
            if req := self._request(url, "start", self.parse_page, canonical=False):
                yield req
        for url in self.seed.sitemaps:
            if req := self._request(url, "sitemap", self.parse_sitemap):
                yield req
        for url in self.seed.feeds:
            if req := self._request(url, "feed", self.parse_feed):
                yield req
        if not self.settings.getbool("ROBOTSTXT_OBEY"):
            # Scrapy fetches robots.txt itself when it obeys it; otherwise we still want its sitemaps.
            for url in self.seed.start_urls:
                if req := self._request(_robots_url(url), "robots", self.parse_robots):
                    yield req

    def _robots_parsed(self, robotparser, request) -> None:
        """Scrapy parsed a robots.txt: schedule the sitemaps it names (once per host)."""
        netloc = urlparse_cached(request).netloc
        if netloc in self._robots_done or not is_allowed_domain(request.url, self.seed.allowed_domains):
            return
        self._robots_done.add(netloc)
        parser = getattr(robotparser, "rp", None)
        sitemaps = list(getattr(parser, "sitemaps", None) or [])
        base = _robots_url(request.url)
        for url in sitemaps:
            if req := self._request(urljoin(base, url.strip()), "sitemap", self.parse_sitemap):
                self.crawler.stats.inc_value("newswarc/discovery/robots_sitemaps")
                self.crawler.engine.crawl(req)

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        for url in sitemaps_from_robots(response.body, response.url):
            if req := self._request(url, "sitemap", self.parse_sitemap):
                self.crawler.stats.inc_value("newswarc/discovery/robots_sitemaps")
                yield req

    # --- discovery documents ------------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        sitemap = parse_sitemap(response.body, response.url)
        if sitemap.kind == "invalid":
            self._skip(response, "sitemap_invalid", sitemap.error)
            return
        stats = self.crawler.stats
        if sitemap.kind == "sitemapindex":
            for entry in sitemap.entries:
                if req := self._request(entry.loc, "sitemap", self.parse_sitemap):
                    yield req
            return
        cutoff = self._since_cutoff()
        for entry in sitemap.entries:
            stats.inc_value("newswarc/discovery/sitemap_urls")
            published = entry.news_publication_date or entry.lastmod
            if cutoff and published and published < cutoff:
                stats.inc_value("newswarc/crawl/skipped/older_than_since")
                continue
            if self.state is not None and self.state.seen_sitemap_entry(canonicalize_url(entry.loc), entry.lastmod):
                stats.inc_value("newswarc/crawl/skipped/unchanged_lastmod")
                continue
            discovered = {
                "sitemap_lastmod": _iso(entry.lastmod),
                "news_publication_date": _iso(entry.news_publication_date),
                "news_title": entry.news_title,
            }
            meta = {"newswarc_discovered": {k: v for k, v in discovered.items() if v}}
            if req := self._request(entry.loc, "sitemap", self.parse_page, depth=1, meta=meta):
                req.priority = PRIORITY["article"] + (5 if entry.news_publication_date else 0)
                yield req

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        feed = parse_feed(response.body, response.url)
        if feed.kind == "invalid":
            self._skip(response, "feed_invalid", feed.error)
            return
        cutoff = self._since_cutoff()
        for entry in feed.entries:
            self.crawler.stats.inc_value("newswarc/discovery/feed_urls")
            if cutoff and entry.published and entry.published < cutoff:
                self.crawler.stats.inc_value("newswarc/crawl/skipped/older_than_since")
                continue
            meta = {"newswarc_discovered": {k: v for k, v in {
                "feed_title": entry.title, "feed_published": _iso(entry.published)}.items() if v}}
            if req := self._request(entry.url, "feed", self.parse_page, depth=1, meta=meta):
                req.priority = PRIORITY["article"] + 5
                yield req

    # --- pages ----------------------------------------------------------------------------

    def parse_page(self, response: Response) -> Iterator[Any]:
        stats = self.crawler.stats
        depth = response.meta.get("newswarc_depth", 0)
        content_type = response.headers.get(b"Content-Type", b"").lower()
        if not any(t in content_type for t in HTML_TYPES) or not isinstance(response, TextResponse):
            # a feed or sitemap linked as a page is still worth reading
            if looks_like_feed(response.body, content_type.decode("latin-1")):
                yield from self.parse_feed(response)
            elif looks_like_sitemap(response.body):
                yield from self.parse_sitemap(response)
            else:
                self._skip(response, "not_html", content_type.decode("latin-1") or "no content type")
            return
        if response.meta.get("newswarc_truncated"):
            self._skip(response, "truncated", "body truncated at NEWSWARC_ARCHIVE_MAX_BODY")
            return
        body = response.body
        kind = classify_page(body, response.url, article_patterns=self.seed.article_url_patterns,
                             deny_patterns=self.seed.deny_url_patterns)
        stats.inc_value(f"newswarc/crawl/pages/{kind.kind}")
        if kind.kind == "article":
            url = canonicalize_url(response.url)
            if url not in self._emitted:
                self._emitted.add(url)
                yield ArticlePage(
                    url=response.url,
                    site=self.seed.name,
                    route=response.meta.get("newswarc_route", "link"),
                    depth=depth,
                    status=response.status,
                    body=body,
                    charset=response.encoding,
                    fetched_at=datetime.now(UTC),
                    capture=response.meta.get("newswarc_capture"),
                    discovered=response.meta.get("newswarc_discovered", {}),
                    etag=_header(response, b"ETag"),
                    last_modified=_header(response, b"Last-Modified"),
                )
        if kind.kind == "other" and depth > 0:
            return  # about/contact pages: archived, not mined for more links
        for url in feed_links(body, response.url):
            if req := self._request(url, "feed", self.parse_feed):
                stats.inc_value("newswarc/discovery/feeds_found")
                yield req
        for url in next_page_links(body, response.url):
            if req := self._request(url, "section", self.parse_page, depth=depth):
                yield req
        for url in extract_links(body, response.url):
            route = "article" if looks_like_article_url(url) else "link"
            if req := self._request(url, route, self.parse_page, depth=depth + 1):
                yield req

    # --- bookkeeping ----------------------------------------------------------------------

    def _since_cutoff(self) -> datetime | None:
        if not self.seed.since_seconds:
            return None
        return datetime.now(UTC) - timedelta(seconds=self.seed.since_seconds)

    def _skip(self, response: Response, reason: str, detail: str | None = None) -> None:
        self.crawler.stats.inc_value(f"newswarc/crawl/skipped/{reason}")
        logger.warning("Skipped %s (%s): %s", response.url, reason, detail or "")

    def _failed(self, failure) -> None:
        request = failure.request if hasattr(failure, "request") else None
        exc = failure.value
        kind = type(exc).__name__
        response = getattr(exc, "response", None)
        if response is not None:
            kind = f"http_{response.status}"
        self.crawler.stats.inc_value(f"newswarc/crawl/errors/{kind}")
        logger.warning("Failed %s: %s", getattr(request, "url", "?"), failure.getErrorMessage() or kind)


def _robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
