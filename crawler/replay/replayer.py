"""``newswarc replay``: re-extract articles offline from WARC archives, exactly as a crawl would.

For every ``response`` record (and ``revisit``, resolved to its original payload) the page goes
through the crawl's own steps: only 200 HTML pages, transfer and content encodings undone as
Scrapy's middlewares do, :func:`~crawler.discovery.pagekind.classify_page` with the seed's
patterns, one article per canonical page URL, extraction in the same
:class:`~crawler.extract.pool.ExtractionPool` with the same options (seed ``[extract]`` table +
seed language), deduplication by canonical URL and text hash, then the same
:class:`~crawler.output.OutputWriter`. JSONL rows point at the *source* records.

The main process streams records (constant memory: bodies are read only for candidate pages,
and at most ``max_inflight`` pages wait for the pool); extraction runs in worker processes.
Results are written in input order, so a replay is deterministic.

``replay --crawl`` (:func:`crawler.cli.replay.cmd_replay_crawl`) is the other way round: the seed's normal crawl runs
with :mod:`crawler.replay.network` answering its requests from the archive, to test discovery.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crawler.config.extract import options_for_seed
from crawler.dates import parse_iso
from crawler.errors import ExtractionUnavailable, StorageError
from crawler.extract.pool import ExtractionPool, ExtractResult
from crawler.output.dedup import Dedup
from crawler.output.writer import jsonl_row, render_text
from crawler.replay.options import (
    ReplayOptions,
    ReplayResult,
)
from crawler.replay.report import STATS
from crawler.replay.worker import ReplayedPage
from crawler.urls import canonicalize_url, url_host
from crawler.warc.reader import Corrupt, WarcRecord, iter_records
from crawler.warc.revisits import NO_ORIGINAL, OriginalIndex, read_original
from crawler.warc.sources import READ_ERRORS, ReadBack, Source, SourceSet

logger = logging.getLogger(__name__)

# called with the counters about once a second, and with final=True at the end (the CLI's live line)
Progress = Callable[[Mapping[str, int], bool], None]

HTML_TYPES = ("text/html", "application/xhtml")
LOOKAHEAD = 200  # records to wait for a page's metadata record (seed, route) before writing it
PAGE_FUNC = "crawler.replay.worker:replay_page_in_pool"
PAGE_PRELOAD = ("scrapy.http",)  # replay_page's encoding detection (~0.7 s of import per worker otherwise)


_warc_date = parse_iso  # WARC-Date: ISO 8601


@dataclass
class _Page:
    """A page sent to the pool, waiting in input order to be written."""

    seq: int
    future: Future
    url: str
    record_id: str
    fetched_at: datetime
    warc: dict[str, Any]
    source_seed: str | None
    source_done: bool = False


class Replayer:
    """Streams sources through classification, the extraction pool and a writer."""

    def __init__(self, writer: Any, options: ReplayOptions, *, pool: Any = None, progress: Progress | None = None):
        self.writer = writer
        self.opt = options
        seed = options.seed
        self.article_patterns = tuple(getattr(seed, "article_url_patterns", ()) or ())
        self.deny_patterns = tuple(getattr(seed, "deny_url_patterns", ()) or ())
        self.extract_options = options_for_seed(seed)
        self.pool = pool or ExtractionPool(workers=options.workers, timeout=options.timeout, func=PAGE_FUNC,
                                           preload=PAGE_PRELOAD)
        self.max_inflight = options.max_inflight or 16 * self.pool.workers  # head-of-line slack
        self.stats: collections.Counter[str] = collections.Counter()
        self.corrupt: list[Corrupt] = []
        self.progress = progress
        self._pending: collections.deque[_Page] = collections.deque()
        self._meta: dict[str, dict[str, str]] = {}  # response record id -> metadata fields (pending pages only)
        self._known_articles: set[str] = set()  # canonical URLs of article pages seen so far (the spider's set)
        self._article_urls: set[str] = set()  # the same pages' URLs as archived (a quick check before work)
        self.dedup = Dedup()  # the crawl pipeline's: canonical URL, text hash
        self._originals = OriginalIndex()  # candidate pages a revisit may point to (pointers, no bodies)
        self._revisits: list[tuple[int, WarcRecord]] = []  # revisits whose original was not seen yet
        self._sources: list[Source] = []
        self._readback = ReadBack()  # originals in whole-file gzip: their member decompressed once
        self._seq = 0
        self._source_seed: str | None = None
        self._last_progress = 0.0
        self.stopped = False  # the JSONL reader went away (`| head`): the crawl stops then, and so does replay

    def stop(self) -> None:
        """Stop after the record at hand (called when ``--jsonl -``'s reader closes stdout)."""
        self.stopped = True

    # --- driving ------------------------------------------------------------------------------

    def run(self, sources: SourceSet) -> ReplayResult:
        """Replay every source, then the revisits whose original came later; close the pool."""
        try:
            for source in sources:
                if self.stopped:
                    break
                self._replay_source(source)
            if not self.stopped:
                self._resolve_late_revisits()
            self._drain(0)
        except BaseException:
            self.pool.close(wait=False)
            raise
        finally:
            self._readback.close()
        self.pool.close(wait=True)
        self._progress(final=True)
        return ReplayResult(dict(self.stats), self.corrupt)

    def _replay_source(self, source: Source) -> None:
        index = len(self._sources)
        self._sources.append(source)
        self._source_seed = None
        self.stats[STATS + "sources"] += 1
        logger.info("Replaying %s", source.name)
        if source.error:
            self._damaged(Corrupt(source.name, 0, source.error))
            self.stats[STATS + "sources/unreadable"] += 1
            return
        try:
            stream = source.open()
        except (OSError, StorageError) as exc:
            self._damaged(Corrupt(source.name, 0, f"cannot open: {getattr(exc, 'strerror', None) or exc}"))
            self.stats[STATS + "sources/unreadable"] += 1
            return
        with stream:
            records = iter_records(stream, source.name, want=self._want, max_body=self.opt.max_body,
                                   gzip=source.gzip)
            while True:
                try:
                    item = next(records, None)
                except READ_ERRORS as exc:  # a read error mid-file (disk, network): the rest of this source is lost
                    self._damaged(Corrupt(source.name, -1, f"read error: {exc}"))
                    self.stats[STATS + "sources/unreadable"] += 1
                    break
                if item is None:
                    break
                if isinstance(item, Corrupt):
                    if item.kept:  # an irregularity warcio tolerates too: the record was read
                        self.stats[STATS + "irregular"] += 1
                        logger.warning("%s: offset %d: %s", item.source, item.offset, item.message)
                    else:
                        self._damaged(item)
                else:
                    self._record(index, item)
                self._drain(self.max_inflight)
                self._progress()
                if self.stopped:
                    break
        for page in self._pending:  # no metadata record can come for them any more
            page.source_done = True
        self._drain(self.max_inflight)

    def _damaged(self, item: Corrupt) -> None:
        self.corrupt.append(item)
        self.stats[STATS + "corrupt"] += 1
        logger.warning("%s: offset %d: %s", item.source, item.offset, item.message)

    # --- records ------------------------------------------------------------------------------

    def _want(self, rec: WarcRecord) -> bool:
        """Decide from the headers whether the payload is worth reading (the verdict goes in ``note``)."""
        kind = rec.type
        if kind == "metadata":
            return rec.headers.get("content-type", "").startswith("application/warc-fields")
        if kind not in ("response", "revisit"):
            return False
        rec.note = self._filter(rec)
        return rec.note is None and kind == "response"

    def _filter(self, rec: WarcRecord) -> str | None:
        """Why this response/revisit is not a candidate page, or None (the crawl's checks first)."""
        opt = self.opt
        if rec.headers.get("warc-profile", "").endswith("/server-not-modified"):
            return "not_modified"  # a 304 to a recheck: the crawl extracted nothing from it either
        if rec.http_status is not None or rec.type == "response":  # a revisit may have no HTTP head
            if (why := http_verdict(rec)) is not None:
                return why
        # WARC-Truncated on a revisit only says that its block stops after the HTTP head
        if rec.type == "response" and (rec.headers.get("warc-truncated") or rec.incomplete):
            return "truncated"
        if opt.url_pattern is not None and not opt.url_pattern.search(rec.target_uri):
            return "url_pattern"
        if opt.since or opt.until:
            when = _warc_date(rec.date)
            if when is None or (opt.since and when < opt.since) or (opt.until and when > opt.until):
                return "date"
        return None

    def _record(self, index: int, rec: WarcRecord) -> None:
        self._seq += 1
        self.stats[STATS + "records"] += 1
        self.stats[STATS + "records/" + (rec.type if rec.type in _TYPES else "other")] += 1
        if rec.type == "metadata":
            self._metadata(rec)
        elif rec.type == "response":
            if rec.note in (None, "url_pattern", "date"):  # a 200 HTML payload a revisit may point to
                self._originals.add(index, rec)
            if rec.note is None:
                self._page(rec, rec.body or b"", rec.http_headers, rec)
            else:
                self.stats[STATS + "skipped/" + rec.note] += 1
        elif rec.type == "revisit":
            if rec.note is not None:
                self.stats[STATS + "skipped/" + rec.note] += 1
            elif not self._revisit(rec):
                self._revisits.append((index, rec))

    def _metadata(self, rec: WarcRecord) -> None:
        fields: dict[str, str] = {}
        for line in (rec.body or b"").decode("utf-8", "replace").splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() in ("seed", "route"):
                fields.setdefault(name.strip(), value.strip())
        if fields.get("seed"):
            self._source_seed = fields["seed"]
        target = rec.headers.get("warc-concurrent-to")
        if target and any(p.record_id == target for p in self._pending):
            self._meta[target] = fields

    def _revisit(self, rec: WarcRecord) -> bool:
        """Replay a revisit with its original's payload; False when the original was not seen yet."""
        ptr = self._originals.find(rec)
        if ptr is None:
            return False
        original, reason = read_original(self._sources, ptr, rec, max_body=self.opt.max_body,
                                         readback=self._readback)
        if original is None:
            self._unresolved(rec, reason or NO_ORIGINAL, f"{self._sources[ptr.source].name} offset {ptr.offset}")
            return True
        if rec.http_status is None and (why := http_verdict(original)) is not None:
            self.stats[STATS + "skipped/" + why] += 1  # a revisit without HTTP head: the original's decides
            return True
        self.stats[STATS + "revisits/resolved"] += 1
        # the payload is the original's, still encoded as the original's headers say
        self._page(rec, original.body or b"", original.http_headers, original)
        return True

    def _unresolved(self, rec: WarcRecord, reason: str, where: str) -> None:
        self.stats[STATS + "revisits/unresolved"] += 1
        self.stats[STATS + "revisits/unresolved/" + reason] += 1
        logger.warning("Revisit %s (%s offset %d) not resolved (%s): %s", rec.target_uri, rec.source, rec.offset,
                       reason, where)

    def _resolve_late_revisits(self) -> None:
        for _index, rec in self._revisits:
            self._source_seed = None
            if not self._revisit(rec):
                self._unresolved(rec, NO_ORIGINAL, "no record with its ID, URI + date or payload digest in the input")
            self._drain(self.max_inflight)
        self._revisits.clear()

    def _page(self, rec: WarcRecord, body: bytes, http_headers: list[tuple[str, str]], payload: WarcRecord) -> None:
        """A 200 HTML response: hand it to a worker (decode, classify, extract), to be written in order."""
        self.stats[STATS + "html_pages"] += 1
        if payload.body_truncated:
            self.stats[STATS + "skipped/too_large"] += 1
            return
        url = rec.target_uri
        if url in self._article_urls:  # a later copy of an article page: no work
            self.stats[STATS + "duplicates/page_url"] += 1
            return
        future = self.pool.call(url, body, url, http_headers, max_decoded=self.opt.max_decoded,
                                article_patterns=self.article_patterns, deny_patterns=self.deny_patterns,
                                options=self.extract_options)
        fetched = _warc_date(rec.date) or datetime.now(UTC)
        warc = {"warc_file": rec.source, "warc_offset": rec.offset, "warc_length": rec.length,
                "warc_record_id": rec.record_id}
        self._pending.append(_Page(self._seq, future, url, rec.record_id, fetched, warc, self._source_seed))

    # --- results, in input order --------------------------------------------------------------

    def _drain(self, keep: int) -> None:
        """Write finished pages at the head of the queue; block while more than ``keep`` wait."""
        while self._pending:
            head = self._pending[0]
            ready = head.future.done() and (
                head.source_done or head.record_id in self._meta or self._seq - head.seq >= LOOKAHEAD)
            if not ready and len(self._pending) <= keep:
                return
            self._pending.popleft()
            self._finish(head, head.future.result(), self._meta.pop(head.record_id, {}))

    def _finish(self, page: _Page, done: ExtractResult, meta: Mapping[str, str]) -> None:
        result: ReplayedPage = done.article
        if result is None and done.reason == "crashed" and (failure := self.pool.failure):
            written = self.stats[STATS + "articles"]
            raise ExtractionUnavailable(f"replay stopped: {failure}; {written} articles were written before")
        if result is None:  # the worker timed out, crashed or raised
            result = ReplayedPage("article", None, done.reason, canonicalize_url(page.url))
        if getattr(result, "mismatch", False):  # a body that is not what its Content-Encoding says: used as is
            self.stats[STATS + "encoding_mismatch"] += 1
        if result.kind == "undecodable":
            self.stats[STATS + f"skipped/{result.reason}"] += 1
            logger.warning("Skipped %s (%s): body cannot be decoded", page.url, result.reason)
            return
        self.stats[STATS + "pages/" + result.kind] += 1
        if result.kind_reason:
            self.stats[STATS + "kind_reason/" + result.kind_reason] += 1
        if result.kind != "article":
            return
        self._article_urls.add(page.url)
        if result.canonical in self._known_articles:  # one article per page URL, the first in input order
            self.stats[STATS + "duplicates/page_url"] += 1
            return
        self._known_articles.add(result.canonical)
        article = result.article
        if article is None:
            self.stats[STATS + f"extract/skipped/{result.reason or 'unknown'}"] += 1
            logger.warning("Skipped %s (%s): no article extracted", page.url, result.reason)
            return
        if duplicate := self.dedup.duplicate_of(article):
            self.stats[STATS + f"duplicates/{duplicate}"] += 1
            return
        site = (self.opt.site or meta.get("seed") or page.source_seed
                or getattr(self.opt.seed, "name", None) or url_host(page.url) or "_")
        # replay consults no state, so no near-duplicate groups (the columns are there, null)
        row = jsonl_row(article, site=site, fetched_at=page.fetched_at, warc=page.warc,
                        route=meta.get("route") or None, kind_reason=result.kind_reason)
        self.writer.write(row, render_text(article))
        self.stats[STATS + "articles"] += 1
        self.stats[STATS + "words"] += article.word_count

    # --- progress -----------------------------------------------------------------------------

    def _progress(self, final: bool = False) -> None:
        """Hand the counters to the progress callback (the CLI's live line), at most once a second."""
        if self.progress is None:
            return
        now = time.monotonic()
        if not final and now - self._last_progress < 1.0:
            return
        self._last_progress = now
        self.progress(self.stats, final)


_TYPES = ("warcinfo", "request", "response", "revisit", "metadata", "resource", "conversion", "continuation")


def http_verdict(rec: WarcRecord) -> str | None:
    """Why a record's HTTP head does not make it a page (the spider's test), or None."""
    if rec.http_status is None:
        return "bad_http"
    if rec.http_status != 200:
        return "status"
    ctype = (rec.http_header("Content-Type") or "").lower()
    if not any(t in ctype for t in HTML_TYPES):
        return "not_html"
    return None
