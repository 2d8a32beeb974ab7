"""HTTP bodies: de-chunking and Content-Encoding, with a limit on the decoded bytes.

The crawl (``crawl.middlewares.DecodingMiddleware``) and replay (``replay.worker``) decode with
the one function, :func:`decode_http` (every Content-Encoding header, stacked codings, the same
``NEWSWARC_ARCHIVE_MAX_DECODED`` limit), so that a replay reads the text the crawl read.

A 1 MB gzip body can inflate to 1 GiB, a 13 KB brotli body likewise, and encodings stack
(``gzip, gzip``). Every decoder here produces at most ``limit`` bytes in total, in chunks,
so memory stays bounded whatever the input: past the limit it raises
:class:`DecodedTooLarge` and the caller keeps the body as received (the crawl archives it
and skips it, replay reports it).

Brotli: pywb pulls in ``brotlipy``, whose ``brotli`` package shadows Google's ``brotli`` module
and has no bounded decompressor (nor ``process()``, which Scrapy's own decoder calls). The
decoder is chosen by what it can do: Google's module when it is the one imported and has
``output_buffer_limit`` (1.2+), else ``brotlicffi`` (a dependency: its module name clashes with
nothing).

The bytes win over the headers: some archives store a body that is already decoded under its
original ``Content-Encoding: gzip`` header (wabac.js exports, some research corpora). Refusing
such a page loses every page of the file; warcio falls back to the raw bytes, and so does
:func:`decode_payload`, which says so (``mismatch``) so that the caller can count it.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from io import BytesIO
from typing import Any

__all__ = ["BodyDecodeError", "DecodeError", "DecodedTooLarge", "accepted_encodings", "decode_body",
           "decode_content", "decode_http", "decode_payload", "dechunk", "header_values", "looks_decoded",
           "split_encodings"]

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


CHUNK = 64 * 1024
ENCODINGS = ("gzip", "x-gzip", "deflate", "br", "zstd", "identity")


class BodyDecodeError(ValueError):
    """A body cannot be decoded (corrupt stream, unknown or unavailable encoding)."""


class DecodedTooLarge(BodyDecodeError):
    """Decoding passed the limit; ``encoding`` is the step that did, ``size`` the bytes so far."""

    def __init__(self, encoding: str, size: int, limit: int):
        self.encoding, self.size, self.limit = encoding, size, limit
        super().__init__(f"{encoding} body decodes past {limit} bytes")


@lru_cache(maxsize=1)
def brotli_decompressor() -> Callable[[], Any] | None:
    """A factory of brotli decompressors with ``process(data, output_buffer_limit=)``, or None."""
    for name in ("brotli", "brotlicffi"):
        try:
            module = importlib.import_module(name)
            factory = module.Decompressor
            probe = factory()
            if not (hasattr(probe, "process") and hasattr(probe, "is_finished")):
                continue
            probe.process(b"\x3b", output_buffer_limit=CHUNK)  # an empty stream; old versions lack the limit
        except Exception:  # noqa: BLE001 - absent, shadowed or too old: try the next one
            continue
        return factory
    return None


def accepted_encodings() -> str:
    """The Accept-Encoding value this process can decode within limits (``br`` only with a bounded decoder)."""
    return "gzip, deflate, br" if brotli_decompressor() else "gzip, deflate"


def _check(encoding: str, size: int, limit: int) -> None:
    if limit and size > limit:
        raise DecodedTooLarge(encoding, size, limit)


def _zlib(data: bytes, wbits: int, encoding: str, limit: int) -> bytes:
    """Inflate, following concatenated gzip members, at most ``limit`` bytes."""
    out: list[bytes] = []
    size = 0
    while True:
        zobj = zlib.decompressobj(wbits)
        chunk = zobj.decompress(data, CHUNK)
        while True:
            size += len(chunk)
            _check(encoding, size, limit)
            out.append(chunk)
            if zobj.eof or not zobj.unconsumed_tail:
                break
            chunk = zobj.decompress(zobj.unconsumed_tail, CHUNK)
        if not zobj.eof:  # a truncated stream: keep what was decoded
            out.append(zobj.flush())
            break
        data = zobj.unused_data
        if not (wbits > 16 and data.startswith(b"\x1f\x8b")):
            break
    return b"".join(out)


def _deflate(data: bytes, limit: int) -> bytes:
    try:
        return _zlib(data, zlib.MAX_WBITS, "deflate", limit)
    except DecodedTooLarge:
        raise
    except zlib.error:  # raw deflate without the zlib header (old IIS)
        return _zlib(data, -zlib.MAX_WBITS, "deflate", limit)


def _brotli(data: bytes, limit: int) -> bytes:
    factory = brotli_decompressor()
    if factory is None:
        raise BodyDecodeError("no bounded brotli decoder is installed")
    dec = factory()
    out: list[bytes] = []
    size = 0
    chunk = dec.process(data, output_buffer_limit=CHUNK)
    while True:
        size += len(chunk)
        _check("br", size, limit)
        out.append(chunk)
        if dec.is_finished() or not chunk:
            break
        chunk = dec.process(b"", output_buffer_limit=CHUNK)
    return b"".join(out)


def _zstd(data: bytes, limit: int) -> bytes:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14
    except ImportError:
        try:
            from backports import zstd  # type: ignore[import-not-found,no-redef]  # Scrapy's dependency
        except ImportError:
            raise BodyDecodeError("no zstd decoder is installed") from None
    out: list[bytes] = []
    size = 0
    with zstd.ZstdFile(BytesIO(data)) as reader:
        while True:
            try:
                chunk = reader.read(CHUNK)
            except EOFError:  # truncated: keep what was decoded
                break
            if not chunk:
                break
            size += len(chunk)
            _check("zstd", size, limit)
            out.append(chunk)
    return b"".join(out)


def split_encodings(values: Sequence[bytes | str]) -> list[str]:
    """``Content-Encoding`` header values to the list of codings, in the order they were applied."""
    codings: list[str] = []
    for value in values:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        codings += [c.strip().lower() for c in text.split(",") if c.strip()]
    return codings


def decode_body(body: bytes, codings: Sequence[str], limit: int) -> bytes:
    """Undo ``codings`` (applied first to last) with at most ``limit`` decoded bytes at every step.

    Raises :class:`DecodedTooLarge` past the limit, :class:`BodyDecodeError` for a corrupt stream
    or an unknown coding. ``limit`` 0 means no limit (not used by the crawl).
    """
    for coding in reversed(list(codings)):
        try:
            if coding in ("gzip", "x-gzip"):
                body = _zlib(body, 16 + zlib.MAX_WBITS, coding, limit)
            elif coding == "deflate":
                body = _deflate(body, limit)
            elif coding == "br":
                body = _brotli(body, limit)
            elif coding == "zstd":
                body = _zstd(body, limit)
            elif coding != "identity":
                raise BodyDecodeError(f"unknown content encoding {coding!r}")
        except BodyDecodeError:
            raise
        except Exception as exc:  # zlib.error, brotli.error, zstd.ZstdError: a corrupt stream
            raise BodyDecodeError(f"corrupt {coding} body: {exc}") from None
    return body


def decode_http(body: bytes, values: Sequence[bytes | str], limit: int) -> tuple[bytes, list[str]]:
    """``(body, kept)``: the one reading of ``Content-Encoding``, for the crawl and for replay.

    ``values`` are every Content-Encoding header of the response (a server may send two), each a
    list of codings in the order they were applied. The known codings at the end (the last
    applied) are undone, at most ``limit`` decoded bytes at every step; ``kept`` are the ones
    before the first unknown coding from the end, left applied as Scrapy leaves them. Raises
    :class:`DecodedTooLarge` past the limit, :class:`BodyDecodeError` for a corrupt stream.
    """
    codings = split_encodings(values)
    known = len(codings)
    while known and codings[known - 1] in ENCODINGS:
        known -= 1
    return decode_body(body, codings[known:], limit), codings[:known]


def header_values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    """Every value of the header ``name`` (case-insensitive) in a list of ``(name, value)`` pairs."""
    name = name.lower()
    return [value for key, value in headers if key.lower() == name]


def decode_content(body: bytes, encoding: str | Sequence[str] | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` as :func:`decode_http` (``encoding``: one header value or all of them);
    an unknown coding is an error here. :class:`DecodeError` names the problem in a token for replay's stats."""
    values = [encoding] if isinstance(encoding, str) else list(encoding or ())
    try:
        body, kept = decode_http(body, values, limit)
    except DecodedTooLarge:
        raise DecodeError("too_large") from None
    except BodyDecodeError:
        raise DecodeError("bad_encoding") from None
    if kept:
        raise DecodeError("unknown_encoding")
    return body


def looks_decoded(body: bytes) -> bool:
    """Whether ``body`` reads as text (markup, a BOM, no control bytes), not as compressed data."""
    if body.startswith(GZIP_MAGIC):
        return False
    head = body[:512].lstrip()
    if head.startswith((b"<", *_BOMS)) or not head:
        return True
    return not any(b < 9 or 13 < b < 32 or b == 127 for b in head)


def decode_payload(body: bytes, encoding: str | Sequence[str] | None, limit: int) -> tuple[bytes, bool]:
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
