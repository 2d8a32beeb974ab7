"""Sitemaps (XML, gzip, plain text, Google News) to article and child-sitemap URLs.

Sitemaps in the wild are gzipped without saying so, carry BOMs, lose their namespaces,
break half-way, or are plain text. ``parse_sitemap`` recovers what it can and reports the
rest as ``kind="invalid"`` with a one-line reason; it never raises. The XML parser never
resolves entities nor touches the network (XXE-safe; :mod:`crawler.discovery.xmlsafe`, which
``feeds`` shares).

A sitemap may list 50,000 URLs (50 MB of XML): as one lxml tree and one list of entries that
is ~2.5 KB an entry, 120 MB at the protocol's limits. :class:`SitemapReader` reads it as a
stream instead (gzip inflated and XML parsed in 64 KiB pieces, each ``<url>`` dropped once read)
and hands out its entries in batches: what it holds is a batch, whatever the sitemap's size.
``parse_sitemap`` is the same reader, collected into one :class:`Sitemap`.
"""

from __future__ import annotations

import codecs
import gzip
import io
import itertools
import logging
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from crawler.dates import parse_date
from crawler.discovery.xmlsafe import (
    GZIP_MAGIC,
    INFLATE_CHUNK,
    MAX_DECOMPRESSED,
    XML_OPTIONS,
    BodyTooLarge,
    child,
    child_text,
    element_text,
    first_element_name,
    has_doctype,
    localname,
    one_line,
    without_doctype,
)
from crawler.urls import DigestSet, absolute_http

logger = logging.getLogger(__name__)

_PIECE = 64 * 1024  # what the streaming reader inflates and parses at a time

@dataclass(frozen=True)
class SitemapEntry:
    """One ``<url>`` (a page) or, in an index, one ``<sitemap>`` (a child sitemap)."""

    loc: str
    lastmod: datetime | None = None
    news_publication_date: datetime | None = None
    news_title: str | None = None
    news_language: str | None = None


@dataclass
class Sitemap:
    """A parsed sitemap: ``kind`` is ``urlset``, ``sitemapindex`` or ``invalid`` (see ``error``)."""

    kind: str
    entries: list[SitemapEntry] = field(default_factory=list)
    error: str | None = None
    recovered: bool = False  # broken XML, entries are what lxml could recover


def _children(el: etree._Element) -> dict[str, etree._Element]:
    """Direct children by local name (first one wins), in one pass."""
    out: dict[str, etree._Element] = {}
    for c in el:
        name = localname(c)
        if name and name not in out:
            out[name] = c
    return out


def _entry(el: etree._Element, url: str) -> SitemapEntry | None:
    parts = _children(el)
    loc = absolute_http(element_text(parts.get("loc")), url)
    if loc is None:
        return None
    pub = title = lang = None
    news = parts.get("news")
    if news is not None:
        pub = parse_date(child_text(news, "publication_date"))
        title = child_text(news, "title")
        publication = child(news, "publication")
        if publication is not None:
            lang = child_text(publication, "language")
    return SitemapEntry(
        loc=loc,
        lastmod=parse_date(element_text(parts.get("lastmod"))),
        news_publication_date=pub,
        news_title=title,
        news_language=lang,
    )


def _inflate(fileobj: io.RawIOBase | io.BytesIO, log: bool) -> Iterator[bytes]:
    """:func:`gunzip_capped` as a stream of pieces: the same cap, the same errors, the same truncation
    (read a MiB at a time like it: a corrupt stream that fails in its first MiB is refused whole)."""
    total = 0
    try:
        with gzip.GzipFile(fileobj=fileobj) as gz:
            while chunk := gz.read(INFLATE_CHUNK):
                total += len(chunk)
                if total > MAX_DECOMPRESSED:
                    raise BodyTooLarge(f"too large: more than {MAX_DECOMPRESSED} bytes after gunzip")
                for at in range(0, len(chunk), _PIECE):
                    yield chunk[at:at + _PIECE]
    except (OSError, EOFError, zlib.error) as exc:
        if not total:
            raise ValueError(f"bad gzip: {exc}") from exc
        if log:
            logger.debug("truncated gzip stream, keeping %d bytes: %s", total, exc)


