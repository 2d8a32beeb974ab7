"""Header blocks of WARC records and of the HTTP messages they hold: ``Name: value`` pairs.

A whole block is matched at once in C (:data:`_FIELD`, one match per line); only a block that
does not fit (a continuation line, a line without a name, a block with no end) is read line by
line, and a WARC header line without a name is damage with its offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from crawler.warc.stream import Damage, Reader

__all__ = ["MAX_HEADER_BYTES", "parse_headers", "read_http_head"]

MAX_HEADER_BYTES = 256 * 1024  # a WARC or HTTP header block larger than this is damage
# one header line, matched in C for a whole block; a block where some line does not match (a
# continuation, a line without a name) goes through _header_pairs instead
_FIELD = re.compile(r"([^:\s][^:\r\n]*):[ \t]*([^\r\n]*)\r*\n")


def _block_lines(block: bytes, encoding: str) -> list[str]:
    """The header lines of a block from :meth:`Reader.read_block`, line ends and blank line gone."""
    lines = [line.rstrip("\r") for line in block.decode(encoding, "replace").split("\n")]
    return lines[:-2] if len(lines) >= 2 else []


def _header_pairs(lines: Iterable[str], offset: int, what: str | None = None) -> list[tuple[str, str]]:
    """``Name: value`` pairs, continuation lines folded; with ``what``, a line without a name is damage."""
    pairs: list[tuple[str, str]] = []
    for text in lines:
        if text[:1] in (" ", "\t") and pairs:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + " " + text.strip())
            continue
        name, sep, value = text.partition(":")
        if what is not None and (not sep or not name.strip()):
            raise Damage(offset, f"bad {what} header line {text[:60]!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def parse_headers(reader: Reader, offset: int, what: str) -> list[tuple[str, str]]:
    """``Name: value`` lines up to the blank line (continuation lines folded)."""
    block = reader.read_block(MAX_HEADER_BYTES)
    if block is None:  # unterminated or too long: read line by line to say which
        return _header_pairs(_damaged_block_lines(reader, offset, what), offset, what)
    text = block.decode("utf-8", "replace")
    pairs = _FIELD.findall(text)
    if len(pairs) == text.count("\n") - 1:  # one match per line: no continuation, no line without a name
        return pairs
    return _header_pairs(_block_lines(block, "utf-8"), offset, what)


def _damaged_block_lines(reader: Reader, offset: int, what: str) -> Iterator[str]:
    """A header block's lines one at a time, raising where it ends early or grows too long."""
    total = 0
    while True:
        line = reader.readline(MAX_HEADER_BYTES)
        total += len(line)
        if not line:
            raise Damage(offset, f"{what} header block ends early")
        if total > MAX_HEADER_BYTES:
            raise Damage(offset, f"{what} header block too long")
        if not line.strip(b"\r\n"):
            return
        yield line.decode("utf-8", "replace").rstrip("\r\n")


def read_http_head(reader: Reader, length: int, offset: int) -> tuple[int, list[tuple[str, str]]] | None:
    """The HTTP status and header pairs at the start of a ``length``-byte block (never read past it),
    or None when the block does not start with a status line (the caller skips the record)."""
    start = reader.pos
    line = reader.readline(min(length, 8192))
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[1].isdigit():  # as warcio: the protocol token is not checked
        return None
    status = int(parts[1])
    block = reader.read_block(min(MAX_HEADER_BYTES, length - (reader.pos - start)))
    if block is not None:
        text = block.decode("latin-1")
        pairs = _FIELD.findall(text)
        if len(pairs) == text.count("\n") - 1:  # the common case, matched in C (see _FIELD)
            return status, pairs
        lines: Iterable[str] = _block_lines(block, "latin-1")
    else:
        lines = _http_lines_within(reader, start, length)
    return status, _header_pairs(lines, offset)


def _http_lines_within(reader: Reader, start: int, length: int) -> Iterator[str]:
    """HTTP header lines with no blank line before the block's end: whatever lines there are."""
    while reader.pos - start < length:
        line = reader.readline(min(MAX_HEADER_BYTES, length - (reader.pos - start)))
        if not line or not line.strip(b"\r\n"):
            return
        yield line.decode("latin-1").rstrip("\r\n")
