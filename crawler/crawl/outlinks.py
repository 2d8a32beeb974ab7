"""Outlinks: the URLs a spider found on a page, reported for the page's WARC metadata record.

A spider reports them with :func:`send_outlinks` (the :data:`outlinks_found` signal), with the
:func:`reporting_outlinks` decorator, or :class:`OutlinkRecorder` (a spider middleware) does it
for it; :class:`~crawler.crawl.capture.WarcCapture` listens.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from scrapy import Request
from scrapy.exceptions import NotConfigured

from crawler.crawl.switches import switched_off

# Signal: a spider reports the URLs it found on a response (``response=``, ``urls=``), for the
# page's metadata record; sent by :func:`send_outlinks` and by :class:`OutlinkRecorder`.
outlinks_found = object()


class OutlinkRecorder:
    """Spider middleware: the URLs of Requests a callback yields become ``outlink:`` metadata.

    Register it close to the spider (priority 950) so it sees every request before depth or
    offsite filters drop some.
    """

    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> OutlinkRecorder:
        if not crawler.settings.getbool("NEWSWARC_ARCHIVE_ENABLED", True):
            raise switched_off(cls, "NEWSWARC_ARCHIVE_ENABLED is False: no outlinks to record")
        if getattr(crawler.spidercls, "reports_outlinks", False):
            raise NotConfigured()  # the spider reports its own outlinks (no message: Scrapy would warn)
        return cls(crawler)

    async def process_spider_output(self, response: Any, result: AsyncIterator, spider: Any = None) -> AsyncIterator:
        links: list[str] = []
        try:
            async for item in result:
                if isinstance(item, Request):
                    links.append(item.url)
                yield item
        finally:
            self.crawler.signals.send_catch_log(outlinks_found, response=response, urls=links, spider=spider)

    def process_spider_exception(self, response: Any, exception: BaseException, spider: Any = None) -> None:
        self.crawler.signals.send_catch_log(outlinks_found, response=response, urls=[], spider=spider)


def send_outlinks(spider: Any, response: Any, urls: Sequence[str]) -> None:
    """Report the URLs a spider found on ``response``: the :data:`outlinks_found` signal.

    The capture writes them to the page's metadata record; it does nothing when capture is off.
    """
    spider.crawler.signals.send_catch_log(outlinks_found, response=response, urls=urls, spider=spider)


def reporting_outlinks(callback: Callable) -> Callable:
    """Decorate an async-generator spider callback to report its outlinks when it ends (or fails).

    For spiders that set ``reports_outlinks = True``: the OutlinkRecorder middleware then steps
    aside, and its layer of Scrapy's async spider-middleware chain (a few microseconds per
    yielded item) is saved.
    """

    if not inspect.isasyncgenfunction(callback):
        raise TypeError(f"reporting_outlinks: {callback.__qualname__} is not an async generator function")

    @functools.wraps(callback)
    async def wrapper(spider: Any, response: Any, *args: Any, **kwargs: Any) -> AsyncIterator:
        links: list[str] = []
        try:
            async for out in callback(spider, response, *args, **kwargs):
                if isinstance(out, Request):
                    links.append(out.url)
                yield out
        finally:
            send_outlinks(spider, response, links)
    return wrapper