class _Pieces(io.RawIOBase):
    """A read-only file over an iterator of byte strings (the inner file of a gzip inside gzip)."""

    def __init__(self, pieces: Iterator[bytes]):
        self._pieces, self._piece, self._at = pieces, b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while self._at >= len(self._piece):
            self._piece, self._at = next(self._pieces, None), 0
            if self._piece is None:
                self._piece = b""
                return 0
        n = min(len(buffer), len(self._piece) - self._at)
        buffer[:n] = self._piece[self._at:self._at + n]
        self._at += n
        return n


def _head(pieces: Iterable[bytes], n: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``n`` bytes or more (fewer at the end), and the pieces again from the start."""
    rest, head = iter(pieces), b""
    for piece in rest:
        head += piece
        if len(head) >= n:
            break
    return head, itertools.chain((head,) if head else (), rest)


def _body_pieces(body: bytes, log: bool = False) -> Iterator[bytes]:
    """The body as :func:`gunzip_capped` (twice for gzip inside gzip) would give it, in pieces."""
    if not body.startswith(GZIP_MAGIC):
        for at in range(0, len(body), _PIECE):
            yield body[at:at + _PIECE]
        return
    head, outer = _head(_inflate(io.BytesIO(body), log), 2)
    yield from _inflate(_Pieces(outer), log) if head.startswith(GZIP_MAGIC) else outer


def _events(parser: etree.XMLPullParser, pieces: Iterable[bytes]) -> Iterator[tuple[str, etree._Element]]:
    for piece in pieces:
        for at in range(0, len(piece), _PIECE):
            parser.feed(piece[at:at + _PIECE])
            yield from parser.read_events()
    parser.close()  # and the end events of what a broken document left open
    yield from parser.read_events()


class SitemapReader:
    """A sitemap read as a stream: ``batches()`` yields lists of up to ``batch`` entries, in order.

    Once the first batch is out, ``kind`` is ``urlset`` or ``sitemapindex``; after the last, ``kind``,
    ``error`` and ``recovered`` are what :func:`parse_sitemap` returns. ``kind`` turns ``invalid``
    only when no entry came out (a gzip bomb or a corrupt gzip is found before the first entry: the
    body is inflated once, uncounted, before it is parsed). The whole iteration must run in one
    thread: lxml binds a parser to the string dictionary of the thread that fed it first, and
    other threads use that dictionary without a lock. Never raises.
    """

    def __init__(self, body: bytes, url: str, batch: int = 1000):
        self.url, self.kind, self.error, self.recovered = url, "", None, False
        self.count = 0
        self.bad_locs = 0  # <url>/<sitemap> entries whose <loc> is missing or not a usable http(s) URL
        self._body, self._batch = body or b"", batch
        self._seen = DigestSet()  # a sitemap lists a URL once (8 bytes a loc)

    def batches(self) -> Iterator[list[SitemapEntry]]:
        entries = self._entries()
        while batch := list(itertools.islice(entries, self._batch)):
            yield batch

    def _fail(self, error: str) -> None:
        self.kind, self.error = "invalid", one_line(error)

    def _new(self, entry: SitemapEntry | None) -> bool:
        if entry is None:
            self.bad_locs += 1
            return False
        if entry.loc in self._seen:
            return False
        self._seen.add(entry.loc)
        self.count += 1
        return True

    def _entries(self) -> Iterator[SitemapEntry]:
        body = self._body
        self._body = b""
        try:
            if body.startswith(GZIP_MAGIC):
                for _ in _body_pieces(body, log=True):  # the size and the errors, before any entry goes out
                    pass
            head, pieces = _head(_body_pieces(body), 512)
        except ValueError as exc:
            return self._fail(str(exc))
        head = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head:
            return self._fail("empty body")
        if not head.startswith(b"<") and b"\x00" not in head:
            self.kind = "urlset"
            yield from filter(self._new, _text_entries(pieces, self.url))
            if not self.count:
                self._fail("not a sitemap: no XML and no URL lines")
            return
        yield from self._xml_entries(pieces)

    def _xml_entries(self, pieces: Iterator[bytes]) -> Iterator[SitemapEntry]:
        head, pieces = _head(pieces, 3)
        if head.startswith(b"\xef\xbb\xbf"):
            next(pieces)
            pieces = itertools.chain((head[3:],), pieces)
        data = b""
        for piece in pieces:  # as xml_root: leading whitespace goes, the DOCTYPE is looked for in 4 KiB
            data = (data + piece).lstrip()
            if len(data) >= 4096:
                break
        if has_doctype(data):
            whole = without_doctype(b"".join((data, *pieces)))
            pieces = (whole[at:at + _PIECE] for at in range(0, len(whole), _PIECE))
        else:
            pieces = itertools.chain((data,), pieces)
        parser = etree.XMLPullParser(events=("start", "end"), base_url=self.url or None, **XML_OPTIONS)
        failure: str | None = None
        root, depth, item = None, 0, ""
        try:
            for event, el in _events(parser, pieces):
                if depth < 0:
                    continue  # past the root (lxml reports the extra content as an error)
                if event == "start":
                    depth += 1
                    if root is None:
                        root, self.kind = el, localname(el)
                        if self.kind not in ("urlset", "sitemapindex"):
                            return self._fail(f"not a sitemap: root element is <{self.kind or '?'}>")
                        item = "url" if self.kind == "urlset" else "sitemap"
                    continue
                depth -= 1
                if depth == 1:  # a child of the root, whole: read it, then drop it
                    if localname(el) == item and self._new(entry := _entry(el, self.url)):
                        yield entry  # type: ignore[misc]
                    el.clear()
                    while el.getprevious() is not None:
                        del root[0]
                elif depth == 0:
                    depth = -1
        except (etree.XMLSyntaxError, ValueError) as exc:
            failure = one_line(str(exc)) or "not XML"
        errors = parser.feed_error_log.filter_from_errors()
        error = one_line(errors[0].message) if len(errors) else failure
        if root is None:
            return self._fail(f"not XML: {error or 'nothing parseable'}")
        if error and not self.count:
            return self._fail(f"broken XML: {error}")
        if error:
            self.recovered = True
            logger.debug("sitemap %s is broken XML (%s); recovered %d entries", self.url, error, self.count)
        return None


def _text_entries(pieces: Iterator[bytes], url: str) -> Iterator[SitemapEntry]:
    """Plain-text sitemap: one absolute URL per line; anything else is skipped."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    rest = ""
    for piece in itertools.chain(pieces, (None,)):
        text = rest + decoder.decode(piece if piece is not None else b"", final=piece is None)
        lines, rest = text.splitlines(keepends=True), ""
        if piece is not None and lines and lines[-1].splitlines()[0] == lines[-1]:
            rest = lines.pop()  # cut by the piece's end: it waits for the next (an empty line is skipped anyway)
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not line.lower().startswith(("http://", "https://")) or " " in line:
                continue
            if loc := absolute_http(line, url):
                yield SitemapEntry(loc=loc)


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    """Parse a sitemap, sitemap index or text sitemap; never raises.

    Args:
        body: the response body, gzip or not (detected by magic bytes, capped at 50 MB).
        url: where it came from; relative ``<loc>`` values are resolved against it.
    Returns:
        a ``Sitemap``; ``kind="invalid"`` with a one-line ``error`` when nothing usable was found.
    """
    reader = SitemapReader(body, url)
    entries = [entry for batch in reader.batches() for entry in batch]
    return Sitemap(kind=reader.kind, entries=entries, error=reader.error, recovered=reader.recovered)


def looks_like_sitemap(body: bytes) -> bool:
    """Cheap sniff: does this body (gzip or not) start like a sitemap or sitemap index?"""
    head = (body or b"")[:4096]
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
        except zlib.error:
            return False
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return first_element_name(head) in ("urlset", "sitemapindex")
    lines = [ln.strip() for ln in head.splitlines()[:5] if ln.strip()]
    return bool(lines) and all(ln.lower().startswith((b"http://", b"https://")) for ln in lines)


__all__ = ["Sitemap", "SitemapEntry", "SitemapReader", "looks_like_sitemap", "parse_date", "parse_sitemap"]
