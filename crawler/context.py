"""What the components of a crawl share: per crawl, the run id, storage and state store; per
command, the worker processes.

:class:`RunContext` is built once per crawler on first use and kept on the crawler object (no
module globals), so the WARC capture, the pipeline and the run report write to the same place.
:class:`CommandWorkers` is made by the command and put on each of its crawlers, so that all its
seeds share one extraction pool and one WARC writer process (N seeds on C cores: C + 1
processes, not N x (C + 1)).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet import threads
from twisted.python.threadpool import ThreadPool

from crawler.errors import NewswarcError
from crawler.extract.pool import ExtractionPool
from crawler.state import DEFAULT_FILENAME, CrawlState
from crawler.storage import Storage, open_storage
from crawler.storage.base import temp_path
from crawler.urls import DigestSet
from crawler.warc.writer_process import WriterHost, WriterProcess

logger = logging.getLogger(__name__)


@dataclass
class RunContext:
    run_id: str
    storage: Storage
    started: datetime
    state: Any = None  # crawler.state.CrawlState when incremental crawling is on
    # article ids this run found archived before, and those it wrote (new or changed): 8 bytes each
    already_archived: DigestSet = field(default_factory=DigestSet)
    written: DigestSet = field(default_factory=DigestSet)
    warc_files: list[str] = field(default_factory=list)  # storage keys of the WARC files this crawl closed
    quality: Any = None  # crawler.dataset.quality.SiteQuality: the pipeline's per-site table for the run report


ALREADY_ARCHIVED = "newswarc/crawl/already_archived"


async def in_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` in the reactor's thread pool, awaited: how a crawl keeps blocking
    IO (files, SQLite) and C work that releases the GIL (zlib, brotli) off the reactor thread."""
    return await maybe_deferred_to_future(threads.deferToThread(func, *args, **kwargs))


_cpu_pool: ThreadPool | None = None
_cpu_lock = threading.Lock()


def _cpu_threads() -> ThreadPool:
    global _cpu_pool
    with _cpu_lock:
        if _cpu_pool is None:
            pool = ThreadPool(minthreads=1, maxthreads=1, name="newswarc-cpu")
            pool.start()
            installed_reactor().addSystemEventTrigger("during", "shutdown", pool.stop)
            _cpu_pool = pool
        return _cpu_pool


