"""The worker's scheduler: scrapy-redis' Scheduler with its traps closed.

- Persistence is always on: a closing worker never deletes the shared queue or seen set.
- One queue per seed (``seed:<name>:requests``) and one seen set per run of a seed, so that the
  next ``enqueue`` reads start pages again while the shared crawl state skips archived articles.
- Taken requests stay in the worker's in-flight hash (:mod:`crawler.distributed.queue`) until the
  engine is done with them: downloaded, redirected or failed, callback output queued, items
  through the pipeline, WARC record written. A heartbeat acknowledges them, refreshes the
  worker's liveness key and puts the requests of dead workers back.
- Redis lost mid-crawl: the worker pauses (no request is taken); what its requests make waits
  in memory, in order (requests to push, crawl-state writes), and is pushed by the heartbeat
  before it acknowledges them. A request whose callback or article met the outage half-way (meta
  ``REDO``, set by :class:`~crawler.distributed.spider.RedisLossMiddleware` and the pipeline) is
  done again rather than acknowledged; the others finish and are kept. Outages are counted
  (``newswarc/redis/outages``).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib
import json
import logging
from typing import Any

from scrapy import signals
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task
from w3lib.url import canonicalize_url

from crawler.distributed import REDIS_DOWN, REDO, Keys, RedisLost, connect, fleet
from crawler.distributed.queue import InFlightQueue, requeue_all

logger = logging.getLogger(__name__)

# schedulers open in this process (one per seed's crawl): the last to close unregisters the worker
_open: set[int] = set()


class RunDupeFilter(RFPDupeFilter):
    """The seen set of one run of a seed; fingerprints are 16 raw bytes (not 40 hex characters)."""

    def __init__(self, server: Any, keys: Keys, seed: str, debug: bool = False):
        super().__init__(server, key=keys.seen(seed, "?"), debug=debug)
        self.keys, self.seed = keys, seed

    def request_fingerprint(self, request: Any) -> bytes:
        data = json.dumps({"method": request.method, "url": canonicalize_url(request.url),
                           "body": (request.body or b"").hex()}, sort_keys=True)
        return hashlib.sha1(data.encode()).digest()[:16]

    def seen_key(self, request: Any) -> str:
        return self.keys.seen(self.seed, request.meta.get("newswarc_run") or "-")

    def request_seen(self, request: Any) -> bool:
        return self.server.sadd(self.seen_key(request), self.request_fingerprint(request)) == 0

    def close(self, reason: str = "") -> None:
        """Nothing to delete: the seen set belongs to the fleet."""


class DistributedScheduler(Scheduler):
    """``SCHEDULER = "crawler.distributed.scheduler.DistributedScheduler"``."""

    def __init__(self, server: Any, crawler: Any, **kwargs: Any):
        kwargs["persist"] = True
        kwargs["flush_on_start"] = False
        super().__init__(server, **kwargs)
        self.crawler = crawler
        settings = crawler.settings
        self.keys = Keys.from_settings(settings)
        self.worker = settings.get("NEWSWARC_RUN_ID")
        self.timeout = settings.getfloat("NEWSWARC_DISTRIBUTED_WORKER_TIMEOUT")
        self.poll = min(settings.getfloat("NEWSWARC_DISTRIBUTED_POLL"), self.timeout / 4)
        self.backlog: list[Any] = []  # requests made while Redis was away
        self.outage = False
        self._beats = 0
        self._loop = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> DistributedScheduler:
        settings = crawler.settings
        kwargs: dict[str, Any] = {}
        if settings.get("SCHEDULER_SERIALIZER"):
            kwargs["serializer"] = importlib.import_module(settings.get("SCHEDULER_SERIALIZER"))
        instance = cls(connect(settings), crawler, **kwargs)
        instance.stats = crawler.stats
        return instance

    # --- lifecycle

    def open(self, spider: Any) -> None:
        self.spider = spider
        self.seed = spider.seed.name
        self.queue = InFlightQueue(self.server, spider, self.keys.queue(self.seed), self.serializer,
                                   inflight_key=self.keys.inflight(self.worker, self.seed), keys=self.keys,
                                   per_domain=max(spider.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8), 1))
        self.df = RunDupeFilter(self.server, self.keys, self.seed, debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        fleet.register_worker(self.server, self.keys, self.worker, self.timeout)
        _open.add(id(self))
        if len(self.queue):
            logger.info("Joining the crawl of %s: %d requests queued", self.seed, len(self.queue))
        self.crawler.signals.connect(self._item_dropped, signal=signals.item_dropped)
        self._loop = task.LoopingCall(self.heartbeat)
        self._loop.start(self.poll, now=False)

    def close(self, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        captures = [f for r in self.queue.taken if (f := r.meta.get("newswarc_capture")) is not None]
        concurrent.futures.wait(captures, timeout=60)  # the WARC writer answers from its own thread
        try:
            self.heartbeat(final=True)
            # the engine is done with everything it took: what is left was not handled (shutdown)
            for request in list(self.queue.taken):
                self.queue.requeue(request)
            # a pop whose answer was lost with the connection left its request in the hash, untaken
            orphans = requeue_all(self.server, self.queue.inflight_key, self.queue.key)
            if orphans:
                logger.warning("%d requests this worker never received went back into the queue", orphans)
                if self.stats:
                    self.stats.inc_value("newswarc/redis/requeued_unreceived", orphans)
            _open.discard(id(self))
            fleet.unregister_worker(self.server, self.keys, self.worker, [self.seed], last=not _open)
        except REDIS_DOWN as exc:
            logger.error("Redis is unreachable at close (%s): the fleet will take back this worker's "
                         "requests once its heartbeat expires", exc)

    # --- requests

    def enqueue_request(self, request: Any) -> bool:
        if "newswarc_run" not in request.meta:  # made outside a callback (robots.txt sitemaps, redirects of those)
            request.meta["newswarc_run"] = self._current_run()
        if self.outage or self.backlog:
            self.backlog.append(request)
            return True
        try:
            return self._push(request)
        except REDIS_DOWN as exc:
            self._lost(exc)
            self.backlog.append(request)
            return True

    def _push(self, request: Any) -> bool:
        """scrapy-redis' enqueue (the run's seen set, then the queue) as one Redis script."""
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        if not self.queue.push_unseen(request, self.df.seen_key(request), fingerprint):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def _current_run(self) -> str:
        try:
            run = self.server.get(self.keys.current_run(self.seed))
        except REDIS_DOWN:
            return getattr(self, "_last_run", "-")
        self._last_run = run.decode() if run else "-"
        return self._last_run

    def next_request(self) -> Any:
        if self.outage or self.backlog:
            return None
        try:
            request = self.queue.pop()
        except REDIS_DOWN as exc:
            self._lost(exc)
            return None
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self.outage:
            return bool(self.backlog)
        try:
            return len(self) > 0
        except REDIS_DOWN as exc:
            self._lost(exc)
            return bool(self.backlog)

    def _item_dropped(self, item: Any, response: Any, exception: BaseException, spider: Any = None) -> None:
        if isinstance(exception, RedisLost) and response is not None:
            response.request.meta[REDO] = True  # its article was not written: the page is done again

    # --- heartbeat

    def _lost(self, exc: BaseException) -> None:
        if not self.outage:
            self.outage = True
            if self.stats:
                self.stats.inc_value("newswarc/redis/outages")
            logger.error("Redis is unreachable (%s): this worker pauses until it is back", exc)

    def heartbeat(self, final: bool = False) -> None:
        """Push what waits, flush the state, acknowledge finished requests, stay alive, reap the dead."""
        try:
            fleet.beat(self.server, self.keys, self.worker, self.timeout)
            while self.backlog:
                self._push(self.backlog[0])
                self.backlog.pop(0)
            state = getattr(getattr(self.crawler, "newswarc_context", None), "state", None)
            if state is not None and hasattr(state, "flush_pending"):
                state.flush_pending()
            self._acknowledge(final)
            self._beats += 1
            if self._beats % max(int(self.timeout / 2 / self.poll), 1) == 0:
                back = fleet.reap_dead_workers(self.server, self.keys, self.worker)
                if back and self.stats:
                    self.stats.inc_value("newswarc/distributed/requeued_from_dead_workers", back)
        except REDIS_DOWN as exc:
            self._lost(exc)
            return
        if self.outage:
            self.outage = False
            logger.warning("Redis is back: this worker resumes")
        if not final:
            self._wake_engine()  # an idle engine asks the shared queue again (others may have added work)

    def _acknowledge(self, final: bool = False) -> None:
        inprogress = self._engine_inprogress()
        if inprogress is None:
            if not final:
                return
            inprogress = set()  # the engine closed its slot: it waited for every request
        for request in list(self.queue.taken):
            if request in inprogress:
                continue
            capture = request.meta.get("newswarc_capture")
            if capture is not None and not capture.done():
                continue  # its WARC record is not written yet
            if request.meta.get(REDO):
                self.queue.requeue(request)
                if self.stats:
                    self.stats.inc_value("newswarc/redis/requeued_after_outage")
            else:
                self.queue.ack(request)

    def _engine_inprogress(self) -> Any:
        """The requests the engine is still handling (its slot is private, hence guarded)."""
        engine = getattr(self.crawler, "engine", None)
        slot = getattr(engine, "_slot", None)
        return getattr(slot, "inprogress", None)

    def _wake_engine(self) -> None:
        engine = getattr(self.crawler, "engine", None)
        if (slot := getattr(engine, "_slot", None)) is not None and hasattr(slot, "nextcall"):
            slot.nextcall.schedule()
