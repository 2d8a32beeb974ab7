"""Stats counted on other threads, added to Scrapy's collector on the reactor thread.

Scrapy's stats collector is a plain dict, written from the reactor thread; the WARC writer's
results and the commit pool report from their own threads. Their counts are summed here under a
lock and applied in one ``callFromThread`` per burst, not one reactor call per record.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["ThreadStats"]


class ThreadStats:
    """``inc_value`` of ``prefix + key`` for every count, from any thread."""

    def __init__(self, stats: Any, prefix: str):
        self.stats, self.prefix = stats, prefix
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._scheduled = False

    def add(self, counts: dict[str, int], from_thread: bool = True) -> None:
        """Count ``counts``; ``from_thread=False`` applies them at once (the caller is on the reactor thread)."""
        if self.stats is None:
            return
        if not from_thread:
            self._apply(counts)
            return
        with self._lock:
            for key, value in counts.items():
                self._pending[key] = self._pending.get(key, 0) + value
            if self._scheduled:
                return
            self._scheduled = True
        from twisted.internet import reactor  # late: Scrapy installs its reactor first

        reactor.callFromThread(self._apply_pending)

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending, self._scheduled = self._pending, {}, False
        self._apply(pending)

    def _apply(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self.stats.inc_value(self.prefix + key, value)
