"""The Scrapy side of WARC capture: signals in, exchanges out to the writer process.

:class:`WarcCapture` listens to ``response_downloaded`` (raw, still content-encoded bodies of
every network fetch: redirect hops, retries, robots.txt, errors), copies what it needs on the
reactor thread (cheap: header lists and the body reference) and sends it to the writer process
(:mod:`crawler.warc.writer_process`), which builds, digests, compresses and writes the
records. The URLs a spider found on a page go to its metadata record through the
:data:`~crawler.crawl.outlinks.outlinks_found` signal (see :mod:`crawler.crawl.outlinks`).
"""

from __future__ import annotations

import itertools
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.exceptions import StopDownload

from crawler.context import command_workers, in_thread, run_context
from crawler.crawl.diskfull import disk_full, stop_for_disk_full
from crawler.crawl.outlinks import outlinks_found
from crawler.crawl.switches import switched_off
from crawler.crawl.threadstats import ThreadStats
from crawler.crawl.warcfields import header_pairs, not_modified_target, page_fields, warcinfo_fields
from crawler.errors import NewswarcError, is_disk_full
from crawler.warc import WarcLocation
from crawler.warc.messages import (
    ChannelClosed,
    Died,
    FileEvent,
    MetadataWritten,
    Result,
    WriteExchange,
    WriteMetadata,
    WriterError,
    Written,
)
from crawler.warc.records import Exchange, make_record_id, warc_date
from crawler.warc.repair import repair_open_files
from crawler.warc.writer_process import WriterProcess

logger = logging.getLogger(__name__)

STATS = "newswarc/archive/"
BATCH_SIZE = 64  # messages sent to the writer process at once, at most


class ArchiveError(NewswarcError):
    """An exchange could not be archived (the writer process reports why)."""


