"""The writer child's side: a loop over the messages of the parent's pipe, one channel per crawl.

Each channel builds and writes the records of its exchanges with a
:class:`~crawler.warc.writer.WarcFileWriter` over the storage's work directory, remembers the
payloads it wrote (revisits), reads earlier runs' from the crawl-state file, and answers each
batch with where every record went. Nothing here touches Scrapy or storage uploads: committing
is the parent's job (:mod:`crawler.warc.writer_process`).
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import threading
import traceback
from pathlib import Path
from typing import Any

from crawler.state import DigestReader
from crawler.warc.messages import (
    Batch,
    ChannelClosed,
    CloseChannel,
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

__all__ = ["child_loop", "write_exchange"]


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


def child_loop(inbox: Any, outbox: Any) -> None:
    """The child process's main loop (a reading thread drains the pipe; this one writes)."""
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
