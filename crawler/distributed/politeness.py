"""Politeness for the whole fleet: per-domain leases and one robots.txt per domain and run.

Scrapy's ``CONCURRENT_REQUESTS_PER_DOMAIN`` and ``DOWNLOAD_DELAY`` hold per process: N workers
would hit a site N times as hard. :class:`DomainLeaseMiddleware` takes a lease from Redis just
before a request goes to the network (at most ``CONCURRENT_REQUESTS_PER_DOMAIN`` leases per
domain, starts at least ``DOWNLOAD_DELAY`` apart, for the fleet) and gives it back when the
response (or the error) comes back. A lease of a worker that died expires after
``DOWNLOAD_TIMEOUT`` plus a margin. :class:`SharedRobotsTxtMiddleware` is Scrapy's robots.txt
middleware whose download is shared: the first worker to ask fetches (and archives) it, the
others parse the body it left in Redis.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from crawler.distributed import REDIS_DOWN, Keys, connect

logger = logging.getLogger(__name__)

_MISSING = object()

# KEYS: leases (sorted set token -> expiry ms), next start (ms). ARGV: limit, delay ms, ttl ms, token.
# Returns 0 when the lease is taken, else the milliseconds to wait (-1: all leases busy).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local next_at = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < next_at then return next_at - now end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
local delay = tonumber(ARGV[2])
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay + 1000) end
return 0
"""


def _sleep(seconds: float) -> Any:
    from twisted.internet import reactor  # late: Scrapy installs its reactor first

    return maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


class DomainLeaseMiddleware:
    """Downloader middleware, last before the network (960)."""

    def __init__(self, crawler: Any):
        settings = crawler.settings
        self.crawler = crawler
        self.server = connect(settings, check=False)
        self.keys = Keys.from_settings(settings)
        self.limit = max(settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8), 1)
        self.delay_ms = int(settings.getfloat("DOWNLOAD_DELAY", 0) * 1000)
        self.ttl_ms = int((settings.getfloat("DOWNLOAD_TIMEOUT", 180) + 30) * 1000)
        self.poll = settings.getfloat("NEWSWARC_DISTRIBUTED_LEASE_POLL")
        self._acquire = self.server.register_script(_ACQUIRE)
        self.stats = crawler.stats
        # leases whose release failed (Redis away): given back before the next lease is taken, else
        # they would hold their domain's slots until they expire (DOWNLOAD_TIMEOUT + 30 s)
        self._unreleased: list[tuple[str, str]] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> DomainLeaseMiddleware:
        return cls(crawler)

    def _domain(self, request: Any) -> str:
        return request.meta.get("download_slot") or urlparse_cached(request).hostname or "-"

    async def process_request(self, request: Any, spider: Any = None) -> None:
        domain = self._domain(request)
        token = uuid.uuid4().hex
        keys = [self.keys.leases(domain), self.keys.next_slot(domain)]
        waited = False
        while True:
            try:
                self._release_late()
                wait = self._acquire(keys=keys, args=[self.limit, self.delay_ms, self.ttl_ms, token])
            except REDIS_DOWN as exc:
                self.stats.inc_value("newswarc/redis/lease_errors")
                logger.debug("No lease for %s (Redis: %s); trying again", domain, exc)
                await _sleep(1.0)
                continue
            if wait == 0:
                break
            waited = True
            await _sleep(self.poll if wait < 0 else max(wait / 1000, 0.001))
        if waited:
            self.stats.inc_value("newswarc/distributed/lease_waits")
        request.meta["newswarc_lease"] = (domain, token)

    def _release(self, request: Any) -> None:
        lease = request.meta.pop("newswarc_lease", None)
        if lease:
            try:
                self.server.zrem(self.keys.leases(lease[0]), lease[1])
            except REDIS_DOWN:
                self._unreleased.append(lease)  # at most one per request in flight: none is taken meanwhile

    def _release_late(self) -> None:
        """Give back the leases whose release met a Redis outage (raises while it lasts)."""
        while self._unreleased:
            domain, token = self._unreleased[-1]
            self.server.zrem(self.keys.leases(domain), token)
            self._unreleased.pop()

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        self._release(request)
        return response

    def process_exception(self, request: Any, exception: BaseException, spider: Any = None) -> None:
        self._release(request)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, with one download per domain and run for the whole fleet."""

    LOCK_SECONDS = 120

    def __init__(self, crawler: Any):
        super().__init__(crawler)
        self.server = connect(crawler.settings, check=False)
        self.keys = Keys.from_settings(crawler.settings)
        self._bodies: dict[str, bytes] = {}
        self._run = ""  # the newest run whose robots.txt parsers _parsers holds

    async def robot_parser(self, request: Any) -> Any:
        run = request.meta.get("newswarc_run") or "-"
        if run > self._run and not any(isinstance(p, Deferred) for p in self._parsers.values()):
            # a newer run (run ids sort by time) reads robots.txt again, the fleet's copy of that run:
            # a worker waiting for work lives through many runs, and Scrapy's parsers are per host.
            # Not while a fetch is pending (Scrapy's _parse_robots fills the dict it started in).
            self._run, self._parsers = run, {}
        netloc = urlparse_cached(request).netloc
        key = self.keys.robots(run, netloc)
        while True:
            known = self._parsers.get(netloc, _MISSING)
            if isinstance(known, Deferred):
                # another request of this worker is getting it; Scrapy's own wait on that Deferred
                # hands the parser to the first waiter only (the others get None: no rules at all)
                await _sleep(0.05)
                continue
            if known is not _MISSING:
                return known
            try:
                body = self.server.hget(key, "body")
                if body is not None:
                    return await self._from_fleet(request, netloc, body)
                if self.server.set(key + ":lock", "1", nx=True, ex=self.LOCK_SECONDS):
                    logger.debug("robots.txt of %s: this worker fetches it for the fleet", netloc)
                    break  # ours to fetch
            except REDIS_DOWN:
                self.crawler.stats.inc_value("newswarc/redis/robots_errors")
            await _sleep(0.1)
        parser = await super().robot_parser(request)
        body = self._bodies.pop(netloc, b"")
        try:
            self.server.hset(key, mapping={"body": body})
            self.server.expire(key, 7 * 24 * 3600)
        except REDIS_DOWN:
            pass  # the other workers fetch it themselves when the lock expires
        return parser

    async def _parse_robots(self, response: Any, netloc: str, request: Any) -> None:
        self._bodies[netloc] = response.body if response.status < 400 else b""
        await super()._parse_robots(response, netloc, request)

    async def _from_fleet(self, request: Any, netloc: str, body: bytes) -> Any:
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()  # Scrapy's _parse_robots fires it (nobody waits on it here)
            url = urlparse_cached(request)
            response = Response(f"{url.scheme}://{netloc}/robots.txt", body=body, request=request)
            self.crawler.stats.inc_value("newswarc/distributed/robots_shared")
            logger.debug("robots.txt of %s: the fleet's copy (%d bytes)", netloc, len(body))
            await super()._parse_robots(response, netloc, request)
        return await self.robot_parser(request)
