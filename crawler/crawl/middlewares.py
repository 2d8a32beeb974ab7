"""Downloader middlewares of newswarc."""

from __future__ import annotations

import logging

from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler.context import count_already_archived, run_context
from crawler.urls import canonicalize_url

logger = logging.getLogger(__name__)


class IncrementalRedirectMiddleware:
    """Stops a redirect that lands on an article archived before, so it is not fetched again.

    The spider checks the crawl state for every URL it discovers, but the targets of redirect hops
    are scheduled by Scrapy's RedirectMiddleware, not by the spider: they are checked here. The
    redirecting URLs are recorded too, so the next run skips them before the first hop.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("NEWSWARC_STATE_ENABLED"):
            raise NotConfigured("NEWSWARC_STATE_ENABLED is off: every run fetches everything")
        return cls(crawler)

    def process_request(self, request, spider=None):
        hops = request.meta.get("redirect_urls")
        if not hops or request.meta.get("newswarc_recheck") or request.meta.get("newswarc_changed"):
            return None
        state = run_context(self.crawler).state
        prior = state.get(canonicalize_url(request.url)) if state is not None else None
        if prior is None or not prior.article_id:
            return None
        for url in hops:
            state.record_fetch(canonicalize_url(url), status=301, etag=None, last_modified=None,
                               payload_digest=None, kind="article", article_id=prior.article_id)
        self.crawler.stats.inc_value("newswarc/crawl/skipped/archived_before")
        count_already_archived(self.crawler, prior.article_id)
        raise IgnoreRequest(f"redirect to an article archived before: {request.url}")


SENT = "newswarc/crawl/sent/"


class RouteStats:
    """Counts every request the downloader gets by its route: ``newswarc/crawl/sent/<route>``.

    Next to Scrapy's DownloaderStats (850), so these counts add up to ``downloader/request_count``:
    retries and redirects keep their request's route, robots.txt requests (made by Scrapy's
    RobotsTxtMiddleware) are ``robots.txt``, anything else ``other``.
    """

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_request(self, request, spider=None):
        route = request.meta.get("newswarc_route")
        if route is None:
            route = "robots.txt" if request.url.endswith("/robots.txt") else "other"
        self.stats.inc_value(f"{SENT}{route}")
        return None
