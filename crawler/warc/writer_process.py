"""The WARC writer in a child process: digests, records, gzip and file I/O off the crawl's GIL.

A writer *thread* still shares the GIL with the reactor: its record building, digests and
revisit lookups slowed every other part of the crawl (``bench/bench_archive.py``). Here the
crawl process only pickles each :class:`~crawler.archive.records.Exchange` into a pipe; the
child builds and writes the records with the same :class:`~crawler.archive.writer.WarcFileWriter`
and answers with where each record went. The parent keeps everything that touches Scrapy or
storage: the futures of the capture, stats, commits (S3 uploads), the crawl state.

Revisits: the child remembers the payloads it wrote in this run and reads earlier runs' from the
crawl-state SQLite file (read-only; WAL lets it read while the parent writes). New payloads go
back to the parent, which records them in the state.

If the parent dies (SIGKILL), the child sees its pipe close and exits *without* closing the
file: the ``.open`` file, whole records only, is repaired by the next run.
"""

from __future__ import annotations

import collections
import fcntl
import logging
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from crawler.state import DigestReader
from crawler.warc.records import (
    NOT_MODIFIED_PROFILE,
    Exchange,
    make_record_id,
    metadata_record,
    request_record,
    response_record,
    revisit_record,
    sha1_digest,
)
from crawler.warc.writer import RevisitIndex, WarcFileWriter

_STOP = "stop"
_PIPE_SIZE = 1 << 20  # ask for 1 MiB pipes: a batch of pages fits without blocking the reactor


# --- messages ------------------------------------------------------------------------------
# parent -> child: a list of ("x", seq, Exchange) | ("m", uri, date, concurrent_to, pairs), or "stop"
# child -> parent: a list of results:
#   ("x", seq, (key, offset, length, record_type, digest) | None, counts, new_digest | None, error | None)
#   ("m", counts)
#   ("file", event, key)          event: "opened" | "closed"
#   ("error", what, traceback)    a failure, logged by the parent (its logging keeps tracebacks off the terminal)
#   ("stopped", None)             after the last file is closed


class _WarcDir:
    """The part of a storage the child needs: local paths under the storage's work directory."""

    def __init__(self, root: str):
        self.root = Path(root)

    def local_path(self, key: str) -> Path:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, key: str) -> None:
        """Committing (an S3 upload) is the parent's job, on the ``closed`` event."""

    def display(self, key: str = "") -> str:
        return str(self.root / key)


class _Digests:
    """Payloads written in this run (in memory) and in earlier runs (the state file, read-only)."""

    def __init__(self, state_path: str | None):
        self.seen = RevisitIndex()
        self.earlier = DigestReader(state_path) if state_path else None

    def lookup(self, digest: str) -> tuple[str, str] | None:
        hit = self.seen.lookup(digest)
        if hit is None and self.earlier is not None:
            hit = self.earlier.lookup(digest)
        return hit

    def add(self, digest: str, uri: str, date: str) -> None:
        self.seen.add(digest, uri, date)


def write_exchange(fw: WarcFileWriter, ex: Exchange, digests: _Digests, revisits: bool
                   ) -> tuple[tuple[str, int, int, str, str], dict[str, int], str | None]:
    """Write one exchange (response or revisit, then request); returns location, counts, new digest."""
    digest = sha1_digest(ex.body)
    hit = None
    if ex.not_modified:
        uri, date, digest = ex.not_modified
        hit = (uri, date)
        record = revisit_record(ex, digest, uri, date, profile=NOT_MODIFIED_PROFILE)
    else:
        if revisits and ex.body and not ex.truncated:
            hit = digests.lookup(digest)
        record = revisit_record(ex, digest, *hit) if hit else response_record(ex, digest)
    (key, offset, length), (_, _, req_len) = fw.write([record, request_record(ex)])
    new = None
    if not hit and ex.body and not ex.truncated:
        digests.add(digest, ex.url, ex.date)
        new = digest
    counts = {f"records/{record.warc_type}": 1, "records/request": 1, "bytes": length + req_len}
    if hit:
        counts["revisits"] = 1
    return (key, offset, length, record.warc_type, digest), counts, new


