"""The fleet in Redis: seeds, runs, workers and their heartbeats, and what is queued or in flight.

Functions here are shared by the worker's scheduler, ``newswarc enqueue`` and ``newswarc status``;
they take a redis-py client and :class:`~crawler.distributed.Keys`.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from collections import Counter
from typing import Any

from crawler.config.seeds import load_seed
from crawler.distributed import Keys, as_text, connect
from crawler.distributed.queue import domain_of, requeue_all

logger = logging.getLogger(__name__)


def new_run(now: float | None = None) -> str:
    """A run (one pass over a seed started by one ``enqueue``): sortable, unique enough per seed."""
    now = time.time() if now is None else now
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)) + f"-{int(now * 1000) % 1000:03d}"


def enqueue_seed(server: Any, keys: Keys, seed_name: str, seed_toml: str) -> str:
    """Register the seed and ask the fleet to start a new run of it; returns the run id.

    The seed file travels with the request so that workers on other machines need no copy. The
    first worker to pop the start token makes the start requests; the run's seen set is new, so
    start pages, feeds and sitemaps are read again while the shared state skips archived articles.
    """
    run = new_run()
    previous = server.get(keys.current_run(seed_name))
    pipe = server.pipeline()
    pipe.hset(keys.seeds, seed_name, seed_toml)
    pipe.set(keys.current_run(seed_name), run)
    pipe.rpush(keys.starts(seed_name), run)
    if previous and as_text(previous) != run:
        # an earlier run's seen set is only needed while its requests are in the queue
        pipe.expire(keys.seen(seed_name, as_text(previous)), 7 * 24 * 3600)
    pipe.execute()
    return run


def seed_names(server: Any, keys: Keys) -> list[str]:
    """The registered seeds, sorted (names only: a seed file is read when its crawl starts)."""
    return sorted(as_text(k) for k in server.hkeys(keys.seeds))


def seed_text(server: Any, keys: Keys, name: str) -> str:
    """The seed file ``enqueue`` registered under ``name``."""
    text = server.hget(keys.seeds, name)
    if text is None:
        raise KeyError(f"{name} is no longer registered")
    return as_text(text)


def register_worker(server: Any, keys: Keys, worker: str, timeout: float) -> None:
    info = {"host": socket.gethostname(), "started": time.time()}
    pipe = server.pipeline()
    pipe.hset(keys.workers, worker, json.dumps(info))
    pipe.set(keys.heartbeat(worker), "1", px=int(timeout * 1000))
    pipe.execute()


def beat(server: Any, keys: Keys, worker: str, timeout: float) -> None:
    """Alive for ``timeout`` more seconds; registered again if a reaper removed us during an outage."""
    pipe = server.pipeline()
    pipe.set(keys.heartbeat(worker), "1", px=int(timeout * 1000))
    pipe.hsetnx(keys.workers, worker, json.dumps({"host": socket.gethostname(), "started": time.time()}))
    pipe.execute()


def unregister_worker(server: Any, keys: Keys, worker: str, seed_names: list[str], *, last: bool = True) -> None:
    """The worker is done with these seeds (their in-flight hashes are empty); ``last``: with all of them."""
    pipe = server.pipeline()
    if last:
        pipe.hdel(keys.workers, worker)
        pipe.delete(keys.heartbeat(worker))
    pipe.delete(*[keys.inflight(worker, s) for s in seed_names])
    pipe.execute()


def workers(server: Any, keys: Keys) -> dict[str, bool]:
    """Registered workers and whether their heartbeat is alive."""
    names = [as_text(w) for w in server.hkeys(keys.workers)]
    if not names:
        return {}
    pipe = server.pipeline()
    for w in names:
        pipe.exists(keys.heartbeat(w))
    return dict(zip(names, (bool(x) for x in pipe.execute()), strict=True))


def reap_dead_workers(server: Any, keys: Keys, me: str) -> int:
    """Put the in-flight requests of workers whose heartbeat expired back into their queues."""
    back = 0
    names = seed_names(server, keys)
    for worker, alive in workers(server, keys).items():
        if alive or worker == me:
            continue
        moved = sum(requeue_all(server, keys.inflight(worker, s), keys.queue(s)) for s in names)
        server.hdel(keys.workers, worker)
        if moved:
            logger.warning("Worker %s stopped answering: %d of its requests are back in the queue", worker, moved)
        back += moved
    return back


def in_flight(server: Any, keys: Keys, seed_name: str) -> int:
    """Requests of ``seed_name`` taken by any registered worker (alive or not yet reaped)."""
    names = [as_text(w) for w in server.hkeys(keys.workers)]
    if not names:
        return 0
    pipe = server.pipeline()
    for w in names:
        pipe.hlen(keys.inflight(w, seed_name))
    return sum(pipe.execute())


def seed_idle(server: Any, keys: Keys, seed_name: str) -> bool:
    """Nothing queued, no start waiting and nothing in flight anywhere for this seed."""
    pipe = server.pipeline()
    pipe.zcard(keys.queue(seed_name))
    pipe.llen(keys.starts(seed_name))
    queued, starts = pipe.execute()
    return not queued and not starts and in_flight(server, keys, seed_name) == 0


def status(server: Any, keys: Keys, *, domains: int = 10) -> dict[str, Any]:
    """``newswarc status``: queue depth per seed and domain, workers, articles archived, errors."""
    out: dict[str, Any] = {"workers": workers(server, keys), "seeds": {}}
    for name in seed_names(server, keys):
        run = as_text(server.get(keys.current_run(name)))
        per_domain: Counter[str] = Counter(domain_of(member) for member, _ in
                                           server.zscan_iter(keys.queue(name), count=1000))
        counters = {as_text(k): int(v) for k, v in server.hgetall(keys.counters(name)).items()}
        out["seeds"][name] = {
            "run": run, "queued": sum(per_domain.values()), "starts_waiting": server.llen(keys.starts(name)),
            "in_flight": in_flight(server, keys, name),
            "seen_this_run": server.scard(keys.seen(name, run)) if run else 0,
            "queued_by_domain": dict(per_domain.most_common(domains)),
            "articles": counters.get("articles", 0), "errors": counters.get("errors", 0),
            "pages": counters.get("pages", 0),
        }
    return out


def enqueue(server: Any, keys: Keys, seed: Any) -> str:
    with open(seed.path, encoding="utf-8") as fh:
        return enqueue_seed(server, keys, seed.name, fh.read())


class EnqueueRunner:
    """``newswarc schedule`` when distributed: a due seed is enqueued for the fleet, not crawled here."""

    def __init__(self, settings: Any):
        self.server, self.keys = connect(settings), Keys.from_settings(settings)

    def __call__(self, scheduled: Any) -> int:
        run = enqueue(self.server, self.keys, load_seed(scheduled.seed_path))
        print(f"{scheduled.name}: run {run} queued for the fleet", file=sys.stderr)
        return 0

    def terminate(self) -> None:
        """Nothing runs here."""
