"""The crawl state in Redis: what every worker and every run knows was archived.

The same interface as :class:`crawler.state.CrawlState` (the spider, the pipeline, the WARC
capture and the run report use either), with the same merge rules
(:func:`crawler.urlstate.merge_fetch`). One hash per kind of record: ``state:urls`` (canonical URL
-> JSON of its non-empty fields), ``state:texts``, ``state:runs``. Writes go to Redis at once;
while Redis is away they wait in memory and the worker's heartbeat pushes them
(:meth:`flush_pending`) before it acknowledges the requests they belong to.

Payload digests (revisit records) are not shared: the WARC writer process reads earlier
payloads from a SQLite state file only (``path`` is None here), so with the Redis state a
worker writes a revisit only for a payload it wrote itself (digest revisits are per worker).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

from crawler.distributed import REDIS_DOWN, Keys, as_text, connect
from crawler.urlstate import URL_COLUMNS, UrlState, merge_fetch, now_iso, sitemap_entry_seen

# KEYS: urls hash. ARGV: URL, the JSON read before the merge ('' for none), the merged JSON.
# 1: written; 0: another worker wrote the URL since it was read (merge again).
_SWAP = """
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


def _url_state(raw: bytes | None) -> UrlState | None:
    if raw is None:
        return None
    fields = json.loads(raw)
    return UrlState(*(fields.get(name) for name in URL_COLUMNS))


class RedisCrawlState:
    """``NEWSWARC_STATE_CLASS = "crawler.distributed.state.RedisCrawlState"``."""

    path = None  # no file: the WARC writer process knows only the payloads of its own run

    def __init__(self, server: Any, keys: Keys, worker: str | None = None):
        self.server, self.keys, self.worker = server, keys, worker
        self._pending: list[tuple[Any, tuple]] = []  # (function, args) not yet done in Redis
        self._lock = threading.RLock()
        self._swap = server.register_script(_SWAP)
        self.urls = keys.state("urls")
        self.texts, self.runs = keys.state("texts"), keys.state("runs")

    @classmethod
    def from_settings(cls, settings: Any, output_dir: Any = None) -> RedisCrawlState:
        return cls(connect(settings), Keys.from_settings(settings), settings.get("NEWSWARC_RUN_ID"))

    # --- writes: at once, or later when Redis is away

    def send(self, method: str, *args: Any) -> Any:
        """A Redis write now, or after the writes still waiting (in order), once Redis is back."""
        return self._now_or_later(getattr(self.server, method), *args)

    def _now_or_later(self, write: Any, *args: Any) -> Any:
        with self._lock:
            if not self._pending:
                try:
                    return write(*args)
                except REDIS_DOWN:
                    pass
            self._pending.append((write, args))
            return None

    def flush_pending(self) -> None:
        """Push writes made while Redis was away (raises while it still is)."""
        with self._lock:
            while self._pending:
                write, args = self._pending[0]
                write(*args)
                self._pending.pop(0)

    def close(self) -> None:
        try:
            self.flush_pending()
        except REDIS_DOWN:
            pass  # the writes are lost with the process; the JSONL recovery of the next run covers articles

    # --- URLs

    def get(self, url: str) -> UrlState | None:
        return _url_state(self.server.hget(self.urls, url))

    def record_fetch(self, url: str, **fields: Any) -> None:
        """Merge a fetch into what the fleet knows of ``url`` (now, or once Redis is back)."""
        self._now_or_later(self._merge_fetch, url, fields)

    def _merge_fetch(self, url: str, fields: dict[str, Any]) -> None:
        """Read, merge, write: the write only if no other worker wrote ``url`` in between, else again."""
        while True:
            raw = self.server.hget(self.urls, url)
            merged = merge_fetch(_url_state(raw), url, **fields)
            new = json.dumps({k: v for k, v in merged.items() if v is not None and k != "url"}, separators=(",", ":"))
            if self._swap(keys=[self.urls], args=[url, raw or b"", new]):
                return

    def is_archived_article(self, url: str) -> bool:
        state = self.get(url)
        return bool(state and state.article_id)

    def seen_sitemap_entry(self, url: str, lastmod: datetime | None) -> bool:
        return sitemap_entry_seen(self.get(url), lastmod)

    # --- revisits and text dedup

    def add(self, payload_digest: str, uri: str, warc_date: str) -> None:
        """Nothing: no process reads payload digests from Redis (see the module docstring)."""

    def has_text_hash(self, text_sha256: str) -> str | None:
        return as_text(self.server.hget(self.texts, text_sha256))

    def add_text_hash(self, text_sha256: str, article_id: str) -> None:
        self.send("hsetnx", self.texts, text_sha256, article_id)

    # --- runs (one per worker and seed: "<worker run id>/<seed>")

    def begin_run(self, run_id: str, seeds: list[str]) -> None:
        self.send("hset", self.runs, run_id, json.dumps({"seeds": seeds, "started_at": now_iso(), "status": "running"}))

    def end_run(self, run_id: str, status: str, counts: Any) -> None:
        raw = self.server.hget(self.runs, run_id)
        info = json.loads(raw) if raw else {"seeds": [], "started_at": now_iso()}
        info.update(ended_at=now_iso(), status=status, counts=dict(counts))
        self.send("hset", self.runs, run_id, json.dumps(info, default=str))

    def unfinished_runs(self, seed: str) -> list[str]:
        """Runs of ``seed`` that never ended and whose worker is gone (a live worker's run is not killed)."""
        out = []
        for key, raw in self.server.hgetall(self.runs).items():
            info, key = json.loads(raw), as_text(key)
            worker = key.split("/", 1)[0]
            if seed in info.get("seeds", []) and not info.get("ended_at") and worker != self.worker \
                    and not self.server.exists(self.keys.heartbeat(worker)):
                out.append(key)
        return sorted(out)
