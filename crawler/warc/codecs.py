"""HTTP payload decoding of archived bodies: de-chunking and Content-Encoding, within a size limit."""

from __future__ import annotations

import zlib

import brotli

__all__ = ["DecodeError", "dechunk", "decode_content"]


class DecodeError(Exception):
    """The stored body cannot be decoded (bad chunking is tolerated; bad compression is not)."""


def dechunk(body: bytes) -> bytes:
    """Undo ``Transfer-Encoding: chunked``; a body that does not parse as chunks is returned as is."""
    out, pos = [], 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return body if not out else b"".join(out)
        size_text = body[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return body if not out else b"".join(out)
        if size == 0:
            return b"".join(out)
        start = eol + 2
        out.append(body[start:start + size])
        pos = start + size + 2
        if start + size > len(body):  # truncated last chunk: keep what is there
            return b"".join(out)


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    zobj = zlib.decompressobj(wbits)
    out = zobj.decompress(data, limit + 1)
    while zobj.eof and zobj.unused_data.startswith(b"\x1f\x8b") and wbits > 16 and len(out) <= limit:
        rest = zobj.unused_data  # concatenated gzip members
        zobj = zlib.decompressobj(wbits)
        out += zobj.decompress(rest, limit + 1 - len(out))
    if len(out) > limit:
        raise DecodeError("too_large")
    return out


def decode_content(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate, br, identity; stacked ones last-first), at most ``limit`` bytes."""
    for coding in reversed([c.strip().lower() for c in (encoding or "").split(",") if c.strip()]):
        try:
            if coding in ("gzip", "x-gzip"):
                body = _inflate(body, 16 + zlib.MAX_WBITS, limit)
            elif coding == "deflate":
                try:
                    body = _inflate(body, zlib.MAX_WBITS, limit)
                except zlib.error:  # raw deflate without the zlib header (old IIS)
                    body = _inflate(body, -zlib.MAX_WBITS, limit)
            elif coding == "br":
                body = brotli.decompress(body)
                if len(body) > limit:
                    raise DecodeError("too_large")
            elif coding != "identity":
                raise DecodeError("unknown_encoding")
        except (zlib.error, brotli.error) as exc:
            raise DecodeError("bad_encoding") from exc
    return body
