"""The fast path of the reader: FastWARC parses clean stretches of a local WARC file, the project's
reader (:mod:`crawler.warc.reader`) takes over at the first sign of trouble.

Why both: FastWARC parses several times faster than the Python reader, but it stops at damage
with an exception that does not say where, and it yields a cut-off last record without a word.
So every record FastWARC gives is held back until the next one shows that it ended where it
should: in a gzip file the next record must start a gzip member right there (so a member
holding several records, as in whole-file gzip, is never taken from FastWARC); in a plain file
the bytes between the block and the next record must be line breaks only. The last record is
always read again by the Python reader, which knows whether it is whole. On any doubt or error,
the held record is dropped and the Python reader reads the rest of the file from its offset, with
its own damage reports and resync. Records are therefore the same, field for field, whichever
reader produced them; only the speed differs.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from crawler.warc.stream import GZIP_MAGIC

try:  # a dependency; its absence only costs speed
    from fastwarc.warc import ArchiveIterator as _FastIterator
except ImportError:  # pragma: no cover
    _FastIterator = None

HEAD_PROBE = 64 * 1024  # bytes read at a plain record's offset to find where its header ends
_NO_PAYLOAD_DIGEST = ("warcinfo", "revisit")


def usable(stream: Any) -> bool:
    """Whether ``stream`` is a local, seekable file FastWARC can take (offsets are checked with pread)."""
    if _FastIterator is None:
        return False
    try:
        return stream.seekable() and stream.tell() == 0 and os.fstat(stream.fileno()).st_size > 0
    except (AttributeError, OSError, ValueError):
        return False


class _Held:
    """A record converted from FastWARC, waiting for the next one to confirm where it ends."""

    __slots__ = ("rec", "content_length", "header_size")

    def __init__(self, rec: Any, content_length: int, header_size: int):
        self.rec, self.content_length, self.header_size = rec, content_length, header_size


def iter_fast(stream: BinaryIO, gz: bool, convert: Callable[[Any], Any],
              rest: Callable[[int], Iterator[Any]]) -> Iterator[Any]:
    """Records of ``stream`` via FastWARC; ``rest(offset)`` yields the Python reader's items from ``offset``.

    ``convert(fastwarc_record)`` makes a :class:`~crawler.warc.reader.WarcRecord` (reading the body
    it wants before the iterator moves on).
    """
    fd = stream.fileno()
    size = os.fstat(fd).st_size
    held: _Held | None = None
    resume = 0
    try:
        for record in _FastIterator(stream, parse_http=False):
            pos = record.stream_pos
            if held is not None:
                if not _ends_at(fd, held, pos, gz, size):
                    break
                yield held.rec
                resume = pos
                held = None
            length = record.content_length  # before convert: parsing the HTTP head changes it
            held = _Held(convert(record), length, _header_size(record))
            resume = pos
    except (OSError, ValueError):
        pass  # damage, or something FastWARC does not read (ARC): the Python reader says what
    # the held record (if any), the last one and whatever FastWARC could not read: the Python reader
    stream.seek(resume)
    yield from rest(resume)


def _ends_at(fd: int, held: _Held, pos: int, gz: bool, size: int) -> bool:
    """Whether the held record ends exactly where the next one starts at ``pos`` (and set its length)."""
    rec = held.rec
    if pos <= rec.offset or pos >= size:
        return False
    if gz:
        if os.pread(fd, 3, pos) != GZIP_MAGIC:
            return False
        # the member must hold exactly this header, block and CRLF CRLF: its size (the gzip trailer's
        # ISIZE, mod 2**32) says so. FastWARC reads a block on across members, and drops header lines
        # it cannot parse; a header written in another shape than "Name: value" CRLF goes to the
        # Python reader too, which judges it
        isize = int.from_bytes(os.pread(fd, 4, pos - 4), "little")
        if isize != (held.header_size + held.content_length + 4) % (1 << 32):
            return False
        rec.length = pos - rec.offset
        return True
    head = os.pread(fd, min(4096, pos - rec.offset), rec.offset)
    end = head.find(b"\r\n\r\n")
    if end < 0:
        head = os.pread(fd, min(HEAD_PROBE, pos - rec.offset), rec.offset)
        end = head.find(b"\r\n\r\n")
    if end < 0 or end + 4 != held.header_size:
        return False  # a header in another shape (or one FastWARC dropped lines of): the Python reader judges it
    block_end = rec.offset + end + 4 + held.content_length
    between = os.pread(fd, pos - block_end, block_end) if pos > block_end else b""
    if pos < block_end or between.strip(b"\r\n") or not between:
        return False
    rec.length = block_end - rec.offset
    return True


def _header_size(record: Any) -> int:
    """The bytes of the record's header block if it was written as ``Name: value`` CRLF lines."""
    headers = record.headers
    size = len(headers.status_line) + 4  # the version line's CRLF and the blank line
    for name, value in headers.items():
        size += len(name) + len(value.encode("utf-8")) + 4
    return size


def converter(source: str, want: Callable[[Any], bool], max_body: int, digests: bool,
              make: Callable[..., Any]) -> Callable[[Any], Any]:
    """A function turning a FastWARC record into ours, built once per file."""

    def convert(record: Any) -> Any:
        headers: dict[str, str] = {}
        for name, value in record.headers.items():
            headers.setdefault(name.lower(), value)
        rec = make(source, record.stream_pos, None, headers)
        if record.is_http and rec.type in ("response", "revisit"):  # as the Python reader: only these
            record.parse_http()
            http = record.http_headers
            try:
                rec.http_status = int(http.status_code)
            except (TypeError, ValueError):  # an odd status line: the Python reader decides what it is
                raise ValueError("HTTP head FastWARC does not parse") from None
            rec.http_raw = True
            rec.http_headers = list(http.items())
        payload_hash = None
        if digests and rec.type not in _NO_PAYLOAD_DIGEST and not headers.get("warc-payload-digest"):
            payload_hash = hashlib.sha1()
        if want(rec):
            data = record.reader.read(max_body + 1)
            if payload_hash is not None:
                payload_hash.update(data)
            rec.body, rec.body_truncated = data[:max_body], len(data) > max_body
        if payload_hash is not None:
            while chunk := record.reader.read(1 << 16):
                payload_hash.update(chunk)
            rec.computed_digest = "sha1:" + base64.b32encode(payload_hash.digest()).decode("ascii")
        return rec

    return convert