async def in_cpu_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` in the process's one CPU thread, awaited: for Python work that
    holds the GIL (analysing a page: classifying it, finding and checking its links; parsing a
    feed or a sitemap). One thread is also what a streaming lxml parser needs: it must stay in the
    thread that started it.

    One thread, not the reactor's pool of ten: Python code in two threads does not run at once,
    and every extra thread running it takes the GIL from the reactor thread in turns of the
    switch interval, so fetching, the downloader's slots and the pipeline wait. Measured on the
    demo-site crawl, the pool of ten cost about 15 % more wall time and 10 % more CPU than one
    thread (docs/benchmarks.md, "One CPU thread").
    """
    return await maybe_deferred_to_future(threads.deferToThreadPool(installed_reactor(), _cpu_threads(), func,
                                                                    *args, **kwargs))


def installed_reactor() -> Any:
    """The reactor Scrapy installed (for ``callFromThread``, system event triggers)."""
    # imported when first used: importing it at module level would install Twisted's default
    # reactor before Scrapy installs the one its settings name
    from twisted.internet import reactor

    return reactor


def count_already_archived(crawler: Any, article_id: str | None) -> None:
    """Count an article an earlier run archived, once per article however many URLs lead to it.

    A skipped URL is not an article: an article found through its permalink, a redirect and a
    sitemap is one ``already archived`` article in the run report, as it is one in the archive.
    """
    ctx = run_context(crawler)
    if article_id and article_id not in ctx.already_archived and article_id not in ctx.written:
        ctx.already_archived.add(article_id)
        crawler.stats.inc_value(ALREADY_ARCHIVED)


def note_written(crawler: Any, article_id: str) -> None:
    """An article this run writes: never also ``already archived`` (when another URL of it comes later)."""
    ctx = run_context(crawler)
    ctx.written.add(article_id)
    if article_id in ctx.already_archived:  # a new version of one counted as archived a moment ago
        ctx.already_archived.discard(article_id)
        crawler.stats.inc_value(ALREADY_ARCHIVED, -1)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique across hosts and processes: ``20261127T151200Z-host-1234``."""
    now = now or datetime.now(UTC)
    host = socket.gethostname().split(".")[0].replace("-", "")[:20] or "host"
    return f"{now:%Y%m%dT%H%M%SZ}-{host}-{os.getpid()}"


def state_run_key(run_id: str, site: str) -> str:
    """A run of one seed in the state store (one command may crawl several seeds under one run id)."""
    return f"{run_id}/{site}"


def run_context(crawler) -> RunContext:
    """The crawl's :class:`RunContext`, created on first use (storage checked before crawling)."""
    ctx = getattr(crawler, "newswarc_context", None)
    if ctx is None:
        settings = crawler.settings
        uri = settings.get("NEWSWARC_OUTPUT_URI")
        if not uri:  # the one rule: the default ("archive") is in crawler/config/settings.py, empty is an error
            raise NewswarcError("NEWSWARC_OUTPUT_URI is empty: set an output directory or s3://bucket/prefix")
        storage = open_storage(uri, settings)
        storage.check()
        ctx = RunContext(
            run_id=settings.get("NEWSWARC_RUN_ID") or new_run_id(),
            storage=storage,
            started=datetime.now(UTC),
        )
        if settings.getbool("NEWSWARC_STATE_ENABLED") and settings.get("NEWSWARC_STATE_CLASS"):
            # another backend (crawler.distributed.state.RedisCrawlState): shared by the fleet, one per crawl
            ctx.state = load_object(settings.get("NEWSWARC_STATE_CLASS")).from_settings(settings, storage.work_dir)
        elif settings.getbool("NEWSWARC_STATE_ENABLED"):
            restore_state_backup(storage, settings)
            ctx.state = _acquire_state(settings, storage.work_dir)
        crawler.newswarc_context = ctx
    return ctx


class PoolLease:
    """A crawl's use of the command's extraction pool: ``close`` gives it back (the last one closes the pool)."""

    def __init__(self, owner: CommandWorkers, pool: ExtractionPool):
        self._owner, self.pool = owner, pool

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        return self.pool.submit(*args, **kwargs)

    @property
    def failure(self) -> str | None:
        return self.pool.failure

    def close(self, wait: bool = True) -> None:
        self._owner.release_pool(self, wait)


class CommandWorkers:
    """The worker processes of one command, shared by its crawls: an extraction pool, a WARC writer process.

    Both start with their first user and stop with their last (a crawl that ends early does not
    stop them under the others).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ExtractionPool | None = None
        self._pool_key: tuple | None = None
        self._leases: set[int] = set()
        self._host: WriterHost | None = None
        self._repaired: set[str] = set()

    def extraction_pool(self, *, workers: int, timeout: float) -> PoolLease:
        key = (workers, timeout)
        with self._lock:
            if self._pool is not None and self._pool_key != key:
                raise ValueError(f"one command, one extraction pool: {key} differs from {self._pool_key}")
            if self._pool is None:
                self._pool, self._pool_key = ExtractionPool(workers=workers, timeout=timeout), key
            lease = PoolLease(self, self._pool)
            self._leases.add(id(lease))
            return lease

    def release_pool(self, lease: PoolLease, wait: bool = True) -> None:
        with self._lock:
            self._leases.discard(id(lease))
            pool = self._pool if not self._leases else None
            if pool is not None:
                self._pool = self._pool_key = None
        if pool is not None:
            pool.close(wait=wait)

    def repair_once(self, directory: Path, repair: Callable[[Path], list[Path]]) -> list[Path]:
        """Repair the ``.open`` files of crashed runs once per command and directory, before any crawl of
        the command writes there (a sibling crawl's live ``.open`` file is never taken for a crashed one)."""
        key = str(Path(directory).resolve())
        with self._lock:  # held while repairing: the other crawls open their writers after it
            if key in self._repaired:
                return []
            self._repaired.add(key)
            return repair(directory)

    def open_warc_writer(self, root: str, **kwargs: Any) -> WriterProcess:
        """A channel (one crawl's files) on the command's WARC writer process, started on first use."""
        with self._lock:
            if self._host is None or self._host.stopping or self._host.dead:
                self._host = WriterHost()
            return self._host.open(root, **kwargs)


def command_workers(crawler: Any) -> CommandWorkers:
    """The command's :class:`CommandWorkers` (``crawler.newswarc_workers``), else this crawler's own."""
    workers = getattr(crawler, "newswarc_workers", None)
    if workers is None:
        workers = crawler.newswarc_workers = CommandWorkers()
    return workers


STATE_KEY = "state/crawl-state.sqlite"

# Seeds crawled by one command share the output, hence the state file: one connection per file
# per process (two would wait on each other's write batches), closed by the last crawl to finish.
_shared_states: dict[str, list] = {}
_shared_lock = threading.Lock()


def _acquire_state(settings: Any, work_dir: Path) -> CrawlState:
    path = str(Path(settings.get("NEWSWARC_STATE_PATH") or Path(work_dir) / DEFAULT_FILENAME).resolve())
    with _shared_lock:
        entry = _shared_states.get(path)
        if entry is None:
            entry = _shared_states[path] = [CrawlState.from_settings(settings, work_dir), 0]
        entry[1] += 1
        return entry[0]


def release_state(state) -> bool:
    """Give back a crawl's state; closes it and returns True when no other crawl uses it."""
    with _shared_lock:
        for path, entry in list(_shared_states.items()):
            if entry[0] is state:
                entry[1] -= 1
                if entry[1] > 0:
                    return False
                del _shared_states[path]
                break
    state.close()
    return True


def restore_state_backup(storage: Storage, settings) -> None:
    """On remote output the state lives in the local spool; a new machine restores it from the bucket."""
    if settings.get("NEWSWARC_STATE_PATH") or not storage.remote:
        return
    local = storage.work_dir / STATE_KEY
    if local.exists() or not storage.exists(STATE_KEY):
        return
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(local)  # a killed restore's is removed by the next run holding the output lock
    with storage.open_read(STATE_KEY) as src, open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    os.replace(tmp, local)
    logger.info("Crawl state restored from %s", storage.display(STATE_KEY))


def backup_state(storage: Storage, settings) -> None:
    """After a run on remote output, the closed state file goes to the bucket (uploaded, then removed)."""
    if settings.get("NEWSWARC_STATE_PATH") or not storage.remote:
        return
    if (storage.work_dir / STATE_KEY).exists():
        storage.commit(STATE_KEY)
