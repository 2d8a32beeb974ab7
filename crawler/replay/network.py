"""A WARC archive as the crawl's network, for ``newswarc replay --crawl`` (see :func:`crawler.cli.replay.cmd_replay_crawl`).

Why: a change to discovery (link following, page classification) is best judged on a crawl
that is already archived, with nothing on the network changing under the comparison.
:class:`ArchiveIndex` scans the sources once with :mod:`crawler.warc.reader` and keeps, per
canonical URL, a pointer to the latest capture (never a body). :class:`ArchiveDownloaderMiddleware`
answers every request from that index, so the rest of the crawl (robots.txt, redirects,
decompression, the spider, the pipelines) runs exactly as it does online.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import tempfile
from concurrent.futures import Future
from typing import Any, NamedTuple

from scrapy import signals
from scrapy.exceptions import CloseSpider, IgnoreRequest, NotConfigured
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes

from crawler.config.settings import NEWSWARC_ARCHIVE_MAX_BODY as DEFAULT_MAX_BODY
from crawler.context import in_thread
from crawler.dates import parse_iso
from crawler.errors import StorageError
from crawler.urls import canonicalize_url
from crawler.warc import WarcLocation
from crawler.warc.codecs import DecodeError, dechunk, decode_payload, header_values
from crawler.warc.reader import CHUNK, Corrupt, WarcRecord, iter_records
from crawler.warc.revisits import OriginalIndex, Pointer, read_original
from crawler.warc.sources import READ_ERRORS, ReadBack, Source, open_sources

logger = logging.getLogger(__name__)

STATS = "newswarc/replay/crawl/"
_FRAMING = ("transfer-encoding", "content-length")  # the body handed to Scrapy is de-chunked, its length new


class _Capture(NamedTuple):
    """Where one capture is: the record with its HTTP head, and the record with its payload."""

    when: float  # WARC-Date as a timestamp: the latest capture of a URL wins
    head: Pointer  # the record served (a revisit for a revisit)
    payload: Pointer  # the same record for a response; a revisit's original otherwise
    has_head: bool  # False: a revisit of a 304 (no HTTP head), the original's head is served


class ArchivedResponse(NamedTuple):
    status: int
    headers: list[tuple[str, str]]  # as archived, minus Transfer-Encoding and Content-Length
    body: bytes  # de-chunked, still Content-Encoded (the crawl's DecodingMiddleware decodes it)
    truncated: str | None  # WARC-Truncated reason: the spider skips such pages, as in the crawl
    location: WarcLocation  # the record served (the revisit for a revisit), for the JSONL pointer
    mismatch: bool = False  # the body is not what its Content-Encoding said: that header was dropped


class ArchiveIndex:
    """Canonical URL -> latest capture, from one scan of the sources; bodies are read on demand."""

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self.captures: dict[str, _Capture] = {}
        self.counts: collections.Counter[str] = collections.Counter()  # keys under STATS
        self.corrupt: list[Corrupt] = []
        self._originals = OriginalIndex()  # responses a revisit may point to
        self._revisits: list[tuple[str, float, Pointer, bool, WarcRecord]] = []  # resolved once all is read
        self._stack = contextlib.ExitStack()  # the SourceSet (WACZ files) and local copies of S3 objects
        self._readback = ReadBack()  # whole-file gzip members decompressed once, not once per capture
        self._stack.callback(self._readback.close)

    @classmethod
    def open(cls, specs: list[str], settings: Any = None) -> ArchiveIndex:
        """Scan every source (blocking: call it off the reactor). Raises FileNotFoundError for no such source."""
        index = cls()
        try:
            source_set = open_sources(specs, settings)
            index._stack.callback(source_set.close)
            for source in source_set:
                index.add(source)
            index._resolve_revisits()
        except BaseException:
            index.close()
            raise
        index.counts["urls"] = len(index.captures)
        logger.info("Archive index: %d URLs from %d records in %d sources (%d damaged places)",
                    len(index.captures), index.counts["records"], index.counts["sources"], index.counts["corrupt"])
        return index

    def add(self, source: Source) -> None:
        """Index one WARC stream. A stream that cannot seek (S3) is copied to a local file on the way."""
        number = len(self.sources)
        self.sources.append(source)
        self.counts["sources"] += 1
        if source.error:
            self._damaged(Corrupt(source.name, 0, source.error))
            return
        try:
            stream: Any = source.open()
        except (OSError, StorageError) as exc:
            self._damaged(Corrupt(source.name, 0, f"cannot open: {getattr(exc, 'strerror', None) or exc}"))
            return
        with stream:
            if not getattr(stream, "seekable", lambda: False)():
                copy = self._stack.enter_context(tempfile.NamedTemporaryFile(prefix="newswarc-replay-"))
                stream = _Tee(stream, copy)
                self.sources[number] = Source(source.name, functools.partial(open, copy.name, "rb"), source.gzip)
            try:
                for item in iter_records(stream, source.name, gzip=source.gzip):  # headers only, bodies skipped
                    if isinstance(item, Corrupt):
                        if item.kept:  # an irregularity warcio tolerates too: the record was read
                            logger.warning("%s: offset %d: %s", item.source, item.offset, item.message)
                        else:
                            self._damaged(item)
                    elif item.type in ("response", "revisit"):
                        self._record(number, item)
                if isinstance(stream, _Tee):
                    stream.finish()
            except READ_ERRORS as exc:  # the rest of this source is lost
                self._damaged(Corrupt(source.name, -1, f"read error: {exc}"))

    def _record(self, number: int, rec: WarcRecord) -> None:
        self.counts["records"] += 1
        url, when = canonicalize_url(rec.target_uri), _timestamp(rec.date)
        here = Pointer(number, rec.offset, rec.inner, rec.record_id)
        if rec.type == "revisit":
            has_head = rec.http_status not in (None, 304)
            # headers only: the record is kept until every source is read (revisits are few)
            self._revisits.append((url, when, here, has_head, WarcRecord(rec.source, rec.offset, rec.length,
                                                                          rec.headers)))
        elif rec.http_status is None or rec.http_status == 304:
            self.counts["skipped/" + ("bad_http" if rec.http_status is None else "not_modified")] += 1
        else:
            self._originals.add(number, rec)
            self._put(url, _Capture(when, here, here, True))

    def _resolve_revisits(self) -> None:
        """A revisit serves its original's payload: by record ID, URI + date or digest, else the URL it refers to."""
        for url, when, here, has_head, rec in self._revisits:
            found = self._originals.find(rec)
            refers = rec.headers.get("warc-refers-to-target-uri", "").strip("<>")
            if found is None and (prior := self.captures.get(canonicalize_url(refers)) if refers else None):
                found = prior.payload
            if found is None:
                self.counts["revisits/unresolved"] += 1
                logger.warning("Revisit %s (%s offset %d): no response record with its payload in the archive",
                               url, self.sources[here.source].name, here.offset)
                continue
            self.counts["revisits/resolved"] += 1
            self._put(url, _Capture(when, here, found, has_head))
        self._revisits.clear()
        self._originals = OriginalIndex()

    def _put(self, url: str, capture: _Capture) -> None:
        old = self.captures.get(url)
        if old is None or capture.when >= old.when:
            self.captures[url] = capture

    def _damaged(self, item: Corrupt) -> None:
        self.corrupt.append(item)
        self.counts["corrupt"] += 1
        logger.warning("%s: offset %d: %s", item.source, item.offset, item.message)

    def lookup(self, url: str) -> _Capture | None:
        return self.captures.get(canonicalize_url(url))

    def _read(self, ptr: Pointer, max_body: int) -> WarcRecord | None:
        return self._readback.read(self.sources[ptr.source], ptr.offset, max_body=max_body, inner=ptr.inner,
                                   record_id=ptr.record_id or None)

    def read(self, capture: _Capture, max_body: int = DEFAULT_MAX_BODY) -> ArchivedResponse | None:
        """The capture's status, headers and body (blocking); None when its records cannot be read."""
        head = self._read(capture.head, max_body)
        payload = head
        if head is not None and capture.payload != capture.head:  # a revisit: replay's rule for its original
            payload, reason = read_original(self.sources, capture.payload, head, max_body=max_body,
                                            readback=self._readback)
            if reason is not None:  # unreadable, or another payload than the revisit's digest names
                logger.warning("Revisit %s (%s offset %d): original not used (%s)", head.target_uri, head.source,
                               head.offset, reason)
        if head is None or payload is None or payload.http_status is None:
            return None
        http = head if capture.has_head else payload
        body = payload.body or b""
        if "chunked" in (payload.http_header("Transfer-Encoding") or "").lower():
            body = dechunk(body)
        truncated = payload.headers.get("warc-truncated") or ("length" if payload.body_truncated else None)
        location = WarcLocation(head.source, capture.head.offset, head.length or 0, head.record_id, head.type,
                                head.headers.get("warc-payload-digest", ""), head.date)
        drop = _FRAMING
        encoding = header_values(payload.http_headers, "Content-Encoding")  # every header, as the crawl reads them
        mismatch = False
        if encoding:
            try:
                mismatch = decode_payload(body, encoding, max_body)[1]
            except DecodeError:
                pass  # DecodingMiddleware says what is wrong, as online
            if mismatch:  # the body is already decoded: Scrapy must not try again
                drop = (*_FRAMING, "content-encoding")
        headers = [(k, v) for k, v in http.http_headers if k.lower() not in drop]
        return ArchivedResponse(http.http_status or 200, headers, body, truncated, location, mismatch)

    def close(self) -> None:
        self._stack.close()