class WarcCapture:
    """Scrapy extension writing every network exchange to rolling, per-record-gzip WARC files."""

    def __init__(self, storage: Any, *, stats: Any = None, max_body: int = 0, max_size: int = 1_000_000_000,
                 gzip_level: int = 6, recompress: bool = False, prefix: str = "newswarc", queue_size: int = 500,
                 revisits: bool = True, warcinfo: Sequence[tuple[str, str]] = (), state: Any = None,
                 pause_engine: Callable[[bool], None] | None = None,
                 open_writer: Callable[..., WriterProcess] = WriterProcess.start,
                 repair: Callable[[Path], list[Path]] = repair_open_files,
                 make_id: Callable[[], str] = make_record_id, now: Callable[[], float] = time.time):
        if not 0 <= gzip_level <= 9:
            raise NewswarcError(f"NEWSWARC_ARCHIVE_GZIP_LEVEL: {gzip_level} is not a gzip level (0-9)")
        if max_size <= 0 or queue_size <= 0 or max_body < 0:
            raise NewswarcError("NEWSWARC_ARCHIVE_MAX_SIZE and _QUEUE_SIZE must be > 0, _MAX_BODY >= 0")
        self.storage, self.stats, self.max_body, self.revisits = storage, stats, max_body, revisits
        self.state = state  # the CrawlState: earlier runs' payloads are read from its file, new ones added
        self.pause_engine, self.make_id, self.now = pause_engine, make_id, now
        self._open_writer = open_writer  # a channel on the command's writer process, or a process of its own
        self._repair = repair  # once per command and output when the command's crawls share it
        self.crawler: Any = None  # set by from_crawler: a full disk stops its crawl (crawl.diskfull)
        self._writer_args = {"prefix": prefix, "max_size": max_size, "gzip_level": gzip_level,
                             "recompress": recompress, "warcinfo": list(warcinfo)}
        self._queue_size = queue_size
        self.writer: WriterProcess | None = None
        self._sequence = itertools.count()
        self._futures: dict[int, tuple[Future, Exchange]] = {}  # sent to the writer, not written yet
        self._commits = ThreadPoolExecutor(1, thread_name_prefix="newswarc-commit")
        self._commit_futures: list[Future] = []
        self.closed_files: list[str] = []  # keys of the files closed, in order
        self._received: dict[int, int] = {}  # id(request) -> body bytes so far, for watched downloads
        self._watching = False
        self.signals: Any = None
        self._stopped: set[int] = set()
        self._pages: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._overflow: deque[list[WriteExchange | WriteMetadata]] = deque()  # batches the writer refused (the crawl is paused)
        self._batch: list[WriteExchange | WriteMetadata] = []  # messages of this reactor turn, sent together
        self._batch_scheduled = False
        self._paused = False
        self._stats = ThreadStats(stats, STATS)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WarcCapture:
        settings = crawler.settings
        if not settings.getbool("NEWSWARC_ARCHIVE_ENABLED", True):
            raise switched_off(cls, "NEWSWARC_ARCHIVE_ENABLED is False: WARC capture is off")
        ctx = run_context(crawler)  # the crawl's storage, shared with the pipeline and the report
        workers = command_workers(crawler)
        storage = ctx.storage
        max_body = settings.getint("NEWSWARC_ARCHIVE_MAX_BODY", 0)
        maxsize = settings.getint("DOWNLOAD_MAXSIZE", 0)
        if maxsize and (not max_body or maxsize <= max_body):
            logger.warning("DOWNLOAD_MAXSIZE=%d: Scrapy drops larger responses before the archive sees them "
                           "(not archived); set DOWNLOAD_MAXSIZE=0 and NEWSWARC_ARCHIVE_MAX_BODY instead", maxsize)

        def pause_engine(pause: bool) -> None:
            if pause:
                crawler.engine.pause()
                return
            crawler.engine.unpause()
            # unpause() waits for the engine's 5 s heartbeat; wake it now (private, hence guarded)
            if (slot := getattr(crawler.engine, "_slot", None)) is not None and hasattr(slot, "nextcall"):
                slot.nextcall.schedule()

        ext = cls(storage, stats=crawler.stats, max_body=max_body,
                  max_size=settings.getint("NEWSWARC_ARCHIVE_MAX_SIZE", 1_000_000_000),
                  gzip_level=settings.getint("NEWSWARC_ARCHIVE_GZIP_LEVEL", 6),
                  recompress=settings.getbool("NEWSWARC_ARCHIVE_RECOMPRESS", False),
                  prefix=settings.get("NEWSWARC_ARCHIVE_PREFIX") or "newswarc",
                  queue_size=settings.getint("NEWSWARC_ARCHIVE_QUEUE_SIZE", 500),
                  revisits=settings.getbool("NEWSWARC_ARCHIVE_REVISITS", True),
                  warcinfo=warcinfo_fields(settings), pause_engine=pause_engine,
                  open_writer=workers.open_warc_writer,  # one writer process per command
                  repair=lambda directory: workers.repair_once(directory, repair_open_files),
                  state=ctx.state)  # the crawl state remembers payloads across runs
        ext.closed_files = ctx.warc_files  # the run's own files, for its WACZ (crawler.crawl.wacz_export)
        ext.crawler = crawler
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.record_page, signal=outlinks_found)
        if max_body:
            ext.signals = crawler.signals
            crawler.signals.connect(ext.headers_received, signal=signals.headers_received)
        return ext

    # --- lifecycle
    async def spider_opened(self, spider: Any = None) -> None:
        """Repair ``.open`` files of crashed runs (in a thread), then start the writer process."""
        try:
            await in_thread(self.open)
        except Exception:
            logger.error("Could not repair the WARC files of an earlier run", exc_info=True)
            self.open_writer()

    def open(self) -> None:
        """Blocking part of opening: repair, commit what was repaired, start the writer."""
        for path in self._repair(self.storage.work_dir / "warc"):
            self.storage.commit("warc/" + path.name)
            self.report({"repaired": 1})
        self.open_writer()

    def open_writer(self) -> None:
        if self.writer is None:
            self.writer = self._open_writer(
                str(self.storage.work_dir), writer_args=self._writer_args,
                state_path=str(self.state.path) if getattr(self.state, "path", None) else None, revisits=self.revisits,
                queue_size=self._queue_size, on_results=self._results, on_low_water=self._low_water)

    async def spider_closed(self, spider: Any = None, reason: str = "") -> None:
        """Drain the queue, close and commit the file; returns when all is on disk/storage."""
        messages = [msg for batch in self._overflow for msg in batch] + self._batch
        self._overflow, self._batch = deque(), []
        await in_thread(self.close, messages)

    def close(self, messages: Sequence[WriteExchange | WriteMetadata] = ()) -> None:
        """Blocking close (not on the reactor): send the last messages, stop the writer, commit."""
        if self.writer is not None:
            if messages and not self.writer.dead:
                self.writer.submit_batch(messages, force=True)
            self.writer.close()
        self._commits.shutdown(wait=True)
        failed = 0
        for fut in self._commit_futures:
            if (exc := fut.exception()) is not None:
                logger.error("Could not commit a WARC file: %s", exc, exc_info=exc)
                failed += 1
        if failed:
            self.report({"commit_failed": failed})

    def _results(self, results: list[Result]) -> None:
        """In the receiving thread: resolve futures, remember new payloads, count, commit files."""
        for result in results:
            if isinstance(result, Written):
                if (pending := self._futures.pop(result.seq, None)) is None:
                    continue  # already failed when the writer died
                future, ex = pending
                if result.error or result.at is None:
                    if self.crawler is not None and is_disk_full(result.error or ""):
                        # first: the pipeline awaiting this future then finds the crawl stopped for a full disk
                        stop_for_disk_full(self.crawler, "WARC file")
                    future.set_exception(ArchiveError(f"{ex.url}: {result.error}"))
                else:
                    at = result.at
                    future.set_result(WarcLocation(at.key, at.offset, at.length, ex.response_id, at.record_type,
                                                   at.payload_digest, ex.date))
                    if result.new_digest and self.state is not None:
                        self.state.add(result.new_digest, ex.url, ex.date)
                self.report(result.counts)
            elif isinstance(result, MetadataWritten):
                self.report(result.counts)
            elif isinstance(result, WriterError):
                if self.crawler is not None and disk_full(self.crawler) and is_disk_full(result.traceback):
                    logger.debug("Could not %s: %s", result.what, result.traceback.rstrip().rsplit("\n", 1)[-1])
                    continue  # said once by crawl.diskfull
                logger.error("Could not %s: %s", result.what, result.traceback.rstrip().rsplit("\n", 1)[-1])
                logger.debug("The WARC writer's traceback:\n%s", result.traceback.rstrip())
            elif isinstance(result, FileEvent) and result.event == "opened":
                logger.info("Opened WARC file %s", self.storage.display(result.key + ".open"))
            elif isinstance(result, FileEvent) and result.event == "closed":
                logger.info("Closed WARC file %s", self.storage.display(result.key))
                self.report({"files": 1})
                self.closed_files.append(result.key)
                self._commit_futures.append(self._commits.submit(self.storage.commit, result.key))
            elif isinstance(result, Died):
                lost = list(self._futures.values())
                self._futures.clear()
                logger.error("The WARC writer process died: %d captures are lost (the .open file is "
                             "repaired by the next run)", len(lost))
                for future, ex in lost:
                    future.set_exception(ArchiveError(f"{ex.url}: the WARC writer process died"))
                self.report({"failed": len(lost)})
                if self._overflow or self._paused:  # nothing will drain them now: fail them, resume the crawl
                    from twisted.internet import reactor  # late: Scrapy installs its reactor first

                    reactor.callFromThread(self._drain_overflow)
            elif isinstance(result, ChannelClosed):
                pass

    # --- signals
    def headers_received(self, headers: Any, body_length: Any, request: Any, spider: Any = None) -> None:
        """Watch the bytes of a body that may pass ``max_body`` (declared larger, or of unknown length).

        ``bytes_received`` fires for every chunk of every download once anything listens to it,
        and a signal costs the reactor more than the chunk itself; so it is connected only while
        such a body is on its way.
        """
        if isinstance(body_length, int) and 0 <= body_length <= self.max_body:
            return
        self._received[id(request)] = 0
        if not self._watching:
            self._watching = True
            self.signals.connect(self.bytes_received, signal=signals.bytes_received)
            self.signals.connect(self.request_left_downloader, signal=signals.request_left_downloader)

    def bytes_received(self, data: bytes, request: Any, spider: Any = None) -> None:
        """Stop a download past ``max_body``; Scrapy then hands over the partial response."""
        key = id(request)
        if key not in self._received:
            return
        got = self._received[key] + len(data)
        self._received[key] = got
        if got > self.max_body and key not in self._stopped:
            self._stopped.add(key)
            raise StopDownload(fail=False)

    def request_left_downloader(self, request: Any, spider: Any = None) -> None:
        self._received.pop(id(request), None)
        self._stopped.discard(id(request))
        if not self._received and self._watching:
            from twisted.internet import reactor  # late: Scrapy installs its reactor first

            reactor.callLater(0, self._stop_watching)  # not from inside the signal being sent

    def _stop_watching(self) -> None:
        if self._received or not self._watching:
            return
        self._watching = False
        self.signals.disconnect(self.bytes_received, signal=signals.bytes_received)
        self.signals.disconnect(self.request_left_downloader, signal=signals.request_left_downloader)

    def response_downloaded(self, response: Any, request: Any, spider: Any = None) -> None:
        """Queue the exchange; put a Future of its :class:`WarcLocation` in the request meta."""
        truncated = None
        body = response.body
        if id(request) in self._stopped:
            truncated, body = "length", body[: self.max_body]
        elif "dataloss" in response.flags:
            truncated = "disconnect"
        now = self.now()
        latency = request.meta.get("download_latency")
        date = warc_date(now - latency if isinstance(latency, float) and 0 <= latency < now else now)
        ex = Exchange(
            url=request.url, method=request.method,
            request_headers=header_pairs(request.headers),
            request_body=request.body, status=response.status,
            response_headers=header_pairs(response.headers),
            body=body, date=date, response_id=self.make_id(), request_id=self.make_id(),
            protocol=response.protocol or "HTTP/1.1",
            ip_address=str(response.ip_address) if response.ip_address else None, truncated=truncated,
            not_modified=not_modified_target(response, request))
        future: Future = Future()
        request.meta["newswarc_capture"] = future
        if truncated:
            request.meta["newswarc_truncated"] = truncated
            response.flags.append("newswarc_truncated")
            self.report({f"truncated/{truncated}": 1, "truncated": 1}, from_thread=False)
            logger.warning("Truncated %s at %d bytes (%s)", request.url, len(body), truncated)
        else:
            request.meta.pop("newswarc_truncated", None)
        self._pages[request] = (ex.url, date, ex.response_id, page_fields(request, date))
        seq = next(self._sequence)
        self._futures[seq] = (future, ex)
        self.submit(WriteExchange(seq, ex))

    # --- metadata (the outlinks_found signal)
    def record_page(self, response: Any, urls: Sequence[str], spider: Any = None) -> None:
        """Write the page's metadata record (context + outlinks); once per downloaded response."""
        request = getattr(response, "request", None)
        info = self._pages.pop(request, None) if request is not None else None
        if info is None:
            return
        uri, date, response_id, pairs = info
        if note := request.meta.get("newswarc_undecoded"):
            pairs = [*pairs, ("undecoded", note)]  # kept as received, not parsed (crawler.warc.codecs)
        pairs = pairs + [("outlink", url) for url in dict.fromkeys(urls)]
        self.submit(WriteMetadata(uri, date, response_id, pairs))

    # --- back-pressure
    def submit(self, message: WriteExchange | WriteMetadata) -> None:
        """Queue a message without blocking; those of one reactor turn go to the writer together.

        One send per batch rather than per record. When too many pages are in flight, the batch
        is parked and the engine paused until the writer catches up.
        """
        self._batch.append(message)
        if len(self._batch) >= BATCH_SIZE:
            self.flush_batch()
        elif not self._batch_scheduled:
            from twisted.internet import reactor  # late: Scrapy installs its reactor first

            self._batch_scheduled = True
            reactor.callLater(0, self.flush_batch)

    def flush_batch(self) -> None:
        """Send this turn's messages to the writer (or park them when too many are in flight)."""
        self._batch_scheduled = False
        batch, self._batch = self._batch, []
        if not batch:
            return
        if self.writer is None:
            self.open_writer()
        if not self._overflow and self._send(batch):
            return
        self._overflow.append(batch)
        self.report({"queue_full": 1}, from_thread=False)
        if not self._paused:
            self._paused = True
            logger.info("WARC writer queue full (%d jobs): pausing the crawl until it drains", self._queue_size)
            if self.pause_engine:
                self.pause_engine(True)

    def _send(self, batch: list[WriteExchange | WriteMetadata]) -> bool:
        """Send a batch; False when too many pages are in flight. A dead writer fails the batch's pages."""
        try:
            if not self.writer.dead:
                return self.writer.submit_batch(batch)
        except OSError:  # the pipe broke: the writer died a moment ago
            pass
        self._results([Written(job.seq, None, {"failed": 1}, error="the WARC writer process died")
                       for job in batch if isinstance(job, WriteExchange)])
        return True

    def _low_water(self) -> None:
        from twisted.internet import reactor  # late: Scrapy installs its reactor first

        reactor.callFromThread(self._drain_overflow)

    def _drain_overflow(self) -> None:
        while self._overflow and self._send(self._overflow[0]):
            self._overflow.popleft()
        if not self._overflow and self._paused:
            self._paused = False
            logger.info("WARC writer queue drained: resuming the crawl")
            if self.pause_engine:
                self.pause_engine(False)

    # --- stats
    def report(self, counts: dict[str, int], from_thread: bool = True) -> None:
        """Add to ``newswarc/archive/<key>`` stats; from a thread, batched into one reactor call."""
        self._stats.add(counts, from_thread)
