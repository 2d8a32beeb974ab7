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
import threading
from collections.abc import Callable, Sequence
from typing import Any

from crawler.warc.messages import (
    Batch,
    ChannelClosed,
    CloseChannel,
    Died,
    MetadataWritten,
    OpenChannel,
    Result,
    Stop,
    WriteExchange,
    WriteMetadata,
    Written,
)
from crawler.warc.writer_child import child_loop

logger = logging.getLogger(__name__)

_PIPE_SIZE = 1 << 20  # ask for 1 MiB pipes: fewer waits of the sender thread for the child


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
        self.process = ctx.Process(target=child_loop, name="newswarc-warc-writer", daemon=True, args=(inbox_r, outbox_w))
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
