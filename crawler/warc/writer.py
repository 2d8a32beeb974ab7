"""WARC files on disk: per-record gzip, ``.open`` names and rollover.

:class:`WarcFileWriter` owns naming, compression, rotation and commit; one thread uses it. In a
crawl it runs in the writer process (:mod:`crawler.warc.writer_process`), so compression and
file I/O never happen on the Twisted reactor thread (nor under its GIL).
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import re
import socket
import sqlite3
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO, Any

from crawler.warc.records import Record, make_record_id, warc_date, warcinfo_record

logger = logging.getLogger(__name__)

_SLICE = 1 << 20  # compress large bodies in 1 MiB slices


class RevisitIndex:
    """In-run memory of payload digests already archived (in the writer process; earlier runs'
    payloads come from the crawl state, :class:`crawler.state.DigestReader`).

    A private temporary SQLite database: SQLite keeps a few MiB of it in memory and the rest on
    disk, so the writer's memory stays flat in the crawl's size (a dict held ~430 bytes a payload).
    """

    def __init__(self) -> None:
        # "": a temporary database on disk, private to this connection, removed when it closes
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (digest TEXT PRIMARY KEY, uri TEXT NOT NULL, date TEXT NOT NULL)"
                         " WITHOUT ROWID")

    def lookup(self, digest: str) -> tuple[str, str] | None:
        """``(uri, warc_date)`` of the first capture with this payload digest, if any."""
        row = self._db.execute("SELECT uri, date FROM seen WHERE digest = ?", (digest,)).fetchone()
        return (row[0], row[1]) if row else None

    def add(self, digest: str, uri: str, date: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO seen (digest, uri, date) VALUES (?, ?, ?)", (digest, uri, date))


_SERIALS = itertools.count(1)


def _write_all(fh: Any, data: bytes) -> int:
    """Write all of ``data`` to an unbuffered file (which may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[fh.write(view):]
    return len(data)


def warc_filename(prefix: str, serial: int, now: float | None = None, host: str | None = None,
                  pid: int | None = None) -> str:
    """``PREFIX-TIMESTAMP17-SERIAL5-HOST-PID.warc.gz``: unique across processes and machines."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    ts17 = stamp.strftime("%Y%m%d%H%M%S") + f"{stamp.microsecond // 1000:03d}"
    host = re.sub(r"[^A-Za-z0-9.]+", "_", host or socket.gethostname()) or "localhost"
    return f"{prefix}-{ts17}-{serial:05d}-{host}-{os.getpid() if pid is None else pid}.warc.gz"


def gzip_member(record: Record, level: int) -> bytes:
    """``record`` as one gzip member, so that it can be read on its own at its offset.

    One ``zlib`` call per record: each call releases the GIL, and fewer hand-overs keep the
    writer from stalling behind other threads. Large bodies go in 1 MiB slices.
    """
    if record.block_length < _SLICE:
        return zlib.compress(b"".join(record.chunks()), level, wbits=31)
    comp, out = zlib.compressobj(level, zlib.DEFLATED, 31), []
    for chunk in record.chunks():
        view = memoryview(chunk)
        out += [comp.compress(view[start:start + _SLICE]) for start in range(0, len(view), _SLICE)]
    out.append(comp.flush())
    return b"".join(out)


class WarcFileWriter:
    """Writes record groups to ``warc/NAME.warc.gz.open`` in the storage's work directory.

    The first record of every file is a ``warcinfo``; a group (request + response) never spans
    two files; after a group the file is flushed (a crash leaves whole records up to there) and
    rolled over once it reaches ``max_size``. Closing renames it to its final name and commits it
    to storage (in a separate thread, so an upload does not stall writing).
    """

    def __init__(self, storage: Any, *, prefix: str = "newswarc", max_size: int = 1_000_000_000,
                 gzip_level: int = 6, recompress: bool = False, warcinfo: Sequence[tuple[str, str]] = (),
                 make_id: Callable[[], str] = make_record_id,
                 now: Callable[[], float] = time.time,
                 on_file: Callable[[str, str], None] | None = None):
        self.storage, self.prefix, self.max_size, self.gzip_level = storage, prefix, max_size, gzip_level
        self.recompress = recompress
        self.warcinfo, self.make_id, self.now, self.on_file = list(warcinfo), make_id, now, on_file
        self._serial = 0
        self._fh: IO[bytes] | None = None
        self._name = ""
        self._offset = 0
        self._commits = ThreadPoolExecutor(1, thread_name_prefix="newswarc-commit")
        self._pending: list[Future] = []
        self.files: list[str] = []

    @property
    def key(self) -> str:
        """Storage key of the current file (``warc/NAME.warc.gz``)."""
        return "warc/" + self._name

    def _open(self) -> None:
        # one serial sequence per process: several crawls of one command never share a file name
        self._serial = next(_SERIALS)
        self._name = warc_filename(self.prefix, self._serial, self.now())
        path = self.storage.local_path(self.key + ".open")
        # unbuffered: after a failed write (disk full) nothing waits in a buffer, the file is cut back
        fh = open(path, "wb", buffering=0)
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # repair skips files that are in use
        info = warcinfo_record(self._name, warc_date(self.now()), self.make_id(), self.warcinfo)
        try:
            self._offset = _write_all(fh, gzip_member(info, self.gzip_level))
        except BaseException:
            fh.close()
            path.unlink(missing_ok=True)  # no empty .open file per failed attempt
            raise
        self._fh = fh
        logger.info("Opened WARC file %s", self.storage.display(self.key + ".open"))
        if self.on_file:
            self.on_file("opened", self.key)

    def write(self, records: Sequence[Record]) -> list[tuple[str, int, int]]:
        """Write a group of records to one file; returns ``(key, offset, length)`` for each."""
        members = [gzip_member(record, self._level(record)) for record in records]  # may raise: nothing written
        if self._fh is None:
            self._open()
        start, out = self._offset, []
        for member in members:
            out.append((self.key, start + sum(length for _, _, length in out), len(member)))
        try:
            if sum(map(len, members)) < _SLICE:
                _write_all(self._fh, b"".join(members))  # one write per group
            else:
                for member in members:
                    _write_all(self._fh, member)
        except BaseException:
            self._rewind(start)
            raise
        self._offset = start + sum(map(len, members))
        if self._offset >= self.max_size:
            self.close_file()
        return out

    def _level(self, record: Record) -> int:
        """The gzip level; 0 (stored) for a payload that is already compressed, unless ``recompress``.

        Deflating gzip or brotli bytes again saves nothing and costs the most CPU per byte of all
        the archive's work (about 35 MB/s at level 6, against 300 MB/s when stored).
        """
        return 0 if record.precompressed and not self.recompress else self.gzip_level

    def _rewind(self, offset: int) -> None:
        """After a failed write, cut the partial group so the file keeps whole records only."""
        try:
            self._fh.flush()
        except OSError:
            pass
        try:
            self._fh.truncate(offset)
            self._fh.seek(offset)
            self._offset = offset
        except OSError:
            logger.error("Cannot truncate %s after a failed write; abandoning it for repair",
                         self.key, exc_info=True)
            self._fh = None

    def close_file(self) -> None:
        """Close the current file: flush, fsync, rename to the final name, commit in background."""
        if self._fh is None:
            return
        fh, key, self._fh = self._fh, self.key, None
        fh.flush()
        os.fsync(fh.fileno())
        final = self.storage.local_path(key)
        os.replace(self.storage.local_path(key + ".open"), final)
        fh.close()
        self.files.append(key)
        logger.info("Closed WARC file %s (%d bytes)", self.storage.display(key), self._offset)
        self._pending.append(self._commits.submit(self.storage.commit, key))
        if self.on_file:
            self.on_file("closed", key)

    def close(self) -> list[BaseException]:
        """Close the file and wait for every commit; returns the commit errors (already logged)."""
        self.close_file()
        self._commits.shutdown(wait=True)
        errors = []
        for fut in self._pending:
            if (exc := fut.exception()) is not None:
                logger.error("Could not commit a WARC file: %s", exc, exc_info=exc)
                errors.append(exc)
        return errors
