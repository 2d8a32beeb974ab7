"""The WARC writer in a child process: digests, records, gzip and file I/O off the crawl's GIL.

A writer *thread* still shares the GIL with the reactor: its record building, digests and
revisit lookups slowed every other part of the crawl (``bench/bench_archive.py``). Here the
crawl process only pickles each :class:`~crawler.warc.records.Exchange` into a pipe; the
child builds and writes the records with the same :class:`~crawler.warc.writer.WarcFileWriter`
and answers with where each record went. The parent keeps everything that touches Scrapy or
storage: the futures of the capture, stats, commits (S3 uploads), the crawl state.

One process per command: a :class:`WriterHost` is the child and its pipes; each crawl of the
command opens a :class:`WriterProcess` on it, a channel with its own files, revisit memory and
in-flight bound (the messages are in :mod:`crawler.warc.messages`). The child exits when the
last channel is closed.

Revisits: the child remembers the payloads a channel wrote in this run and reads earlier runs'
from the crawl-state SQLite file (read-only; WAL lets it read while the parent writes). New
payloads go back to the parent, which records them in the state.

If the parent dies (SIGKILL), the child sees its pipe close and exits *without* closing its
files: the ``.open`` files, whole records only, are repaired by the next run.
"""

from __future__ import annotations

import collections
import fcntl
import itertools
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
from crawler.warc.messages import (
    Batch,
    ChannelClosed,
    CloseChannel,
    Died,
    FileEvent,
    MetadataWritten,
    OpenChannel,
    Reply,
    Result,
    Stop,
    WriteExchange,
    WriteMetadata,
    WriterError,
    Written,
    WrittenAt,
)
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

logger = logging.getLogger(__name__)

_PIPE_SIZE = 1 << 20  # ask for 1 MiB pipes: fewer waits of the sender thread for the child


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
                   ) -> tuple[WrittenAt, dict[str, int], str | None]:
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
    return WrittenAt(key, offset, length, record.warc_type, digest), counts, new


class _Channel:
    """One crawl's side of the child: its files, its payload memory, its pending file events."""

    def __init__(self, msg: OpenChannel):
        self.events: list[Result] = []
        self.fw = WarcFileWriter(_WarcDir(msg.root), on_file=lambda event, key: self.events.append(FileEvent(event, key)),
                                 make_id=make_record_id, **msg.writer_args)
        self.digests = _Digests(msg.state_path)
        self.revisits = msg.revisits

    def run(self, jobs: list[WriteExchange | WriteMetadata]) -> list[Result]:
        results: list[Result] = []
        for job in jobs:
            if isinstance(job, WriteExchange):
                ex = job.exchange
                try:
                    at, counts, new = write_exchange(self.fw, ex, self.digests, self.revisits)
                    results.append(Written(job.seq, at, counts, new))
                except Exception as exc:
                    results.append(Written(job.seq, None, {"failed": 1}, error=f"{type(exc).__name__}: {exc}"))
                    results.append(WriterError(f"archive {ex.url}", traceback.format_exc()))
            else:
                try:
                    ((_, _, length),) = self.fw.write([metadata_record(job.uri, job.date, make_record_id(),
                                                                       job.concurrent_to, job.fields)])
                    results.append(MetadataWritten({"records/metadata": 1, "bytes": length}))
                except Exception:
                    results.append(MetadataWritten({"failed": 1}))
                    results.append(WriterError(f"write the metadata record of {job.uri}", traceback.format_exc()))
        return self.flush(results)

    def flush(self, results: list[Result]) -> list[Result]:
        results += self.events
        self.events = []
        return results