class _Tee:
    """A read-only stream that copies what is read into ``copy`` (an S3 body kept for later seeks)."""

    def __init__(self, stream: Any, copy: Any):
        self.stream, self.copy = stream, copy

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.copy.write(data)
        return data

    def finish(self) -> None:
        while self.read(CHUNK):
            pass
        self.copy.flush()


def _timestamp(value: str) -> float:
    when = parse_iso(value)
    return when.timestamp() if when is not None else 0.0


class ArchiveDownloaderMiddleware:
    """Answers every request from the archive; the network is never touched.

    Ordered last (950): the response returned from ``process_request`` goes back through every
    middleware's ``process_response``, so DecodingMiddleware decodes it, Redirect follows an archived
    3xx (its target is looked up in turn) and the download stats count it. A URL not in the archive
    raises IgnoreRequest: counted, never an error (for robots.txt that means "allow all").
    """

    def __init__(self, index: ArchiveIndex | None = None, *, specs: list[str] | None = None, settings: Any = None,
                 stats: Any = None, max_body: int = DEFAULT_MAX_BODY, threaded: bool = True):
        self.index, self.specs, self.settings, self.stats = index, list(specs or ()), settings, stats
        self.max_body = max_body
        self.threaded = threaded  # read records in the reactor's thread pool (False: inline, for tests)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchiveDownloaderMiddleware:
        settings = crawler.settings
        specs = settings.getlist("NEWSWARC_REPLAY_SOURCES")
        if not specs:
            raise NotConfigured()  # the normal case (a network crawl): no message, or Scrapy warns on every crawl
        mw = cls(specs=specs, settings=settings, stats=crawler.stats,
                 max_body=settings.getint("NEWSWARC_ARCHIVE_MAX_BODY") or DEFAULT_MAX_BODY)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    async def spider_opened(self, spider: Any = None) -> None:
        """Scan the sources in a thread before the first request (Scrapy waits for this handler)."""
        if self.index is None:
            try:
                self.index = await in_thread(ArchiveIndex.open, self.specs, self.settings)
            except (OSError, ValueError, StorageError) as exc:
                logger.error("Cannot read the archive %s: %s", " ".join(self.specs), exc)
                raise CloseSpider("archive_unreadable") from None
        if self.stats is not None:  # zeros too: "0 missing" is worth stating
            for key, value in {"served": 0, "missing": 0, "unreadable": 0, **self.index.counts}.items():
                self.stats.set_value(STATS + key, value)

    def spider_closed(self, spider: Any = None) -> None:
        if self.index is not None:
            self.index.close()

    async def process_request(self, request: Request, spider: Any = None) -> Response:
        capture = self.index.lookup(request.url) if self.index is not None else None
        if capture is None:
            self._count("missing")
            logger.debug("Not in the archive: %s", request.url)
            raise IgnoreRequest(f"not in the archive: {request.url}")
        if self.threaded:
            found = await in_thread(self.index.read, capture, self.max_body)
        else:
            found = self.index.read(capture, self.max_body)
        if found is None:
            self._count("unreadable")
            logger.warning("Skipped %s (unreadable): its archived record cannot be read", request.url)
            raise IgnoreRequest(f"archived record unreadable: {request.url}")
        self._count("served")
        if found.mismatch:
            self._count("encoding_mismatch")
        headers = Headers()
        for name, value in found.headers:
            headers.appendlist(name.encode("latin-1"), value.encode("latin-1"))
        flags = ["archive"]
        if found.truncated:
            request.meta["newswarc_truncated"] = found.truncated
            flags.append("newswarc_truncated")
        done: Future = Future()
        done.set_result(found.location)
        request.meta["newswarc_capture"] = done  # JSONL rows point at the source record, as replay's do
        cls = responsetypes.from_args(headers=headers, url=request.url, body=found.body)
        return cls(url=request.url, status=found.status, headers=headers, body=found.body, request=request,
                   flags=flags)

    def _count(self, what: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(STATS + what)

