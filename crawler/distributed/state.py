"""The crawl state in Redis: what every worker and every run knows was archived.

The same interface as :class:`crawler.state.CrawlState` (the spider, the pipeline, the WARC
capture and the run report use either), with the same merge rules
(:func:`crawler.state.merge_fetch`). One hash per kind of record: ``state:urls`` (canonical URL
-> JSON of its non-empty fields), ``state:digests``, ``state:texts``, ``state:runs``. Writes go
to Redis at once; while Redis is away they wait in memory and the worker's heartbeat pushes
them (:meth:`flush_pending`) before it acknowledges the requests they belong to.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

import redis

from crawler.distributed import Keys, connect
from crawler.state import _URL_COLUMNS, UrlState, _now, merge_fetch, sitemap_entry_seen

_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RedisCrawlState:
    """``NEWSWARC_STATE_CLASS = "crawler.distributed.state.RedisCrawlState"``."""

    path = None  # no file: the WARC writer process finds earlier payloads through :meth:`lookup` only

    def __init__(self, server: Any, keys: Keys, worker: str | None = None):
        self.server, self.keys, self.worker = server, keys, worker
        self._pending: list[tuple[str, tuple]] = []  # (method, args) not yet in Redis
        self._lock = threading.RLock()
        self.urls, self.digests = keys.state("urls"), keys.state("digests")
        self.texts, self.runs = keys.state("texts"), keys.state("runs")

    @classmethod
    def from_settings(cls, settings: Any, output_dir: Any = None) -> RedisCrawlState:
        return cls(connect(settings), Keys.from_settings(settings), settings.get("NEWSWARC_RUN_ID"))

    # --- writes: at once, or later when Redis is away

    def send(self, method: str, *args: Any) -> Any:
        """A Redis write now, or after the writes still waiting (in order), once Redis is back."""
        with self._lock:
            if not self._pending:
                try:
                    return getattr(self.server, method)(*args)
                except _ERRORS:
                    pass
            self._pending.append((method, args))
            return None

    def flush_pending(self) -> None:
        """Push writes made while Redis was away (raises while it still is)."""
        with self._lock:
            while self._pending:
                method, args = self._pending[0]
                getattr(self.server, method)(*args)
                self._pending.pop(0)

    flush = flush_pending

    def close(self) -> None:
        try:
            self.flush_pending()
        except _ERRORS:
            pass  # the writes are lost with the process; the JSONL recovery of the next run covers articles

    # --- URLs

    def get(self, url: str) -> UrlState | None:
        raw = self.server.hget(self.urls, url)
        if raw is None:
            return None
        fields = json.loads(raw)
        return UrlState(*(fields.get(name) for name in _URL_COLUMNS))

    def record_fetch(self, url: str, **fields: Any) -> None:
        with self._lock:
            merged = merge_fetch(self.get(url), url, **fields)
            self.send("hset", self.urls, url, json.dumps({k: v for k, v in merged.items() if v is not None and k != "url"},
                                                        separators=(",", ":")))

    def is_archived_article(self, url: str) -> bool:
        state = self.get(url)
        return bool(state and state.article_id)

    def seen_sitemap_entry(self, url: str, lastmod: datetime | None) -> bool:
        return sitemap_entry_seen(self.get(url), lastmod)

    # --- revisits and text dedup

    def lookup(self, payload_digest: str) -> tuple[str, str] | None:
        raw = self.server.hget(self.digests, payload_digest)
        return tuple(json.loads(raw)) if raw else None

    def add(self, payload_digest: str, uri: str, warc_date: str) -> None:
        self.send("hsetnx", self.digests, payload_digest, json.dumps([uri, warc_date]))

    def has_text_hash(self, text_sha256: str) -> str | None:
        return _text(self.server.hget(self.texts, text_sha256))

    def add_text_hash(self, text_sha256: str, article_id: str) -> None:
        self.send("hsetnx", self.texts, text_sha256, article_id)

    # --- runs (one per worker and seed: "<worker run id>/<seed>")

    def begin_run(self, run_id: str, seeds: list[str]) -> None:
        self.send("hset", self.runs, run_id, json.dumps({"seeds": seeds, "started_at": _now(), "status": "running"}))

    def end_run(self, run_id: str, status: str, counts: Any) -> None:
        raw = self.server.hget(self.runs, run_id)
        info = json.loads(raw) if raw else {"seeds": [], "started_at": _now()}
        info.update(ended_at=_now(), status=status, counts=dict(counts))
        self.send("hset", self.runs, run_id, json.dumps(info, default=str))

    def unfinished_runs(self, seed: str) -> list[str]:
        """Runs of ``seed`` that never ended and whose worker is gone (a live worker's run is not killed)."""
        out = []
        for key, raw in self.server.hgetall(self.runs).items():
            info, key = json.loads(raw), _text(key)
            worker = key.split("/", 1)[0]
            if seed in info.get("seeds", []) and not info.get("ended_at") and worker != self.worker \
                    and not self.server.exists(self.keys.heartbeat(worker)):
                out.append(key)
        return sorted(out)