def _child(inbox: Any, outbox: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business: it closes us
    # only for a crash of this loop itself: failures of a record are sent to the parent, which logs them
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    channels: dict[int, _Channel] = {}
    messages: collections.deque = collections.deque()
    arrived = threading.Condition()

    def read() -> None:  # drain the pipe at once, so the parent's send never waits for our disk
        while True:
            try:
                msg = inbox.recv()
            except (EOFError, OSError):
                msg = None  # the parent is gone
            with arrived:
                messages.append(msg)
                arrived.notify()
            if msg is None or isinstance(msg, Stop):
                return

    threading.Thread(target=read, name="newswarc-warc-inbox", daemon=True).start()
    while True:
        with arrived:
            while not messages:
                arrived.wait()
            msg = messages.popleft()
        if msg is None:  # parent died: leave the .open files (whole records) for repair
            os._exit(0)
        if isinstance(msg, Batch):
            outbox.send(Reply(msg.channel, channels[msg.channel].run(msg.jobs)))
        elif isinstance(msg, OpenChannel):
            try:
                channels[msg.channel] = _Channel(msg)
            except Exception:
                outbox.send(Reply(msg.channel, [WriterError("open the WARC writer", traceback.format_exc())]))
                raise
        elif isinstance(msg, CloseChannel):
            if (channel := channels.pop(msg.channel, None)) is not None:
                channel.fw.close()
                outbox.send(Reply(msg.channel, [*channel.flush([]), ChannelClosed()]))
        elif isinstance(msg, Stop):
            for number, channel in channels.items():
                channel.fw.close()
                outbox.send(Reply(number, [*channel.flush([]), ChannelClosed()]))
            outbox.send(None)
            return


def _grow_pipe(conn: Any) -> None:
    try:
        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)  # Linux; elsewhere the default size
    except (OSError, AttributeError, ValueError):
        pass


