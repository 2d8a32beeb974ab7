"""The one generic news spider: a seed file in, article pages out.

Discovery takes every route a careful archivist would: robots.txt ``Sitemap:`` lines, sitemap
indexes, news sitemaps, RSS/Atom feeds (given or found through ``<link rel="alternate">``),
start pages and section pages with their pagination. The spider only routes: parsing lives in
:mod:`crawler.discovery`, extraction in the pipeline, archiving in :mod:`crawler.warc`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.httpobj import urlparse_cached

from crawler.config.seeds import Seed, load_seed
from crawler.context import count_already_archived, in_cpu_thread, run_context
from crawler.crawl.analysis import Link, analyse_page
from crawler.crawl.frontier import Frontier, batches_in_thread
from crawler.crawl.items import ArticlePage
from crawler.crawl.malloc import tune_malloc
from crawler.crawl.middlewares import ROBOTS_ROUTE
from crawler.crawl.outlinks import reporting_outlinks, send_outlinks
from crawler.crawl.reasons import count_failure
from crawler.dates import parse_iso as parse_time
from crawler.discovery.feeds import looks_like_feed, parse_feed
from crawler.discovery.robots import sitemaps_from_robots
from crawler.discovery.sitemaps import SitemapEntry, SitemapReader, looks_like_sitemap
from crawler.urls import (
    DigestSet,
    absolute_http,
    canonicalize_url,
    is_allowed_domain,
    redact_url,
    url_problem,
)

logger = logging.getLogger(__name__)

# Requests for discovery documents go first, then articles, then listing pages.
PRIORITY = {ROBOTS_ROUTE: 30, "sitemap": 20, "feed": 20, "article": 10, "start": 5, "section": 0, "link": -5}
HTML_TYPES = (b"text/html", b"application/xhtml")
FRONTIER_BATCH = 256


class NewsSpider(scrapy.Spider):
    """``scrapy crawl news -a seed=seeds/NAME.toml`` (or a seed name)."""

    name = "news"
    reports_outlinks = True  # each callback reports its outlinks (crawler.crawl.outlinks.send_outlinks)

    def __init__(self, seed: str | Seed | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if seed is None:
            raise ValueError("the news spider needs a seed: scrapy crawl news -a seed=seeds/NAME.toml")
        self.seed: Seed = seed if isinstance(seed, Seed) else load_seed(seed)
        self.allowed_domains = list(self.seed.allowed_domains)
        # canonical URLs requested and articles emitted in this run: 8 bytes each (memory flat in the crawl's size)
        self._requested = DigestSet()
        self._emitted = DigestSet()
        self._robots_done: set[str] = set()
        self._scheduled = 0  # requests made, for max_pages
        # Sitemaps announce every article at once: their entries wait here as small tuples (on disk
        # beyond a few thousand) and become Requests as the scheduler drains (20,000 queued Requests cost ~50 MB).
        self._frontier = Frontier()
        self.max_pages: int | None = None
        self.state = None  # a CrawlState when incremental crawling is on

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        tune_malloc()  # the crawl process's allocator: flat memory over a long crawl
        settings = crawler.settings
        spider.max_pages = spider.seed.page_budget(settings)
        crawler.signals.connect(spider._robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._top_up, signal=signals.response_received)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._frontier.close, signal=signals.spider_closed)
        return spider

    def _opened(self, spider) -> None:
        self.state = run_context(self.crawler).state

    # --- requests -----------------------------------------------------------------------

    def _request(self, url: str | Link, route: str, callback, *, depth: int = 0, meta: dict | None = None,
                 canonical: bool = True) -> scrapy.Request | None:
        """One request per URL per run, inside the allowed domains, within the page budget.

        A :class:`Link` was checked and canonicalized off the reactor (:func:`vet_links`).
        """
        if isinstance(url, Link):
            if url.offsite:  # vetted against the same allowed domains (the check below, done off the reactor)
                self.crawler.stats.inc_value("newswarc/crawl/offsite")
                return None
            problem, url, canonical = url.problem, url.url, False
        else:
            problem = url_problem(url)
        if problem is not None:  # never let one bad link stop its page
            self.crawler.stats.inc_value("newswarc/crawl/skipped/bad_url")
            logger.info("Skipped %s (bad_url): %s", redact_url(url), problem)
            return None
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
        meta = {"newswarc_seed": self.seed.name, "newswarc_route": route, "newswarc_depth": depth, **(meta or {})}
        headers = {}
        if self.state is not None and callback == self.parse_page and route not in ("start", "section"):
            prior = self.state.get(url)
            if prior is not None and prior.article_id and not meta.get("newswarc_changed"):
                if not self._due_for_recheck(prior):
                    self._requested.add(url)
                    self.crawler.stats.inc_value("newswarc/crawl/skipped/archived_before")
                    count_already_archived(self.crawler, prior.article_id)
                    return None
                # recheck: a conditional request; 304 or an identical body becomes a revisit record
                meta["newswarc_recheck"] = True
                meta["handle_httpstatus_list"] = [304]
                meta["newswarc_prior"] = {"payload_digest": prior.payload_digest, "date": prior.date,
                                          "uri": prior.url, "article_id": prior.article_id}
                if prior.etag:
                    headers["If-None-Match"] = prior.etag
                if prior.last_modified:
                    headers["If-Modified-Since"] = prior.last_modified
        if self.max_pages and self._scheduled >= self.max_pages:
            self.crawler.stats.inc_value("newswarc/crawl/over_max_pages")
            return None
        try:
            request = scrapy.Request(url, callback=callback, errback=self._failed, priority=PRIORITY.get(route, 0),
                                     headers=headers or None, meta=meta)
        except ValueError as exc:  # url_problem missed one: still a counted skip, never a lost page
            self.crawler.stats.inc_value("newswarc/crawl/skipped/bad_url")
            logger.info("Skipped %s (bad_url): %s", redact_url(url), exc)
            return None
        self._requested.add(url)
        self._scheduled += 1
        self.crawler.stats.inc_value(f"newswarc/crawl/requests/{route}")
        return request

    def _due_for_recheck(self, prior) -> bool:
        """Articles younger than the seed's ``recheck_hours`` are fetched again, conditionally."""
        hours = self.seed.recheck_hours
        born = parse_time(prior.published) or parse_time(prior.first_seen)
        if not hours or born is None:
            return False
        return datetime.now(UTC) - born < timedelta(hours=hours)

    async def start(self):
        for req in self.seed_requests():
            yield req

    def seed_requests(self) -> Iterator[scrapy.Request]:
        """The seed's own requests: start pages, sitemaps, feeds (and robots.txt when not obeyed)."""
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
                if req := self._request(urljoin(url, "/robots.txt"), ROBOTS_ROUTE, self.parse_robots):
                    yield req

    def _robots_parsed(self, robotparser, request) -> None:
        """Scrapy parsed a robots.txt: schedule the sitemaps it names (once per host)."""
        netloc = urlparse_cached(request).netloc
        if netloc in self._robots_done or not is_allowed_domain(request.url, self.seed.allowed_domains):
            return
        self._robots_done.add(netloc)
        parser = getattr(robotparser, "rp", None)
        sitemaps = list(getattr(parser, "sitemaps", None) or [])
        base = urljoin(request.url, "/robots.txt")
        for url in sitemaps:
            if req := self._request(absolute_http(url, base) or url, "sitemap", self.parse_sitemap):
                self.crawler.stats.inc_value("newswarc/discovery/robots_sitemaps")
                self.crawler.engine.crawl(req)

    @reporting_outlinks
    async def parse_robots(self, response: Response):
        if response.meta.get("newswarc_undecoded"):
            return  # archived as received, counted and logged by the DecodingMiddleware
        self.crawler.stats.inc_value("newswarc/discovery/robots")
        for url in sitemaps_from_robots(response.body, response.url):
            if req := self._request(url, "sitemap", self.parse_sitemap):
                self.crawler.stats.inc_value("newswarc/discovery/robots_sitemaps")
                yield req

    # --- discovery documents ------------------------------------------------------------

    @reporting_outlinks
    async def parse_sitemap(self, response: Response):
        if response.meta.get("newswarc_undecoded"):
            return  # archived as received, counted and logged by the DecodingMiddleware
        # a 50,000-URL sitemap is a second of CPU: read off the reactor thread, as a stream; its
        # entries reach the frontier a batch at a time, so the whole list is never in memory
        reader = SitemapReader(response.body, response.url)
        children: list[str] = []
        await batches_in_thread(reader.batches, lambda batch: self._sitemap_batch(reader.kind, batch, children))
        if reader.bad_locs:  # a <loc> that cannot be resolved to http(s) (a broken IPv6 literal, javascript:)
            self.crawler.stats.inc_value("newswarc/crawl/skipped/bad_url", reader.bad_locs)
            logger.info("Skipped %d entries of %s (bad_url): no usable http(s) <loc>", reader.bad_locs,
                        redact_url(response.url))
        for req in self._sitemap_requests(response, reader, children):
            yield req

    def _sitemap_batch(self, kind: str, entries: list[SitemapEntry], children: list[str]) -> None:
        """One batch of a sitemap's entries (on the reactor thread): an index's children are kept
        for requests, a urlset's pages wait in the frontier."""
        if kind == "sitemapindex":
            children.extend(entry.loc for entry in entries)
            return
        stats = self.crawler.stats
        cutoff = self._since_cutoff()
        for entry in entries:
            stats.inc_value("newswarc/discovery/sitemap_urls")
            published = entry.news_publication_date or entry.lastmod
            if cutoff and published and published < cutoff:
                stats.inc_value("newswarc/crawl/skipped/older_than_since")
                continue
            discovered = {
                "sitemap_lastmod": _iso(entry.lastmod),
                "news_publication_date": _iso(entry.news_publication_date),
                "news_title": entry.news_title,
            }
            meta = {"newswarc_discovered": {k: v for k, v in discovered.items() if v}}
            if self.state is not None and entry.lastmod is not None:
                url = canonicalize_url(entry.loc)
                if url in self._requested:  # listed by another sitemap too: counted once
                    continue
                if self.state.is_archived_article(url):
                    if self.state.seen_sitemap_entry(url, entry.lastmod):
                        stats.inc_value("newswarc/crawl/skipped/unchanged_lastmod")
                        count_already_archived(self.crawler, getattr(self.state.get(url), "article_id", None))
                        self._requested.add(url)
                        continue
                    meta["newswarc_changed"] = True  # lastmod moved on: fetch the new version
            self._frontier.append((entry.loc, meta, PRIORITY["article"] + (5 if entry.news_publication_date else 0)))

    def _sitemap_requests(self, response: Response, reader: SitemapReader, children: list[str]) -> Iterator[scrapy.Request]:
        if reader.kind == "invalid":
            self._skip(response, "sitemap_invalid", reader.error)
            return
        if reader.kind == "sitemapindex":
            for loc in children:
                if req := self._request(loc, "sitemap", self.parse_sitemap):
                    yield req
            return
        yield from self._from_frontier(FRONTIER_BATCH)

    def _from_frontier(self, n: int) -> Iterator[scrapy.Request]:
        """Up to ``n`` requests for sitemap entries waiting in the frontier."""
        while n > 0 and self._frontier:
            url, meta, priority = self._frontier.popleft()
            if req := self._request(url, "sitemap", self.parse_page, depth=1, meta=meta):
                req.priority = priority
                n -= 1
                yield req

    def _top_up(self, response, request, spider=None) -> None:
        """One response done, one sitemap entry in: the scheduler queue stays short."""
        for req in self._from_frontier(1):
            self.crawler.engine.crawl(req)

    def _idle(self, spider=None) -> None:
        if self._frontier:
            for req in self._from_frontier(FRONTIER_BATCH):
                self.crawler.engine.crawl(req)
            raise DontCloseSpider("sitemap entries wait in the frontier")

    @reporting_outlinks
    async def parse_feed(self, response: Response):
        if response.meta.get("newswarc_undecoded"):
            return  # archived as received, counted and logged by the DecodingMiddleware
        feed = await in_cpu_thread(parse_feed, response.body, response.url)
        for req in self._feed_requests(response, feed):
            yield req

    def _feed_requests(self, response: Response, feed) -> Iterator[scrapy.Request]:
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

    @reporting_outlinks
    async def parse_page(self, response: Response):
        if response.meta.get("newswarc_undecoded"):
            return  # archived as received, counted and logged by the DecodingMiddleware
        stats = self.crawler.stats
        depth = response.meta.get("newswarc_depth", 0)
        if response.status == 304:  # a recheck found the article unchanged (archived as a revisit)
            stats.inc_value("newswarc/crawl/not_modified")
            count_already_archived(self.crawler, (response.meta.get("newswarc_prior") or {}).get("article_id"))
            if self.state is not None:
                self.state.record_fetch(canonicalize_url(response.url), status=304, etag=None, last_modified=None,
                                        payload_digest=None, kind="article")
            return
        content_type = response.headers.get(b"Content-Type", b"").lower()
        if not any(t in content_type for t in HTML_TYPES) or not isinstance(response, TextResponse):
            # a feed or sitemap linked as a page is still worth reading
            if looks_like_feed(response.body, content_type.decode("latin-1")):
                async for req in self.parse_feed(response):
                    yield req
            elif looks_like_sitemap(response.body):
                async for req in self.parse_sitemap(response):
                    yield req
            else:
                self._skip(response, "not_html", content_type.decode("latin-1") or "no content type")
            return
        if response.meta.get("newswarc_truncated"):
            self._skip(response, "truncated", "body truncated at NEWSWARC_ARCHIVE_MAX_BODY")
            return
        # parsing, classifying and vetting links is CPU work: in the CPU thread, so the reactor keeps fetching
        page = await in_cpu_thread(analyse_page, response.body, response.url, content_type.decode("latin-1"),
                                   self.seed.article_url_patterns, self.seed.deny_url_patterns,
                                   response.meta.get("newswarc_discovered"), response.encoding,
                                   self.seed.allowed_domains)
        stats.inc_value(f"newswarc/crawl/pages/{page.kind.kind}")
        stats.inc_value(f"newswarc/crawl/kind_reason/{page.kind.reason}")
        if page.kind.kind == "article":
            url = canonicalize_url(response.url)
            if url not in self._emitted:
                self._emitted.add(url)
                yield ArticlePage.from_response(response, site=self.seed.name, depth=depth,
                                                kind_reason=page.kind.reason)
        if page.kind.kind == "other" and page.kind.reason in ("utility_page", "deny_pattern") and depth > 0:
            return  # about/contact pages: archived, not mined for more links
        for link in page.feeds:
            if req := self._request(link, "feed", self.parse_feed):
                stats.inc_value("newswarc/discovery/feeds_found")
                yield req
        for link in page.next_pages:
            if req := self._request(link, "section", self.parse_page, depth=depth):
                yield req
        for link in page.links:
            route = "article" if link.article_like else "link"
            if req := self._request(link, route, self.parse_page, depth=depth + 1):
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
        if isinstance(exc, IgnoreRequest) and not isinstance(exc, HttpError):
            return  # robots.txt rule or crawl state: counted where decided, not an error
        kind = type(exc).__name__
        response = getattr(exc, "response", None)
        if response is not None:
            kind = f"http_{response.status}"
            send_outlinks(self, response, [])  # the error page's metadata record
        url = getattr(request, "url", None) or getattr(response, "url", "?")
        logger.warning("Failed %s: %s", url, count_failure(self.crawler.stats, kind, url))
        logger.debug("Failed %s: %s", url, failure.getErrorMessage() or kind)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
