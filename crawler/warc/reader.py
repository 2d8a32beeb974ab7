"""A streaming WARC reader that survives damaged files and says where the damage is.

Why not warcio or FastWARC alone: replay must report a truncated gzip member, garbage between
records or a wrong ``Content-Length`` with the file and offset, then carry on with the next
record. Both libraries either stop or skip silently. This reader is small: zlib does the
decompression (one member at a time, so every record has the offset and compressed length of
its member), the record framing is parsed here, and nothing is read whole: blocks are skipped
or read up to ``max_body`` bytes. Resync after damage: the next gzip member (``1f 8b 08``) in
``.warc.gz`` files, the next ``WARC/1.`` line in plain files.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

logger = logging.getLogger(__name__)

__all__ = ["Corrupt", "WarcRecord", "iter_records"]

CHUNK = 256 * 1024
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/"
MAX_HEADER_BYTES = 256 * 1024  # a WARC or HTTP header block larger than this is damage
_RETAIN = 4 * 1024 * 1024  # raw bytes kept behind the cursor so a resync can look back


@dataclass
class Corrupt:
    """Damage found in a source: where, and what (one line)."""

    source: str
    offset: int
    message: str


@dataclass
class WarcRecord:
    """One complete, well-framed record; ``body`` is filled only when the caller asked for it."""

    source: str
    offset: int
    length: int | None  # bytes in the file (the gzip member); None when a member holds several records
    headers: dict[str, str]  # WARC headers, lower-case names, first value wins
    http_status: int | None = None
    http_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None  # HTTP payload as stored (still transfer- and content-encoded)
    body_truncated: bool = False  # longer than max_body: only the start is in ``body``
    note: str | None = None  # the caller's verdict from ``want`` (e.g. why the body was not read)

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "")

    @property
    def target_uri(self) -> str:
        return self.headers.get("warc-target-uri", "").strip("<>")

    @property
    def record_id(self) -> str:
        return self.headers.get("warc-record-id", "")

    @property
    def date(self) -> str:
        return self.headers.get("warc-date", "")

    def http_header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.http_headers:
            if key.lower() == name:
                return value
        return None


class _Damage(Exception):
    """A framing problem at ``offset``; the reader reports it and resyncs."""

    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset, self.message = offset, message


class _Raw:
    """The raw file bytes with absolute offsets; keeps a bounded window behind the cursor."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.buf = bytearray()
        self.start = 0  # absolute offset of buf[0]
        self.eof = False

    @property
    def end(self) -> int:
        return self.start + len(self.buf)

    def fill(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(CHUNK)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def view(self, pos: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``pos`` (reads more when needed; b"" at end of file)."""
        while self.end - pos < size and self.fill():
            pass
        return bytes(self.buf[pos - self.start:pos - self.start + size])

    def release(self, pos: int) -> None:
        """Bytes before ``pos - _RETAIN`` are no longer needed."""
        drop = pos - _RETAIN - self.start
        if drop > CHUNK:
            del self.buf[:drop]
            self.start += drop

    def find(self, pattern: bytes, pos: int) -> int:
        """Absolute offset of the next ``pattern`` at or after ``pos``, or -1 at end of file."""
        pos = max(pos, self.start)
        while True:
            i = self.buf.find(pattern, pos - self.start)
            if i >= 0:
                return self.start + i
            pos = max(pos, self.end - len(pattern) + 1)
            self.release(pos + _RETAIN)
            if not self.fill():
                return -1


class _Reader:
    """A byte stream with readline/read/skip over decoded data; ``pos`` counts decoded bytes."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.pos = 0  # decoded bytes consumed

    def _more(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def readline(self, limit: int) -> bytes:
        while True:
            i = self.out.find(b"\n", 0, limit)
            if i >= 0 or len(self.out) >= limit or not self._more():
                n = i + 1 if i >= 0 else min(len(self.out), limit)
                line = bytes(self.out[:n])
                del self.out[:n]
                self.pos += n
                return line

    def read_block(self, limit: int) -> bytes | None:
        """Header lines up to and including the blank line ending them, or None (nothing consumed).

        One search per block instead of a ``readline`` per header line: headers are most of the
        reader's work. None when the block does not end within ``limit`` bytes (or the data):
        the caller then reads line by line to say what is wrong.
        """
        scan = 0
        while True:
            out = self.out
            if out[:1] == b"\n" or out[:2] == b"\r\n":  # no header lines at all
                n = 1 if out[:1] == b"\n" else 2
                break
            crlf = out.find(b"\n\r\n", scan, limit)
            lf = out.find(b"\n\n", scan, crlf + 1 if crlf >= 0 else limit)  # only an earlier one matters
            if crlf >= 0 or lf >= 0:
                n = min(i + size for i, size in ((crlf, 3), (lf, 2)) if i >= 0)
                break
            if len(out) >= limit or not self._more():
                return None
            scan = max(0, len(out) - 2)  # a terminator may straddle the old end
        block = bytes(self.out[:n])
        del self.out[:n]
        self.pos += n
        return block

    def read(self, size: int) -> bytes:
        while len(self.out) < size and self._more():
            pass
        data = bytes(self.out[:size])
        del self.out[:size]
        self.pos += len(data)
        return data

    def skip(self, size: int) -> int:
        done = 0
        while done < size:
            if not self.out and not self._more():
                break
            n = min(size - done, len(self.out))
            del self.out[:n]
            done += n
        self.pos += done
        return done

    def at_end(self) -> bool:
        return not self.out and not self._more()


class _Plain(_Reader):
    """An uncompressed WARC: decoded offsets are file offsets."""

    def __init__(self, raw: _Raw, pos: int):
        super().__init__()
        self.raw, self.pos, self.cursor = raw, pos, pos

    def _more(self) -> bool:
        data = self.raw.view(self.cursor, CHUNK)
        if not data:
            return False
        self.cursor += len(data)
        self.out += data
        self.raw.release(self.cursor)
        return True


class _Member(_Reader):
    """The decompressed bytes of one gzip member starting at raw offset ``start``."""

    def __init__(self, raw: _Raw, start: int):
        super().__init__()
        self.raw, self.start, self.cursor = raw, start, start
        self.zobj = zlib.decompressobj(31)
        self.done = False
        if raw.view(start, 3) != GZIP_MAGIC:
            raise _Damage(start, "not a gzip member (garbage between records?)")

    def _more(self) -> bool:
        while not self.done:
            # most members are a few KiB: a small first view saves copying 64 KiB per record
            data = self.zobj.unconsumed_tail or self.raw.view(self.cursor, 8192 if self.cursor == self.start
                                                              else 64 * 1024)
            fresh = not self.zobj.unconsumed_tail
            if not data:
                raise _Damage(self.start, "truncated gzip member (file ends inside it)")
            try:
                out = self.zobj.decompress(data, CHUNK)
            except zlib.error as exc:
                raise _Damage(self.start, f"corrupt gzip member ({exc})") from None
            if fresh:
                self.cursor += len(data)
            if self.zobj.eof:
                self.done = True
                self.cursor -= len(self.zobj.unused_data)
            self.raw.release(self.cursor)
            if out:
                self.out += out
                return True
        return False

    def rest_is_blank(self) -> bool:
        """Whether only line breaks are left in this member (reads on to its end to know)."""
        while True:
            if self.out.strip(b"\r\n"):
                return False
            self.out.clear()
            if not self._more():
                return True

    def finish(self) -> int:
        """Read to the end of the member; returns the raw offset just after it."""
        while self._more():
            self.out.clear()
        return self.cursor


def _block_lines(block: bytes, encoding: str) -> list[str]:
    """The header lines of a block from :meth:`_Reader.read_block`, line ends and blank line gone."""
    return [line.rstrip("\r") for line in block.decode(encoding, "replace").split("\n")[:-2]]


def _header_pairs(lines: Iterable[str], offset: int, what: str | None = None) -> list[tuple[str, str]]:
    """``Name: value`` pairs, continuation lines folded; with ``what``, a line without a name is damage."""
    pairs: list[tuple[str, str]] = []
    for text in lines:
        if text[:1] in (" ", "\t") and pairs:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + " " + text.strip())
            continue
        name, sep, value = text.partition(":")
        if what is not None and (not sep or not name.strip()):
            raise _Damage(offset, f"bad {what} header line {text[:60]!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _parse_headers(reader: _Reader, offset: int, what: str) -> list[tuple[str, str]]:
    """``Name: value`` lines up to the blank line (continuation lines folded)."""
    block = reader.read_block(MAX_HEADER_BYTES)
    if block is None:  # unterminated or too long: read line by line to say which
        return _header_pairs(_damaged_block_lines(reader, offset, what), offset, what)
    return _header_pairs(_block_lines(block, "utf-8"), offset, what)


def _damaged_block_lines(reader: _Reader, offset: int, what: str) -> Iterator[str]:
    """A header block's lines one at a time, raising where it ends early or grows too long."""
    total = 0
    while True:
        line = reader.readline(MAX_HEADER_BYTES)
        total += len(line)
        if not line:
            raise _Damage(offset, f"{what} header block ends early")
        if total > MAX_HEADER_BYTES:
            raise _Damage(offset, f"{what} header block too long")
        if line in (b"\r\n", b"\n"):
            return
        yield line.decode("utf-8", "replace").rstrip("\r\n")


Want = Callable[[WarcRecord], bool]


def _read_record(reader: _Reader, source: str, member: int | None, want: Want, max_body: int) -> WarcRecord | None:
    """One record from ``reader`` (None at a clean end); raises _Damage on bad framing.

    The record's offset is its gzip member's (``member``) or, in a plain file, its first line's.
    """
    line = b"\r\n"
    while line in (b"\r\n", b"\n"):  # tolerate extra blank lines between records
        line = reader.readline(64)
    if not line:
        return None
    offset = member if member is not None else reader.pos - len(line)
    if not line.startswith(WARC_MAGIC):
        raise _Damage(offset, "not a WARC record header" + (" (not a WARC file?)" if offset == 0 else ""))
    headers: dict[str, str] = {}
    for name, value in _parse_headers(reader, offset, "WARC"):
        headers.setdefault(name.lower(), value)
    try:
        length = int(headers.get("content-length", ""))
        if length < 0:
            raise ValueError
    except ValueError:
        raise _Damage(offset, "missing or bad Content-Length") from None
    rec = WarcRecord(source, offset, None, headers)
    start = reader.pos
    if rec.type in ("response", "revisit") and headers.get("content-type", "").startswith("application/http"):
        _read_http_head(reader, rec, length)
    left = length - (reader.pos - start)
    if left < 0:
        raise _Damage(offset, f"wrong Content-Length {length} (shorter than the HTTP headers)")
    if want(rec):
        keep = min(left, max_body)
        rec.body = reader.read(keep)
        rec.body_truncated = keep < left
        got = len(rec.body) + reader.skip(left - keep)
    else:
        got = reader.skip(left)
    if got < left:
        raise _Damage(offset, f"record ends early: Content-Length {length}, {length - left + got} bytes present")
    if reader.read(4) != b"\r\n\r\n":
        raise _Damage(offset, f"wrong Content-Length {length} (record not followed by CRLF CRLF)")
    return rec


def _read_http_head(reader: _Reader, rec: WarcRecord, length: int) -> None:
    """Parse the HTTP status line and headers at the start of the block (never past it)."""
    start = reader.pos
    line = reader.readline(min(length, 8192))
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return  # http_status stays None: the caller skips the record
    rec.http_status = int(parts[1])
    block = reader.read_block(min(MAX_HEADER_BYTES, length - (reader.pos - start)))
    lines = _block_lines(block, "latin-1") if block is not None else _http_lines_within(reader, start, length)
    rec.http_headers = _header_pairs(lines, rec.offset)


def _http_lines_within(reader: _Reader, start: int, length: int) -> Iterator[str]:
    """HTTP header lines with no blank line before the block's end: whatever lines there are."""
    while reader.pos - start < length:
        line = reader.readline(min(MAX_HEADER_BYTES, length - (reader.pos - start)))
        if not line or line in (b"\r\n", b"\n"):
            return
        yield line.decode("latin-1").rstrip("\r\n")


def iter_records(stream: BinaryIO, source: str, *, want: Want = lambda rec: False,
                 max_body: int = 50 * 1024 * 1024, gzip: bool | None = None) -> Iterator[WarcRecord | Corrupt]:
    """Records of a WARC stream (gzip per record, whole-file gzip or plain), in file order.

    Damage yields a :class:`Corrupt` and reading goes on at the next record. ``want(record)`` is
    called once the WARC and HTTP headers are parsed; when it returns True the payload is read
    into ``record.body`` (at most ``max_body`` bytes), otherwise it is skipped, never kept.
    ``gzip``: None = sniff the first bytes (pass True for ``.gz`` names so that a damaged first
    member still resyncs as gzip).
    """
    raw = _Raw(stream)
    head = raw.view(0, 3)
    if not head:
        return
    if gzip or (gzip is None and head == GZIP_MAGIC):
        yield from _iter_gzip(raw, source, want, max_body)
    else:
        yield from _iter_plain(raw, source, want, max_body)


def _iter_gzip(raw: _Raw, source: str, want: Want, max_body: int) -> Iterator[WarcRecord | Corrupt]:
    pos = 0
    while raw.view(pos, 1):
        try:
            member = _Member(raw, pos)
            multi = False
            while (rec := _read_record(member, source, pos, want, max_body)) is not None:
                if member.rest_is_blank():
                    rec.length = None if multi else member.cursor - pos
                    yield rec
                    break
                multi = True  # several records in one member (whole-file gzip): no seekable length
                yield rec
            pos = member.finish()
        except _Damage as exc:
            yield Corrupt(source, exc.offset, exc.message)
            pos = raw.find(GZIP_MAGIC, exc.offset + 1)
            if pos < 0:
                return


def _iter_plain(raw: _Raw, source: str, want: Want, max_body: int) -> Iterator[WarcRecord | Corrupt]:
    reader = _Plain(raw, 0)
    while True:
        try:
            rec = _read_record(reader, source, None, want, max_body)
        except _Damage as exc:
            yield Corrupt(source, exc.offset, exc.message)
            # resync at the next "WARC/1." line after the damage (looking back a few MiB at most)
            nxt = raw.find(b"\nWARC/1.", exc.offset)
            if nxt < 0:
                return
            reader = _Plain(raw, nxt + 1)
            continue
        if rec is None:
            return
        rec.length = reader.pos - rec.offset
        yield rec