class WriterHost:
    """The writer child process and its pipes, shared by the channels (crawls) of one command."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # the crawl is threaded: never fork it
        inbox_r, self._inbox = ctx.Pipe(duplex=False)
        self._outbox, outbox_w = ctx.Pipe(duplex=False)
        _grow_pipe(self._inbox)
        self.process = ctx.Process(target=_child, name="newswarc-warc-writer", daemon=True, args=(inbox_r, outbox_w))
        self.process.start()
        inbox_r.close()
        outbox_w.close()
        self.dead = False
        self.stopping = False
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._channels: dict[int, WriterProcess] = {}
        self._stopped = threading.Event()
        self._outgoing: collections.deque = collections.deque()
        self._outgoing_ready = threading.Condition()
        self._sender = threading.Thread(target=self._send_loop, name="newswarc-warc-send", daemon=True)
        self._sender.start()
        self._thread = threading.Thread(target=self._receive, name="newswarc-warc-results", daemon=True)
        self._thread.start()

    def open(self, root: str, *, writer_args: dict[str, Any], state_path: str | None, revisits: bool,
             queue_size: int, on_results: Callable[[list[Result]], None],
             on_low_water: Callable[[], None] | None = None) -> WriterProcess:
        """A new channel: one crawl's files under ``root``. Raises RuntimeError once the host stops."""
        with self._lock:
            if self.stopping or self.dead:
                raise RuntimeError("the WARC writer process is stopping")
            number = next(self._numbers)
            channel = WriterProcess(self, number, queue_size=queue_size, on_results=on_results,
                                    on_low_water=on_low_water)
            self._channels[number] = channel
        self.send(OpenChannel(number, root, writer_args, state_path, revisits))
        return channel

    def send(self, msg: Any) -> None:
        """Queue ``msg`` for the child; never waits for the pipe.

        A batch of pages is larger than the pipe, so writing it waits until the child has read
        the rest, and the child's reading thread shares the child's GIL with the record
        building: on the crawl's reactor thread those waits added up to seconds. The sender
        thread waits instead. When the pipe breaks (the child died), what was queued is lost
        like what was in the pipe: the receiving thread then fails every capture in flight.
        """
        if self.dead:
            raise BrokenPipeError("the WARC writer process is gone")
        with self._outgoing_ready:  # crawls send from the reactor and from their closing threads
            self._outgoing.append(msg)
            self._outgoing_ready.notify()

    def _send_loop(self) -> None:
        while True:
            with self._outgoing_ready:
                while not self._outgoing:
                    self._outgoing_ready.wait()
                msg = self._outgoing.popleft()
            try:
                self._inbox.send(msg)
            except (OSError, ValueError) as exc:  # the child is gone; _receive sees its pipe close
                logger.debug("send to the WARC writer process failed: %s", exc)
                self.dead = True
                return
            if isinstance(msg, Stop):
                return

    def release(self, channel: WriterProcess, timeout: float | None) -> None:
        """A channel is done; the last one stops the process."""
        with self._lock:
            self._channels.pop(channel.number, None)
            last = not self._channels and not self.stopping
            if last:
                self.stopping = True
        if last:
            self.stop(timeout)

    def stop(self, timeout: float | None = None) -> bool:
        """Close every file and end the child; True when it stopped cleanly."""
        with self._lock:
            self.stopping = True
        if not self.dead:
            try:
                self.send(Stop())
            except OSError:
                pass
        stopped = self._stopped.wait(timeout)
        self.process.join(5 if stopped else 0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self._thread.join(5)
        if self._sender.is_alive():  # the child was killed with messages queued: let the thread go
            with self._outgoing_ready:
                self._outgoing.clear()
                self._outgoing.append(Stop())
                self._outgoing_ready.notify()
            self._sender.join(5)
        return stopped

    def _receive(self) -> None:
        while True:
            try:
                reply = self._outbox.recv()
            except (EOFError, OSError):
                self.dead = True
                with self._lock:
                    channels = list(self._channels.values())
                for channel in channels:
                    channel.deliver([Died()])
                self._stopped.set()
                return
            if reply is None:  # after Stop: every file is closed
                self._stopped.set()
                return
            with self._lock:
                channel = self._channels.get(reply.channel)
            if channel is not None:
                channel.deliver(reply.results)


class WriterProcess:
    """One crawl's channel to the writer process: sends batches without blocking, gets results on a thread.

    ``submit_batch`` returns False when ``queue_size`` pages are in flight (sent, not written
    yet), so the caller can pause the crawl; ``on_low_water`` is called once that falls to half.
    ``on_results`` gets every result list in the receiving thread. Built by :meth:`WriterHost.open`,
    or standing alone with :meth:`start` (its own process).
    """

    def __init__(self, host: WriterHost, number: int, *, queue_size: int,
                 on_results: Callable[[list[Result]], None], on_low_water: Callable[[], None] | None = None):
        self.host, self.number = host, number
        self.process = host.process
        self.maxsize = max(1, queue_size)
        self.on_results, self.on_low_water = on_results, on_low_water
        self.want_low_water = False
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = threading.Event()

    @classmethod
    def start(cls, root: str, *, writer_args: dict[str, Any], state_path: str | None, revisits: bool,
              queue_size: int, on_results: Callable[[list[Result]], None],
              on_low_water: Callable[[], None] | None = None) -> WriterProcess:
        """A channel on a process of its own (stopped when the channel closes)."""
        return WriterHost().open(root, writer_args=writer_args, state_path=state_path, revisits=revisits,
                                 queue_size=queue_size, on_results=on_results, on_low_water=on_low_water)

    @property
    def dead(self) -> bool:
        return self.host.dead

    def submit_batch(self, jobs: Sequence[WriteExchange | WriteMetadata], force: bool = False) -> bool:
        """Send jobs as one batch; refused (False) when too many pages are in flight."""
        with self._lock:
            if not force and self._in_flight and self._in_flight + len(jobs) > self.maxsize:
                self.want_low_water = True
                return False
            self._in_flight += len(jobs)
        self.host.send(Batch(self.number, list(jobs)))
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Write what was sent and close this crawl's file; True when it closed cleanly."""
        if not self.dead:
            try:
                self.host.send(CloseChannel(self.number))
            except OSError:
                pass
        closed = self._closed.wait(timeout)
        self.host.release(self, timeout)
        return closed and not self.dead

    def deliver(self, results: list[Result]) -> None:
        """In the host's receiving thread: count what is done, hand the results over."""
        done = sum(1 for r in results if isinstance(r, Written | MetadataWritten))
        with self._lock:
            self._in_flight -= done
            low = self.want_low_water and self._in_flight <= self.maxsize // 2
            if low:
                self.want_low_water = False
        self.on_results(results)
        if low and self.on_low_water:
            self.on_low_water()
        if any(isinstance(r, ChannelClosed | Died) for r in results):
            self._closed.set()
