"""Distributed crawling: many workers on many machines share one frontier on Redis.

scrapy-redis provides the shared queue, the shared seen set and the Redis connection; this
package closes its traps (see docs/distributed.md): the queue and seen set are never deleted by
a closing worker, requests travel as JSON (``Request.to_dict``), a taken request stays visible
in its worker's in-flight hash until it is done and goes back when the worker dies, politeness
and robots.txt are shared by the fleet, and the crawl state that decides "already archived"
lives in Redis too.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from scrapy.exceptions import DropItem

from crawler.config import settings as defaults
from crawler.errors import NewswarcError

# What redis-py raises when Redis is away (down, slow, the network): writes wait, loops try again.
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)


# What makes a page be done again (REDO): redis-py's own connection errors only. A bare OSError
# from a callback or the pipeline is a file or network problem of the page, which a redo would
# repeat forever.
REDIS_LOST = (redis.ConnectionError, redis.TimeoutError)

# A request whose callback or article lost Redis half-way is done again, not acknowledged: the
# middleware or pipeline that caught the loss sets this in its meta (the scheduler reads it).
REDO = "newswarc_redo"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (redis-py's can run to several)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class RedisLost(DropItem):
    """The pipeline lost Redis while handling an article: it is not written, its page is done again."""


def as_text(value: Any) -> Any:
    """A Redis reply (bytes: the clients do not decode) as text; None (no such field) stays None."""
    return value.decode() if isinstance(value, bytes) else value


class RedisUnavailable(NewswarcError):
    """Redis cannot be reached when a command starts (exit code 3, like an unusable output)."""

    exit_code = 3


def setting(settings: Any, name: str) -> Any:
    """``settings[name]``, else its default in :mod:`crawler.config.settings` (the one copy of the
    defaults): ``newswarc schedule`` and the tests hand bare Scrapy settings to the fleet's helpers."""
    value = settings.get(name)
    return getattr(defaults, name) if value is None else value


def redis_url(settings: Any) -> str:
    """``NEWSWARC_REDIS_URL`` from the environment first, then the settings (crawler.config.settings)."""
    return os.environ.get("NEWSWARC_REDIS_URL") or setting(settings, "NEWSWARC_REDIS_URL")


class Keys:
    """Every Redis key of one fleet, under one prefix (``NEWSWARC_REDIS_PREFIX``)."""

    def __init__(self, prefix: str = defaults.NEWSWARC_REDIS_PREFIX):
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: Any) -> Keys:
        return cls(setting(settings, "NEWSWARC_REDIS_PREFIX"))

    def __call__(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # per seed
    def queue(self, seed: str) -> str:
        return self("seed", seed, "requests")

    def seen(self, seed: str, run: str) -> str:
        return self("seed", seed, "seen", run)

    def starts(self, seed: str) -> str:
        return self("seed", seed, "starts")

    def current_run(self, seed: str) -> str:
        return self("seed", seed, "run")

    def article_claims(self, seed: str) -> str:
        """Claim field ``"<canonical URL> <text SHA-256>"`` -> the worker writing it, or ``done``."""
        return self("seed", seed, "claims", "articles")

    def takeovers(self, seed: str) -> str:
        """Claim field -> the dead worker whose claim another worker took over."""
        return self("seed", seed, "claims", "takeovers")

    def counters(self, seed: str) -> str:
        return self("seed", seed, "counters")

    # fleet
    @property
    def seeds(self) -> str:
        return self("seeds")

    @property
    def workers(self) -> str:
        return self("workers")

    def heartbeat(self, worker: str) -> str:
        return self("worker", worker, "alive")

    def inflight(self, worker: str, seed: str) -> str:
        return self("worker", worker, "inflight", seed)

    # politeness
    def leases(self, domain: str) -> str:
        return self("domain", domain, "leases")

    def next_slot(self, domain: str) -> str:
        return self("domain", domain, "next")

    def robots(self, run: str, netloc: str) -> str:
        return self("robots", run, netloc)

    # state
    def state(self, what: str) -> str:
        return self("state", what)


def connect(settings: Any, *, check: bool = True):
    """A redis-py client for the fleet's Redis; with ``check``, one line and exit 3 when it is down."""
    url = redis_url(settings)
    timeout = float(setting(settings, "NEWSWARC_REDIS_TIMEOUT"))
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                  health_check_interval=0, decode_responses=False)
    if check:
        try:
            client.ping()
        except REDIS_DOWN as exc:
            raise RedisUnavailable(f"Redis at {url} is unreachable ({first_line(exc)}): start it, "
                                   "or set NEWSWARC_REDIS_URL / [distributed] redis_url") from None
        except redis.RedisError as exc:
            raise RedisUnavailable(f"Redis at {url} refused the connection ({first_line(exc)})") from None
    return client


