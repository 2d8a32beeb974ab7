"""``newswarc worker``: a fleet member that crawls what the shared frontier holds.

One Scrapy crawler per seed registered in Redis (a seed enqueued while the worker runs gets its
crawler within a second). Without ``--until-idle`` the worker waits for work until SIGTERM;
SIGTERM drains (requests in progress finish, WARC files close, nothing taken stays taken).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from twisted.internet import task

from crawler.config.seeds import load_seed
from crawler.context import new_run_id
from crawler.distributed import REDIS_DOWN, Keys, connect, fleet
from crawler.distributed.spider import DistributedNewsSpider
from crawler.distributed.state import RedisCrawlState

logger = logging.getLogger(__name__)

# The one place that makes a process a fleet member (settings/distributed.toml does not repeat
# them). The scheduler keeps the shared queue and seen set itself (persist, no flush on start) and
# makes its own RunDupeFilter, so SCHEDULER_PERSIST and DUPEFILTER_CLASS do not matter here.
COMPONENTS = {
    "SCHEDULER": "crawler.distributed.scheduler.DistributedScheduler",
    "SCHEDULER_SERIALIZER": "crawler.distributed.serializer",
    "NEWSWARC_STATE_CLASS": "crawler.distributed.state.RedisCrawlState",
    "NEWSWARC_DISTRIBUTED": True,
}


def apply_distributed(settings: Any, *, until_idle: bool = False) -> None:
    """The components a worker needs, whatever the profile says (the traps stay closed)."""
    for name, value in COMPONENTS.items():
        settings.set(name, value, priority="cmdline")
    settings.set("NEWSWARC_DISTRIBUTED_UNTIL_IDLE", until_idle, priority="cmdline")
    if not settings.get("NEWSWARC_RUN_ID"):
        settings.set("NEWSWARC_RUN_ID", new_run_id(), priority="cmdline")  # host and pid: the worker's id
    dl = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    dl["crawler.distributed.politeness.DomainLeaseMiddleware"] = 960
    dl["crawler.distributed.politeness.SharedRobotsTxtMiddleware"] = 100
    dl["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] = None
    dl["crawler.replay.network.ArchiveDownloaderMiddleware"] = None
    settings.set("DOWNLOADER_MIDDLEWARES", dl, priority="cmdline")
    sp = dict(settings.getdict("SPIDER_MIDDLEWARES"))
    sp["crawler.distributed.spider.RunStampMiddleware"] = 940
    sp["crawler.distributed.spider.RedisLossMiddleware"] = 990  # next to the spider: sees its errors first
    settings.set("SPIDER_MIDDLEWARES", sp, priority="cmdline")
    pipes = {("crawler.distributed.pipeline.DistributedArticlePipeline" if k == "crawler.crawl.pipeline.ArticlePipeline"
              else k): v for k, v in settings.getdict("ITEM_PIPELINES").items()}
    settings.set("ITEM_PIPELINES", pipes, priority="cmdline")


def _seed_file(directory: Path, name: str, text: str) -> Any:
    path = directory / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return load_seed(path)


class Worker:
    """Starts a crawler per seed as work for it appears; stops when told or, with until_idle, when idle."""

    def __init__(self, settings: Any, only: list[str] | None = None):
        self.settings = settings
        self.server = connect(settings)
        self.keys = Keys.from_settings(settings)
        self.only = set(only or [])
        self.until_idle = settings.getbool("NEWSWARC_DISTRIBUTED_UNTIL_IDLE")
        self.idle_seconds = settings.getfloat("NEWSWARC_DISTRIBUTED_IDLE_SECONDS")
        self.tmp = Path(tempfile.mkdtemp(prefix="newswarc-seeds-"))
        self.active: dict[str, Any] = {}  # seed -> crawler
        self.finished: list[Any] = []
        self.stopping = False
        self._idle_since: float | None = None
        self._checked: set[str] = set()  # seeds looked at for dead workers' runs
        self._bad: set[str] = set()  # seeds that failed to start (said once)
        self._named_checked = False  # --seed names not enqueued: said once
        worker = self

        class _Process(CrawlerProcess):
            def _signal_shutdown(self, signum: int, frame: Any) -> None:
                worker.stopping = True
                super()._signal_shutdown(signum, frame)

        self.process = _Process(settings)

    def _has_work(self, name: str) -> bool:
        """Queued requests, a start token, or a dead worker's run to close out (its ``.open`` files)."""
        if name not in self._checked:
            self._checked.add(name)
            state = RedisCrawlState(self.server, self.keys, self.settings.get("NEWSWARC_RUN_ID"))
            if state.unfinished_runs(name):
                return True
        pipe = self.server.pipeline()
        pipe.zcard(self.keys.queue(name))
        pipe.llen(self.keys.starts(name))
        return any(pipe.execute())

    def _start(self, name: str, text: str) -> None:
        seed = _seed_file(self.tmp, name, text)
        crawler = self.process.create_crawler(DistributedNewsSpider)
        self.active[name] = crawler
        logger.info("Worker %s joins the crawl of %s", self.settings.get("NEWSWARC_RUN_ID"), name)
        d = self.process.crawl(crawler, seed=seed)
        d.addBoth(self._crawl_done, name, crawler)

    def _crawl_done(self, result: Any, name: str, crawler: Any) -> Any:
        self.active.pop(name, None)
        self.finished.append(crawler)
        report = getattr(crawler, "newswarc_report", None)
        if report is not None:
            try:
                pipe = self.server.pipeline()
                for key in ("pages", "errors"):
                    pipe.hincrby(self.keys.counters(name), key, int(report["counts"].get(key, 0)))
                pipe.execute()
            except Exception:  # counters are for `status` only
                logger.debug("Could not count the run of %s", name, exc_info=True)
        return result

    def watch(self) -> None:
        """Every second: crawlers for seeds with work; the end of the worker when it is idle."""
        from twisted.internet import reactor  # late: Scrapy installs its reactor first

        if self.stopping:
            return
        try:
            registered = fleet.seed_names(self.server, self.keys)
        except REDIS_DOWN as exc:  # Redis away: try again next time
            logger.warning("Cannot look for new work: %s", exc)
            return
        for name in registered:
            if name in self.active or (self.only and name not in self.only):
                continue
            try:
                if self._has_work(name):
                    self._start(name, fleet.seed_text(self.server, self.keys, name))
            except REDIS_DOWN as exc:
                logger.warning("Cannot look for new work: %s", exc)
                return
            except Exception as exc:  # a seed that no longer loads: the others still start
                if name not in self._bad:
                    self._bad.add(name)
                    logger.error("Seed %s cannot be crawled here: %s", name, exc)
        if self.only and not self._named_checked:
            self._named_checked = True
            for name in sorted(self.only - set(registered)):
                logger.warning("Seed %s is not enqueued: nothing to do for it (newswarc enqueue it first)", name)
        if self.active or not self.until_idle:
            self._idle_since = None
            return
        now = time.monotonic()
        self._idle_since = self._idle_since or now
        if now - self._idle_since >= self.idle_seconds and reactor.running:
            reactor.stop()

    def run(self) -> list[Any]:
        """Crawl until stopped (or idle); returns the crawlers that ran. Components must be importable
        (the command preloads them)."""
        loop = task.LoopingCall(self.watch)
        loop.start(1.0, now=True)
        try:
            self.process.start(stop_after_crawl=False)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)  # the seed files written for this run's crawlers
        return self.finished
