"""Downloader middlewares of newswarc."""

from __future__ import annotations

import logging

from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.responsetypes import responsetypes

from crawler.context import count_already_archived, in_thread, run_context
from crawler.crawl.switches import switched_off
from crawler.urls import canonicalize_url
from crawler.warc import codecs

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
            raise switched_off(cls, "NEWSWARC_STATE_ENABLED is off: every run fetches everything")
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
ROBOTS_ROUTE = "robots.txt"  # the one name of a robots.txt fetch, the spider's own or RobotsTxtMiddleware's


def route_of(request, default: str) -> str:
    """A request's route: the spider's ``newswarc_route``, else :data:`ROBOTS_ROUTE` for a
    robots.txt (Scrapy's RobotsTxtMiddleware sets no meta), else ``default``."""
    route = request.meta.get("newswarc_route")
    if route is None:
        route = ROBOTS_ROUTE if request.url.endswith("/robots.txt") else default
    return route


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
        self.stats.inc_value(f"{SENT}{route_of(request, 'other')}")
        return None


class DecodingMiddleware:
    """Scrapy's HttpCompressionMiddleware with a limit on the decoded bytes (:mod:`crawler.warc.codecs`).

    Scrapy's own limit is ``DOWNLOAD_MAXSIZE``, which newswarc sets to 0 so that the archive sees
    and keeps large bodies; that also switched off Scrapy's decompression limit. Here a body that
    decodes past ``NEWSWARC_ARCHIVE_MAX_DECODED`` (or does not decode at all) is left as received
    (the capture has archived it already), flagged in ``meta["newswarc_undecoded"]`` for the
    spider and the WARC metadata record, counted and logged once; the spider does not parse it.

    Decoding is CPU work (about 1 ms per 150 KB, far more for a decompression bomb): it runs in a
    thread, as Scrapy awaits a coroutine ``process_response``.
    """

    def __init__(self, crawler):
        self.stats = crawler.stats
        self.limit = crawler.settings.getint("NEWSWARC_ARCHIVE_MAX_DECODED")
        self.accept = codecs.accepted_encodings().encode()
        self.brotli = codecs.brotli_decompressor() is not None

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("COMPRESSION_ENABLED"):
            raise switched_off(cls, "COMPRESSION_ENABLED is off")
        return cls(crawler)

    def process_request(self, request, spider=None):
        value = request.headers.get("Accept-Encoding")
        if value is None:
            request.headers["Accept-Encoding"] = self.accept
        elif not self.brotli and b"br" in value:  # never ask for what cannot be decoded within limits
            request.headers["Accept-Encoding"] = b", ".join(
                c.strip() for c in value.split(b",") if c.strip().split(b";")[0] != b"br")

    async def process_response(self, request, response, spider=None):
        values = response.headers.getlist("Content-Encoding")
        if request.method == "HEAD" or not values:
            return response
        try:
            body, to_keep = await in_thread(codecs.decode_http, response.body, values, self.limit)
        except codecs.DecodedTooLarge as exc:
            return self._undecoded(request, response, "decoded_too_large",
                                   f"{exc.encoding} body of {len(response.body)} bytes decodes past "
                                   f"NEWSWARC_ARCHIVE_MAX_DECODED ({exc.limit} bytes); archived as received")
        except codecs.BodyDecodeError as exc:
            return self._undecoded(request, response, "bad_encoding", f"{exc}; archived as received")
        if to_keep == codecs.split_encodings(values):
            return response  # no coding known here: the outer unknown ones stay, as in Scrapy
        self.stats.inc_value("httpcompression/response_bytes", len(body))
        self.stats.inc_value("httpcompression/response_count")
        headers = response.headers.copy()
        if to_keep:
            headers["Content-Encoding"] = ", ".join(to_keep)
        else:
            del headers["Content-Encoding"]
        respcls = responsetypes.from_args(headers=headers, url=response.url, body=body)
        kwargs = {"encoding": None} if issubclass(respcls, TextResponse) else {}
        return response.replace(cls=respcls, body=body, headers=headers, **kwargs)

    def _undecoded(self, request, response, reason: str, detail: str):
        request.meta["newswarc_undecoded"] = f"{reason}: {detail}"
        self.stats.inc_value(f"newswarc/crawl/skipped/{reason}")
        logger.warning("Skipped %s (%s): %s", request.url, reason, detail)
        return response
