"""Close out ``.open`` WARC files left by a crashed run: keep whole records, drop the tail.

Each gzip member must decompress completely and hold exactly one complete WARC record (header,
``Content-Length`` bytes of block, matching ``WARC-Block-Digest``, closing CRLFs). The file is
truncated after the last good member and renamed to its final name. Files locked by a live
writer (``flock``) are left alone, so two runs sharing an output directory are safe.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import zlib
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

_READ = 1 << 16
_MAX_HEAD = 1 << 20


class _RecordCheck:
    """Incremental check of one decompressed WARC record."""

    def __init__(self) -> None:
        self.head = b""
        self.length: int | None = None
        self.seen = 0
        self.tail = b""
        self.sha1 = hashlib.sha1()
        self.digest: str | None = None
        self.ok = True
        self.type = ""

    def feed(self, data: bytes) -> None:
        if not self.ok:
            return
        if self.length is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                self.ok = len(self.head) < _MAX_HEAD
                return
            head, data = self.head[:end], self.head[end + 4:]
            self.head = head
            self.ok = self._parse_head(head)
            if not self.ok:
                return
        block_left = max(self.length - self.seen, 0)
        if block_left:
            self.sha1.update(data[:block_left])
        self.seen += len(data)
        if len(data) > block_left:
            self.tail = (self.tail + data[block_left:])[-8:]

    def _parse_head(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        if not lines[0].startswith(b"WARC/1."):
            return False
        fields = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                return False
            fields[name.strip().lower()] = value.strip()
        try:
            self.length = int(fields[b"content-length"])
        except (KeyError, ValueError):
            return False
        digest = fields.get(b"warc-block-digest", b"").decode("ascii", "replace")
        self.digest = digest if digest.lower().startswith("sha1:") else None
        self.type = fields.get(b"warc-type", b"").decode("ascii", "replace")
        return True

    def complete(self) -> bool:
        if not self.ok or self.length is None or self.seen != self.length + 4 or self.tail[-4:] != b"\r\n\r\n":
            return False
        if self.digest:
            got = base64.b32encode(self.sha1.digest()).decode("ascii")
            return got == self.digest[5:].upper()
        return True


def whole_records_end(fh: IO[bytes]) -> tuple[int, int]:
    """``(end offset, count)`` of the whole records at the start of a per-record gzip WARC.

    A trailing response or revisit whose request record did not make it is dropped too: our
    writer always writes the response and then its request, flushed together.
    """
    ends: list[tuple[int, str]] = []
    offset = 0
    dec, check = zlib.decompressobj(31), _RecordCheck()
    fh.seek(0)
    while data := fh.read(_READ):
        while data:
            try:
                out = dec.decompress(data)
            except zlib.error:
                return _drop_orphan(ends)
            check.feed(out)
            if not dec.eof:
                offset += len(data)
                break
            offset += len(data) - len(dec.unused_data)
            if not check.complete():
                return _drop_orphan(ends)
            ends.append((offset, check.type))
            data = dec.unused_data
            dec, check = zlib.decompressobj(31), _RecordCheck()
    return _drop_orphan(ends)


def _drop_orphan(ends: list[tuple[int, str]]) -> tuple[int, int]:
    if ends and ends[-1][1] in ("response", "revisit"):
        ends.pop()
    return (ends[-1][0], len(ends)) if ends else (0, 0)


def repair_file(path: Path) -> Path | None:
    """Repair one ``NAME.open`` file into ``NAME``; None when it is in use or had no whole record."""
    path = Path(path)
    with open(path, "r+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("Skipping %s: a running crawl is writing it", path)
            return None
        end, count = whole_records_end(fh)
        size = os.fstat(fh.fileno()).st_size
        if count == 0:
            fh.close()
            path.unlink()
            logger.warning("Removed %s: no whole WARC record in it (%d bytes)", path, size)
            return None
        if end < size:
            fh.truncate(end)
            logger.warning("Truncated %s from %d to %d bytes (last whole record)", path, size, end)
        fh.flush()
        os.fsync(fh.fileno())
        final = path.with_name(path.name[: -len(".open")])
        os.replace(path, final)
    logger.info("Repaired WARC file %s (%d records)", final, count)
    return final


def repair_open_files(directory: str | os.PathLike) -> list[Path]:
    """Close out every ``*.warc.gz.open`` file in ``directory``; returns the repaired final paths."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    repaired = []
    for path in sorted(directory.glob("*.warc.gz.open")):
        if (final := repair_file(path)) is not None:
            repaired.append(final)
    return repaired
