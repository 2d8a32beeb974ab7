"""The byte layer of the archive reader: raw file bytes with absolute offsets, and decoded streams.

Why here and not in a library: the reader must know the raw offset and compressed length of
every gzip member, look back after damage, and never hold more than a bounded window of the
file. zlib decompresses one member at a time; :class:`Plain` and :class:`Member` give the record
parser (:mod:`crawler.warcread`) the same small interface over either. A ``tap`` (hash objects)
sees every byte consumed, so block and payload digests cost nothing when nobody asks for them.
"""

from __future__ import annotations

import re
import zlib
from typing import Any, BinaryIO

CHUNK = 256 * 1024
GZIP_MAGIC = b"\x1f\x8b\x08"
RETAIN = 4 * 1024 * 1024  # raw bytes kept behind the cursor so a resync can look back
_BLOCK_END = re.compile(rb"\n\r*\n")  # the blank line ending a header block (CRLF, LF, CR CR LF)
_NO_HEADERS = re.compile(rb"\r*\n")


class Damage(Exception):
    """A framing problem at ``offset``; the reader reports it and resyncs."""

    def __init__(self, offset: int, message: str):
        super().__init__(message)
        self.offset, self.message = offset, message


class Raw:
    """The raw file bytes with absolute offsets; keeps a bounded window behind the cursor."""

    def __init__(self, stream: BinaryIO, base: int = 0):
        self.stream = stream  # positioned at offset ``base`` of the file
        self.buf = bytearray()
        self.start = base  # absolute offset of buf[0]
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
        """Bytes before ``pos - RETAIN`` are no longer needed."""
        drop = pos - RETAIN - self.start
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
            self.release(pos + RETAIN)
            if not self.fill():
                return -1


class Reader:
    """A byte stream with readline/read/skip/peek over decoded data; ``pos`` counts decoded bytes."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.pos = 0  # decoded bytes consumed
        self.tap: list[Any] = []  # hash objects fed with every byte consumed

    def _more(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def _take(self, n: int) -> bytes:
        data = bytes(self.out[:n])
        del self.out[:n]
        self.pos += n
        for h in self.tap:
            h.update(data)
        return data

    def readline(self, limit: int) -> bytes:
        while True:
            i = self.out.find(b"\n", 0, limit)
            if i >= 0 or len(self.out) >= limit or not self._more():
                return self._take(i + 1 if i >= 0 else min(len(self.out), limit))

    def read_block(self, limit: int) -> bytes | None:
        """Header lines up to and including the blank line ending them, or None (nothing consumed).

        One search per block instead of a ``readline`` per header line: headers are most of the
        reader's work. None when the block does not end within ``limit`` bytes (or the data):
        the caller then reads line by line to say what is wrong.
        """
        scan = 0
        while True:
            out = self.out
            if (m := _NO_HEADERS.match(out)) is not None:  # no header lines at all
                n = m.end()
                break
            m = _BLOCK_END.search(out, scan, limit)
            if m is not None:
                n = m.end()
                break
            scan = max(0, len(out) - 8)  # a terminator may straddle the old end (before _more() grows out)
            if len(out) >= limit or not self._more():
                return None
        return self._take(n)

    def peek(self, size: int) -> bytes:
        while len(self.out) < size and self._more():
            pass
        return bytes(self.out[:size])

    def read(self, size: int) -> bytes:
        while len(self.out) < size and self._more():
            pass
        return self._take(min(size, len(self.out)))

    def skip(self, size: int) -> int:
        done = 0
        while done < size:
            if not self.out and not self._more():
                break
            n = min(size - done, len(self.out))
            if self.tap:
                self._take(n)
                self.pos -= n
            else:
                del self.out[:n]
            done += n
        self.pos += done
        return done

    def at_end(self) -> bool:
        return not self.out and not self._more()


class Plain(Reader):
    """An uncompressed file: decoded offsets are file offsets."""

    def __init__(self, raw: Raw, pos: int):
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


class Member(Reader):
    """The decompressed bytes of one gzip member starting at raw offset ``start``."""

    def __init__(self, raw: Raw, start: int):
        super().__init__()
        self.raw, self.start, self.cursor = raw, start, start
        self.zobj = zlib.decompressobj(31)
        self.done = False
        if raw.view(start, 3) != GZIP_MAGIC:
            raise Damage(start, "not a gzip member (garbage between records?)")

    def _more(self) -> bool:
        while not self.done:
            # most members are a few KiB: a small first view saves copying 64 KiB per record
            data = self.zobj.unconsumed_tail or self.raw.view(self.cursor, 8192 if self.cursor == self.start
                                                              else 64 * 1024)
            fresh = not self.zobj.unconsumed_tail
            if not data:
                raise Damage(self.start, "truncated gzip member (file ends inside it)")
            try:
                out = self.zobj.decompress(data, CHUNK)
            except zlib.error as exc:
                raise Damage(self.start, f"corrupt gzip member ({exc})") from None
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

    def finish(self) -> int:
        """Read to the end of the member; returns the raw offset just after it."""
        while self._more():
            self.out.clear()
        self.out.clear()
        return self.cursor