def _child(inbox: Any, outbox: Any, root: str, writer_args: dict[str, Any], state_path: str | None,
           revisits: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business: it closes us
    # only for a crash of this loop itself: failures of a record are sent to the parent, which logs them
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    events: list[tuple] = []
    fw = WarcFileWriter(_WarcDir(root), on_file=lambda event, key: events.append(("file", event, key)),
                        make_id=make_record_id, **writer_args)
    digests = _Digests(state_path)
    batches: collections.deque = collections.deque()
    arrived = threading.Condition()

    def read() -> None:  # drain the pipe at once, so the parent's send never waits for our disk
        while True:
            try:
                batch = inbox.recv()
            except (EOFError, OSError):
                batch = None  # the parent is gone
            with arrived:
                batches.append(batch)
                arrived.notify()
            if batch is None or batch == _STOP:
                return

    threading.Thread(target=read, name="newswarc-warc-inbox", daemon=True).start()
    while True:
        with arrived:
            while not batches:
                arrived.wait()
            batch = batches.popleft()
        if batch is None:  # parent died: leave the .open file (whole records) for repair
            os._exit(0)
        if batch == _STOP:
            fw.close()
            outbox.send(events + [("stopped", None)])
            return
        results: list[tuple] = []
        for msg in batch:
            if msg[0] == "x":
                _, seq, ex = msg
                try:
                    location, counts, new = write_exchange(fw, ex, digests, revisits)
                    results.append(("x", seq, location, counts, new, None))
                except Exception as exc:
                    results.append(("x", seq, None, {"failed": 1}, None, f"{type(exc).__name__}: {exc}"))
                    results.append(("error", f"archive {ex.url}", traceback.format_exc()))
            else:
                _, uri, date, concurrent_to, pairs = msg
                try:
                    ((_, _, length),) = fw.write([metadata_record(uri, date, make_record_id(), concurrent_to, pairs)])
                    results.append(("m", {"records/metadata": 1, "bytes": length}))
                except Exception:
                    results.append(("m", {"failed": 1}))
                    results.append(("error", f"write the metadata record of {uri}", traceback.format_exc()))
        if events:
            results += events
            events.clear()
        outbox.send(results)


def _grow_pipe(conn: Any) -> None:
    try:
        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)  # Linux; elsewhere the default size
    except (OSError, AttributeError, ValueError):
        pass


class WriterProcess:
    """The parent's handle: sends batches without blocking, receives results on a thread.

    ``submit_batch`` returns False when ``queue_size`` pages are in flight (sent, not written
    yet), so the caller can pause the crawl; ``on_low_water`` is called once that falls to half.
    ``on_results`` gets every result list in the receiving thread.
    """

    def __init__(self, root: str, *, writer_args: dict[str, Any], state_path: str | None,
                 revisits: bool, queue_size: int, on_results: Callable[[list[tuple]], None],
                 on_low_water: Callable[[], None] | None = None):
        ctx = multiprocessing.get_context("spawn")  # the crawl is threaded: never fork it
        inbox_r, self._inbox = ctx.Pipe(duplex=False)
        self._outbox, outbox_w = ctx.Pipe(duplex=False)
        _grow_pipe(self._inbox)
        self.process = ctx.Process(target=_child, name="newswarc-warc-writer", daemon=True,
                                   args=(inbox_r, outbox_w, root, writer_args, state_path, revisits))
        self.process.start()
        inbox_r.close()
        outbox_w.close()
        self.maxsize = max(1, queue_size)
        self.on_results, self.on_low_water = on_results, on_low_water
        self.want_low_water = False
        self.dead = False
        self._lock = threading.Lock()
        self._in_flight = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="newswarc-warc-results", daemon=True)
        self._thread.start()

    def submit_batch(self, messages: Sequence[tuple], force: bool = False) -> bool:
        """Send messages as one batch; refused (False) when too many pages are in flight."""
        with self._lock:
            if not force and self._in_flight and self._in_flight + len(messages) > self.maxsize:
                self.want_low_water = True
                return False
            self._in_flight += len(messages)
        if self.dead:
            raise BrokenPipeError("the WARC writer process is gone")
        self._inbox.send(list(messages))
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Write what was sent, close the file, stop the child; True when it stopped cleanly."""
        if not self.dead:
            try:
                self._inbox.send(_STOP)
            except OSError:
                pass
        stopped = self._stopped.wait(timeout)
        self.process.join(5 if stopped else 0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self._thread.join(5)
        return stopped

    def _receive(self) -> None:
        while True:
            try:
                results = self._outbox.recv()
            except (EOFError, OSError):
                self.dead = True
                self.on_results([("died", None)])
                self._stopped.set()
                return
            done = sum(1 for r in results if r[0] in ("x", "m"))
            with self._lock:
                self._in_flight -= done
                low = self.want_low_water and self._in_flight <= self.maxsize // 2
                if low:
                    self.want_low_water = False
            self.on_results(results)
            if low and self.on_low_water:
                self.on_low_water()
            if results and results[-1][0] == "stopped":
                self._stopped.set()
                return
