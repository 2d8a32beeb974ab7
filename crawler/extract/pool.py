"""A process pool for extraction, with a per-page time limit and crash recovery.

trafilatura is CPU-bound and, on hostile pages, can hang or take the interpreter down with
it (lxml). Each worker therefore runs one page at a time behind its own pipe, so the pool
always knows which page a worker holds: a page over ``timeout`` gets its worker killed and
replaced (reason ``timeout``), a worker that dies resolves its page as ``crashed``, and the
queued pages simply go to the next free worker. No future is ever left unresolved.

Workers come from the ``forkserver`` context (forking a threaded Twisted process is unsafe).
The fork server preloads :mod:`crawler.extract.warm`, which warms the extractor (the language
model and lazy imports, about a second of CPU) once, so every worker and every
replacement starts warm in milliseconds. A worker still runs :func:`crawler.extract.api.warm_up`
(a few ms when the fork server was warm) and says so before it is given a page, so a cold start
never counts against a page's ``timeout``.

The dispatcher thread starts the workers, not the constructor: the first start waits for the
fork server's warm-up, and a crawl's reactor would sit blocked for it instead of fetching its
first pages (pages submitted meanwhile wait in the queue).
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, NamedTuple

from crawler.config.extract import ExtractOptions
from crawler.extract.pool_worker import CANNOT_START, READY, worker_main

logger = logging.getLogger(__name__)

DEFAULT_FUNC = "crawler.extract.api:extract_with_reason"
START_TIMEOUT = 60.0  # a worker that has not warmed up by then is replaced
PREFETCH = 2  # pages in a worker's pipe: the one it works on and the next
MAX_START_FAILURES = 5  # then the pool gives up: every page resolves as "crashed"


class _CannotStart(Exception):
    """Workers keep dying before they are ready (a broken install, a preload that fails)."""


class ExtractResult(NamedTuple):
    """What a page became, the one kind of result of the pool: ``func``'s value, or None and a bounded reason.

    ``func`` returns a ``(value, reason)`` pair: :func:`~crawler.extract.api.extract_with_reason`
    an :class:`Article` (the field's name), replay's worker a ``ReplayedPage``. A page that timed
    out, crashed or raised is ``(None, "timeout" | "crashed" | "error:<Type>")``.
    """

    article: Any  # what ``func`` made (an Article for the crawl, a ReplayedPage for replay), or None
    reason: str | None


@dataclass
class _Task:
    future: Future
    payload: tuple[tuple[Any, ...], dict[str, Any]]
    url: str
    running: bool = False  # its future is marked running (it went to a worker once)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    tasks: collections.deque[_Task] = field(default_factory=collections.deque)  # sent, unanswered, in order
    deadline: float = 0.0  # of the page it works on (the first of ``tasks``), or of its warm-up
    sent: int = 0
    done: int = 0
    ready: bool = False  # warmed up: may be given pages

    @property
    def busy(self) -> bool:
        """Holding pages or warming up: its pipe and deadline are watched."""
        return bool(self.tasks) or not self.ready


class ExtractionPool:
    """Extract pages in worker processes; :meth:`submit` returns a Future of :class:`ExtractResult`."""

    def __init__(self, workers: int = 0, timeout: float = 60.0, *, func: str = DEFAULT_FUNC,
                 max_tasks_per_worker: int = 1000, preload: Sequence[str] = ()) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.timeout = timeout
        self.func = func
        self.max_tasks_per_worker = max_tasks_per_worker
        self._ctx = multiprocessing.get_context("forkserver")
        # imports ``func`` makes lazily belong in ``preload``: paid once in the fork server, not by
        # every worker (and again by each replacement of a retired one)
        self._ctx.set_forkserver_preload(["crawler.extract.warm", func.partition(":")[0], *preload])
        self._queue: collections.deque[_Task] = collections.deque()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._closing = False
        self._drain = True
        self._busy = 0
        self._start_failures = 0  # workers in a row that died before they were ready
        self._failure: str | None = None  # why the dispatcher gave up: new pages resolve as "crashed" at once
        self._ready = 0  # workers warmed up, under _lock
        self._ready_changed = threading.Condition(self._lock)
        self._pool: list[_Worker] = []  # started by the dispatcher thread (see the module's docstring)
        self._thread = threading.Thread(target=self._run, name="newswarc-extract-pool", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ public

    def submit(self, html: bytes | str, url: str, *, charset: str | None = None,
               options: ExtractOptions | None = None) -> Future:
        """Queue one page for ``func(html, url, charset=, options=)``; never blocks (watch :attr:`pending`).

        The future's result is an :class:`ExtractResult` (``func`` returns an ``(article, reason)`` pair).
        """
        return self._queue_task(_Task(Future(), ((html, url), {"charset": charset, "options": options}), url))

    def call(self, label: str, *args: Any, **kwargs: Any) -> Future:
        """Queue ``func(*args, **kwargs)``, ``label`` naming the page in logs; never blocks.

        ``func`` returns a ``(value, reason)`` pair; the future's result is an :class:`ExtractResult`
        of it, or ``ExtractResult(None, reason)`` when the call timed out, crashed or raised
        (reasons ``timeout``, ``crashed``, ``error:<Type>``).
        """
        return self._queue_task(_Task(Future(), (args, kwargs), label))

    @property
    def failure(self) -> str | None:
        """Why the pool gave up (its workers cannot start; every page then resolves as ``crashed``), or None."""
        return self._failure

    def _queue_task(self, task: _Task) -> Future:
        with self._lock:
            if self._failure is not None:  # the workers cannot start: answer at once rather than queue forever
                task.future.set_result(ExtractResult(None, "crashed"))
                return task.future
            if self._closing:
                raise RuntimeError("ExtractionPool is closed")
            self._queue.append(task)
            room = self._busy < self.workers * PREFETCH  # else the next result wakes the dispatcher anyway
        if room:
            self._wake()
        return task.future

    @property
    def pending(self) -> int:
        """Pages queued or being extracted."""
        with self._lock:
            return len(self._queue) + self._busy

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (monitoring, CPU accounting in benchmarks)."""
        return [w.process.pid for w in list(self._pool)]

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until every worker has warmed up (for benchmarks; a crawl need not wait).

        Returns False on timeout, or at once when the pool is closed.
        """
        with self._ready_changed:
            self._ready_changed.wait_for(lambda: self._ready >= self.workers or self._closing, timeout)
            return self._ready >= self.workers and not self._closing

    def close(self, wait: bool = True) -> None:
        """Stop the pool; ``wait`` finishes queued pages first, else they are cancelled."""
        with self._lock:
            if self._closing and not self._thread.is_alive():
                return
            self._closing, self._drain = True, wait
        self._wake()
        self._thread.join()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(wait=exc[0] is None)

    # ------------------------------------------------------------ dispatcher thread

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=worker_main, args=(child, self.func), name="newswarc-extract", daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent, deadline=time.monotonic() + max(self.timeout, START_TIMEOUT))

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:  # closed during shutdown
            pass

    def _run(self) -> None:
        try:
            while len(self._pool) < self.workers and not self._closing:
                self._pool.append(self._spawn())
            while self._step():
                pass
        except _CannotStart as exc:
            logger.error("extraction pool stopped: %s", exc)
            self._fail_all(str(exc))
        except Exception:
            logger.error("extraction pool dispatcher failed", exc_info=True)
            self._fail_all("the extraction pool's dispatcher failed (its traceback is in the log)")
        finally:
            self._stop_workers()

    def _step(self) -> bool:
        self._dispatch()
        with self._lock:
            abort = self._closing and not self._drain
            if abort:
                self._cancel_queued()
            elif self._closing and not self._queue and self._busy == 0:
                return False
        if abort:  # close(wait=False): pages in flight are given up
            for worker in self._pool:
                while worker.tasks:
                    self._finish(worker, ExtractResult(None, "cancelled"))
            return False
        now = time.monotonic()
        watched = [w for w in self._pool if w.busy]
        timeout = min((w.deadline - now for w in watched), default=None)
        handles: list[Any] = [self._wake_r] + [w.conn for w in watched] + [w.process.sentinel for w in self._pool]
        ready = wait(handles, timeout=max(0.0, timeout) if timeout is not None else None)
        if self._wake_r in ready:
            os.read(self._wake_r, 4096)
        for worker in list(self._pool):
            if worker.busy and worker.conn in ready:
                self._receive(worker)
            elif worker.process.sentinel in ready:
                self._replace(worker, "crashed")
            elif worker.busy and time.monotonic() >= worker.deadline:
                self._replace(worker, "timeout")
        return True

    def _dispatch(self) -> None:
        """Keep ``PREFETCH`` pages in each ready worker's pipe, so it never waits for this thread.

        This thread shares the GIL with a busy caller (the reactor, the replay reader): with one
        page at a time, a worker would sit idle until the thread got the GIL back to hand it the next.
        """
        for worker in self._pool:
            while worker.ready and len(worker.tasks) < PREFETCH and worker.sent < self.max_tasks_per_worker:
                with self._lock:
                    task = self._next_task()
                    if task is None:
                        return
                    self._busy += 1
                if not worker.tasks:
                    worker.deadline = time.monotonic() + self.timeout
                worker.tasks.append(task)
                worker.sent += 1
                try:
                    worker.conn.send(task.payload)
                except (OSError, ValueError) as exc:  # dead pipe: the sentinel check replaces the worker
                    logger.debug("send to extraction worker failed: %s", exc)
                    break

    def _next_task(self) -> _Task | None:
        """The next queued task to run, its future marked running (under ``_lock``)."""
        while self._queue and not (self._closing and not self._drain):
            task = self._queue.popleft()
            if task.running or task.future.set_running_or_notify_cancel():
                task.running = True
                return task
            # else cancelled by the caller while queued: take the next one
        return None

    def _receive(self, worker: _Worker) -> None:
        if not worker.ready:
            self._receive_ready(worker)
            return
        task = worker.tasks[0]
        try:
            value, error, tb = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker, "crashed")
            return
        except Exception as exc:  # an unpicklable result: count as an error of this page
            value, error, tb = None, f"error:{type(exc).__name__}", traceback.format_exc()
        if tb:
            logger.error("extraction failed for %s (%s):\n%s", task.url, error, tb.rstrip())
        value = ExtractResult(None, error) if error is not None else ExtractResult(*value)
        self._finish(worker, value)
        worker.done += 1
        if worker.tasks:  # the next page, already in its pipe, starts now
            worker.deadline = time.monotonic() + self.timeout
        elif worker.done >= self.max_tasks_per_worker:  # bound memory growth from lxml/trafilatura caches
            self._retire(worker)

    def _receive_ready(self, worker: _Worker) -> None:
        try:
            kind, reason, tb = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker, "crashed")
            return
        if kind == CANNOT_START:
            logger.debug("extraction worker %s cannot start:\n%s", worker.process.pid, tb.rstrip())
            self._replace(worker, reason)
            return
        if kind != READY:
            raise RuntimeError(f"extraction worker sent {kind!r} before it was ready")
        if tb:
            logger.warning("extraction worker %s warm-up failed:\n%s", worker.process.pid, tb.rstrip())
        worker.ready = True
        self._start_failures = 0
        with self._lock:
            self._ready += 1
            self._ready_changed.notify_all()

    def _finish(self, worker: _Worker, result: Any) -> None:
        """Resolve the page the worker was working on (the first it holds)."""
        task = worker.tasks.popleft()
        with self._lock:
            self._busy -= 1
        if not task.future.done():
            task.future.set_result(result)

    def _replace(self, worker: _Worker, reason: str) -> None:
        if worker.tasks:
            logger.warning("extraction %s for %s: worker %s replaced", reason, worker.tasks[0].url, worker.process.pid)
            self._finish(worker, ExtractResult(None, reason))
            with self._lock:  # the pages behind it were not started: first in line for the others
                self._busy -= len(worker.tasks)
                self._queue.extendleft(reversed(worker.tasks))
            worker.tasks.clear()
        elif not worker.ready:
            self._start_failures += 1
            logger.warning("extraction worker %s failed to start (%s): replaced", worker.process.pid, reason)
            if self._start_failures >= MAX_START_FAILURES:
                raise _CannotStart(f"{self._start_failures} extraction workers in a row died before they were "
                                   f"ready (the last: {reason})")
        self._kill(worker)
        self._pool[self._pool.index(worker)] = self._spawn()

    def _retire(self, worker: _Worker) -> None:
        try:
            worker.conn.send(None)
        except OSError:
            pass
        worker.process.join(5)
        self._kill(worker)
        self._pool[self._pool.index(worker)] = self._spawn()

    def _kill(self, worker: _Worker) -> None:
        if worker.ready:
            worker.ready = False
            with self._lock:
                self._ready -= 1
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        worker.process.close()

    def _cancel_queued(self) -> None:
        while self._queue:
            self._queue.popleft().future.cancel()

    def _fail_all(self, failure: str) -> None:
        """Give up: held, queued and later pages resolve as ``crashed``, ``failure`` (why) set before them."""
        reason = "crashed"
        with self._lock:
            self._failure = failure
        for worker in self._pool:
            while worker.tasks:
                self._finish(worker, ExtractResult(None, reason))
        with self._lock:
            tasks = list(self._queue)
            self._queue.clear()
        for task in tasks:
            if task.future.set_running_or_notify_cancel():
                task.future.set_result(ExtractResult(None, reason))

    def _stop_workers(self) -> None:
        with self._lock:  # wake wait_ready(): nothing will become ready any more
            self._closing = True
            self._ready_changed.notify_all()
        for worker in self._pool:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + (5 if self._drain else 0)  # wait=False: no grace for busy workers
        for worker in self._pool:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            self._kill(worker)
        self._pool = []
