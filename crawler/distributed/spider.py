"""The news spider as a fleet member: its work comes from the shared queue, not from ``start``.

Differences from :class:`~crawler.crawl.spider.NewsSpider`, each because the fleet shares the work:
- no start requests of its own: ``newswarc enqueue`` leaves a start token per run, and the worker
  that pops it makes the seed's requests (stamped with the run);
- sitemap entries go to the shared queue at once (the in-memory frontier would die with the worker);
- "requested already" is the run's shared seen set, not a per-process set, and "emitted already" is
  the pipeline's claim in Redis;
- an idle spider stays open (new work may come); with ``--until-idle`` it closes once the
  seed's queue, starts and every worker's in-flight requests have been empty for a while.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.exceptions import DontCloseSpider

from crawler.crawl.spider import NewsSpider
from crawler.distributed import REDIS_DOWN, REDIS_LOST, REDO, first_line, fleet

logger = logging.getLogger(__name__)



class _Forgetful(set):
    """A set that keeps nothing: the scheduler's shared seen set decides what was requested."""

    def add(self, item: Any) -> None:
        pass

    def __contains__(self, item: object) -> bool:
        return False


class DistributedNewsSpider(NewsSpider):
    name = "news"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._requested = _Forgetful()
        self._emitted = _Forgetful()  # a request done again (after a dead worker or an outage) yields its article again
        self.until_idle = False  # both from the settings (from_crawler)
        self.idle_seconds = 0.0
        self._idle_since: float | None = None
        self._robots_runs: dict[str, set[str]] = {}  # run -> hosts whose robots.txt sitemaps were queued
        self._run_of_robots: str | None = None  # the run whose robots.txt sitemaps are being queued

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> DistributedNewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.until_idle = crawler.settings.getbool("NEWSWARC_DISTRIBUTED_UNTIL_IDLE")
        spider.idle_seconds = crawler.settings.getfloat("NEWSWARC_DISTRIBUTED_IDLE_SECONDS")
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        return
        yield  # an async generator without items

    def _from_frontier(self, n: int) -> Iterator[scrapy.Request]:
        return super()._from_frontier(len(self._frontier))

    def _top_up(self, response: Any, request: Any, spider: Any = None) -> None:
        """Nothing waits in memory (see :meth:`_from_frontier`)."""

    # --- robots.txt: its sitemaps once per run and host (a worker that waits for work sees many runs)

    def _robots_parsed(self, robotparser: Any, request: Any) -> None:
        run = request.meta.get("newswarc_run") or "-"
        self._robots_done = self._robots_runs.setdefault(run, set())
        self._run_of_robots = run
        try:
            super()._robots_parsed(robotparser, request)
        finally:
            self._run_of_robots = None

    def _request(self, *args: Any, **kwargs: Any) -> scrapy.Request | None:
        """The sitemaps robots.txt names join the run of the request that read it (no response
        stamps them: they go to the engine directly)."""
        req = super()._request(*args, **kwargs)
        if req is not None and self._run_of_robots is not None:
            req.meta.setdefault("newswarc_run", self._run_of_robots)
        return req

    # --- runs and idleness

    def _scheduler(self) -> Any:
        return self.crawler.engine._slot.scheduler  # set by the engine when the spider opened

    def take_start(self) -> bool:
        """Pop this seed's start token, if any, and queue the run's seed requests."""
        sched = self._scheduler()
        run = sched.server.lpop(sched.keys.starts(self.seed.name))
        if run is None:
            return False
        run = run.decode()
        logger.info("Starting run %s of %s", run, self.seed.name)
        for req in self.seed_requests():
            req.meta["newswarc_run"] = run
            self.crawler.engine.crawl(req)
        return True

    def _idle(self, spider: Any = None) -> None:
        try:
            if self.take_start():
                self._idle_since = None
                raise DontCloseSpider("a run started")
            sched = self._scheduler()
            idle = not sched.outage and not sched.backlog and fleet.seed_idle(sched.server, sched.keys, self.seed.name)
        except REDIS_DOWN:
            idle = False
        if not self.until_idle or not idle:
            self._idle_since = None
            raise DontCloseSpider("waiting for work from the fleet")
        now = time.monotonic()
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.idle_seconds:
            raise DontCloseSpider("the fleet is idle; waiting a little longer")
        logger.info("The fleet has had no work for %s for %.0f s: closing", self.seed.name, self.idle_seconds)


class RunStampMiddleware:
    """Spider middleware: requests made from a response belong to that response's run."""

    async def process_spider_output(self, response: Any, result: AsyncIterator, spider: Any = None) -> AsyncIterator:
        run = response.meta.get("newswarc_run")
        async for item in result:
            if run and isinstance(item, scrapy.Request):
                item.meta.setdefault("newswarc_run", run)
            yield item


class RedisLossMiddleware:
    """Spider middleware: a callback that lost Redis half-way (the crawl state, the seen set) is
    logged in one line and its page is done again once Redis is back, instead of a traceback and
    a page whose links and article were lost with it."""

    def __init__(self, stats: Any):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedisLossMiddleware:
        return cls(crawler.stats)

    def process_spider_exception(self, response: Any, exception: BaseException, spider: Any = None) -> Any:
        if not isinstance(exception, REDIS_LOST):
            return None
        response.request.meta[REDO] = True
        self.stats.inc_value("newswarc/redis/pages_redone")
        logger.warning("Redis is unreachable (%s): %s is done again once it is back", first_line(exception),
                       response.url)
        return []
