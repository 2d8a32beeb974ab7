"""HTTP payload decoding of archived bodies: de-chunking and Content-Encoding, within a size limit.

The bytes win over the headers: some archives store a body that is already decoded under its
original ``Content-Encoding: gzip`` header (wabac.js exports, some research corpora). Refusing
such a page loses every page of the file; warcio falls back to the raw bytes, and so does
:func:`decode_payload`, which says so (``mismatch``) so that the caller can count it.
"""

from __future__ import annotations

import zlib

import brotli

__all__ = ["DecodeError", "dechunk", "decode_content", "decode_payload", "looks_decoded"]

GZIP_MAGIC = b"\x1f\x8b"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


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


def looks_decoded(body: bytes) -> bool:
    """Whether ``body`` reads as text (markup, a BOM, no control bytes), not as compressed data."""
    if body.startswith(GZIP_MAGIC):
        return False
    head = body[:512].lstrip()
    if head.startswith((b"<", *_BOMS)) or not head:
        return True
    return not any(b < 9 or 13 < b < 32 or b == 127 for b in head)


def decode_payload(body: bytes, encoding: str | None, limit: int) -> tuple[bytes, bool]:
    """``(decoded body, mismatch)``: as :func:`decode_content`, but a body that does not decode and
    already reads as text is returned as it is, with ``mismatch`` True.

    Raises :class:`DecodeError` for what cannot be used either way: damaged compressed data
    (``bad_encoding``), an unknown coding on a body that is not text (``unknown_encoding``), a
    body over ``limit`` (``too_large``).
    """
    try:
        return decode_content(body, encoding, limit), False
    except DecodeError as exc:
        if str(exc) == "too_large" or not looks_decoded(body):
            raise
        if len(body) > limit:
            raise DecodeError("too_large") from None
        return body, True
