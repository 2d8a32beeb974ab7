"""The spider's frontier of sitemap entries: first in, first out, on disk beyond a few thousand.

Sitemaps announce every article of a site at once (50,000 URLs a file, any number of files);
an entry in memory (URL, discovery fields, priority) costs about 700 bytes, so a million-URL
site would hold 700 MB before the first article is fetched. The :class:`Frontier` keeps the
next entries and the latest ones in memory (``chunk`` each) and the rest in a private temporary
SQLite file, deleted when the frontier is closed or the process ends.

:func:`batches_in_thread` is how a sitemap's entries get here: read in a thread, handed to the
reactor a batch at a time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from crawler.context import in_cpu_thread, installed_reactor

Entry = tuple[str, dict, int]  # URL, request meta (JSON values), priority


async def batches_in_thread(batches: Callable[[], Iterable[list[Any]]], consume: Callable[[list[Any]], None],
                            *, ahead: int = 2) -> None:
    """Iterate ``batches()`` in the CPU thread (:func:`~crawler.context.in_cpu_thread`); ``consume``
    each batch on the reactor thread.

    Why one call that hands batches back through the reactor rather than an async generator that
    asks for the next batch: the whole iteration stays in one call of one thread, as a streaming
    lxml parser must (it shares that thread's string dictionary without a lock), and the reactor
    does not wait on the thread per batch. The reading thread hands each batch over with ``callFromThread`` and waits
    while ``ahead`` batches are not yet consumed: memory holds a few batches whatever the size
    of what is read, and the reactor thread only does ``consume``'s own work. The reader gives
    up (rather than block the pool's shutdown) when the reactor stops. An exception of
    ``consume`` stops the reading and is raised here; returns when the last batch is consumed.
    """
    reactor = installed_reactor()
    slots = threading.Semaphore(ahead)
    failed: list[BaseException] = []

    def deliver(batch: list[Any]) -> None:
        try:
            if not failed:
                consume(batch)
        except Exception as exc:  # noqa: BLE001 - raised again below, on the awaiting side
            failed.append(exc)
        finally:
            slots.release()

    def work() -> None:
        for batch in batches():
            while not slots.acquire(timeout=1.0):
                if not reactor.running:
                    return
            if failed:
                return
            reactor.callFromThread(deliver, batch)

    await in_cpu_thread(work)  # its result comes through callFromThread too: after the last deliver
    if failed:
        raise failed[0]


class Frontier:
    """A FIFO of :data:`Entry` with ``append``, ``popleft``, ``len()`` and truth, like a ``deque``."""

    def __init__(self, chunk: int = 2048):
        self._chunk = chunk
        self._head: deque[Entry] = deque()  # the oldest entries, popped first
        self._tail: list[Entry] = []  # the newest, written to disk as one batch when a chunk long
        self._db: sqlite3.Connection | None = None
        self._on_disk = 0

    def __len__(self) -> int:
        return len(self._head) + self._on_disk + len(self._tail)

    def __bool__(self) -> bool:
        return len(self) > 0

    def append(self, entry: Entry) -> None:
        if not self._on_disk and not self._tail and len(self._head) < self._chunk:
            self._head.append(entry)  # a small site never touches the disk
            return
        self._tail.append(entry)
        if len(self._tail) >= self._chunk:
            self._spill()

    def popleft(self) -> Entry:
        if not self._head:
            self._refill()
        return self._head.popleft()  # IndexError when empty, like a deque

    def _spill(self) -> None:
        if self._db is None:
            # "": a temporary database on disk, private to this connection, removed on close
            self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, url TEXT, meta TEXT, priority INTEGER)")
        self._db.executemany("INSERT INTO entries (url, meta, priority) VALUES (?, ?, ?)",
                             [(url, json.dumps(meta), priority) for url, meta, priority in self._tail])
        self._on_disk += len(self._tail)
        self._tail = []

    def _refill(self) -> None:
        if self._on_disk:
            assert self._db is not None
            rows = self._db.execute("SELECT seq, url, meta, priority FROM entries ORDER BY seq LIMIT ?",
                                    (self._chunk,)).fetchall()
            self._db.execute("DELETE FROM entries WHERE seq <= ?", (rows[-1][0],))
            self._on_disk -= len(rows)
            self._head.extend((url, json.loads(meta), priority) for _, url, meta, priority in rows)
        else:
            self._head.extend(self._tail)
            self._tail = []

    def close(self) -> None:
        """Drop what waits (the temporary file goes with its connection)."""
        self._head.clear()
        self._tail = []
        self._on_disk = 0
        if self._db is not None:
            self._db.close()
            self._db = None
