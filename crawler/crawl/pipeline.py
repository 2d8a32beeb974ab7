"""Item pipeline: article pages → extraction (process pool) → text files and JSONL.

The reactor thread only routes. Extraction runs in :class:`~crawler.extract.pool.ExtractionPool`;
opening (the near-duplicate index, the recovery of killed runs) and writing run in a thread,
and each article waits for its WARC record to be written so that its JSONL row can point at it
(file, offset, length, record id).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from concurrent.futures import Future
from typing import Any

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.defer import Deferred

from crawler.config.extract import ExtractOptions, options_for_seed
from crawler.context import (
    PoolLease,
    command_workers,
    count_already_archived,
    in_thread,
    note_written,
    run_context,
)
from crawler.crawl.diskfull import disk_full, stop_for_disk_full
from crawler.crawl.items import ArticlePage
from crawler.crawl.switches import switched_off
from crawler.dataset.neardup import open_index, row_fields, signature
from crawler.dataset.quality import SiteQuality
from crawler.errors import is_disk_full
from crawler.extract.api import Article
from crawler.extract.pool import ExtractionPool
from crawler.output.dedup import Dedup
from crawler.output.writer import (
    OutputWriter,
    article_id,
    jsonl_row,
    render_text,
    repair_jsonl,
    run_parts,
    stdout_stream,
)
from crawler.urls import canonicalize_url

logger = logging.getLogger(__name__)
UNAVAILABLE = "newswarc/extract/unavailable"  # why the extraction workers cannot start, when they cannot


def _pointer(row: dict) -> dict | None:
    if not row.get("warc_file"):
        return None
    return {"file": row["warc_file"], "offset": row.get("warc_offset"), "record_id": row.get("warc_record_id"),
            "date": None}


def deferred_from_future(future: Future) -> Deferred:
    """A Deferred fired on the reactor thread when a concurrent Future completes."""
    d: Deferred = Deferred()

    def done(f: Future) -> None:
        exc = f.exception()
        if exc is not None:
            reactor.callFromThread(d.errback, exc)
        else:
            reactor.callFromThread(d.callback, f.result())

    future.add_done_callback(done)
    return d


class ArticlePipeline:
    """Extract, deduplicate and write every :class:`ArticlePage` the spider yields."""

    def __init__(self, crawler, pool: ExtractionPool | PoolLease, jsonl_stdout: Any = None):
        self.crawler = crawler
        self.stats = crawler.stats
        self.pool = pool
        self.jsonl_stdout = jsonl_stdout
        self.writer: OutputWriter | None = None
        self.options: ExtractOptions | None = None
        self.dedup = Dedup()
        self.quality = SiteQuality()  # the run report's per-site table
        self.near = None  # crawler.dataset.neardup.NearDuplicateIndex when on (it needs the state)

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("NEWSWARC_EXTRACT_ENABLED"):
            raise switched_off(cls, "NEWSWARC_EXTRACT_ENABLED is off: article pages are archived, not extracted")
        pool = command_workers(crawler).extraction_pool(workers=settings.getint("NEWSWARC_EXTRACT_WORKERS"),
                                                         timeout=settings.getfloat("NEWSWARC_EXTRACT_TIMEOUT"))
        stdout = stdout_stream() if settings.getbool("NEWSWARC_OUTPUT_JSONL_STDOUT") else None
        return cls(crawler, pool, jsonl_stdout=stdout)

    async def open_spider(self, spider=None) -> None:
        """Open the writer, then, off the reactor, the near-duplicate index and the recovery of killed runs.

        Both read files and compute (the index imports datasketch and re-cuts its bands; the
        recovery reads whole JSONL parts and hashes each row): seconds on a large archive.
        """
        ctx = run_context(self.crawler)
        self.ctx = ctx
        self.writer = OutputWriter(ctx.storage, run_id=ctx.run_id, jsonl_stdout=self.jsonl_stdout,
                                   text_files=self.crawler.settings.getbool("NEWSWARC_OUTPUT_TEXT_FILES", True))
        if self.jsonl_stdout is not None:
            self.jsonl_stdout.subscribe(lambda: reactor.callFromThread(self._stdout_closed))
        seed = getattr(self.crawler.spider, "seed", None)
        self.options = options_for_seed(seed)
        self.dedup = Dedup(ctx.state)
        ctx.quality = self.quality
        await in_thread(self._open_state, seed)

    def _open_state(self, seed: Any) -> None:
        self.near = open_index(self.ctx.state, self.crawler.settings)
        if self.ctx.state is not None and seed is not None:
            self._recover_killed_runs(seed.name)

    def _stdout_closed(self) -> None:
        """The ``--jsonl -`` reader went away: stop this crawl; what it wrote stays in the files and state."""
        logger.info("stdout was closed: stopping the crawl (articles so far are in the JSONL files)")
        self.stats.set_value("newswarc/output/stdout_closed", 1)
        if self.crawler.engine is not None and self.crawler.engine.running:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="jsonl_stdout_closed"))

    def _extraction_unavailable(self, failure: str) -> None:
        """The extraction workers cannot start: stop this crawl (once), rather than archive every
        further article without its text; what is archived can be re-extracted with ``newswarc replay``."""
        if self.stats.get_value(UNAVAILABLE) is not None:
            return
        self.stats.set_value(UNAVAILABLE, failure)
        logger.info("Extraction cannot run: stopping the crawl")  # the pool logged why; the CLI's last line says it
        if self.crawler.engine is not None and self.crawler.engine.running:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="extraction_unavailable"))

    def _recover_killed_runs(self, site: str) -> None:
        """Articles written by a run that was killed before it could record them are not fetched again.

        The JSONL line is written before the state is updated; after a SIGKILL the JSONL is the truth.
        """
        state, storage = self.ctx.state, self.ctx.storage
        for key in state.unfinished_runs(site):
            recovered, run_id = 0, key.split("/", 1)[0]
            for path in run_parts(storage.work_dir / "articles", site, run_id):
                if path.name.endswith(".open"):
                    repair_jsonl(path)
                    final = path.with_name(path.name[: -len(".open")])
                    path.rename(final)
                    path = final
                else:
                    repair_jsonl(path)
                with open(path, encoding="utf-8") as fh:
                    for line in fh:
                        row = json.loads(line)
                        state.add_text_hash(row["text_sha256"], row["id"])
                        if self.near is not None and row.get("text"):
                            self.near.recover(row)
                        for url in dict.fromkeys([row["url"], row["canonical_url"]]):
                            state.record_fetch(canonicalize_url(url), status=200, etag=None, last_modified=None,
                                               payload_digest=None, kind="article", article_id=row["id"],
                                               warc=_pointer(row), published=row.get("published"))
                        recovered += 1
                storage.commit(path.relative_to(storage.work_dir).as_posix())
            state.end_run(key, "killed", {"recovered_articles": recovered})
            logger.warning("Run %s of %s was killed; %d articles it wrote are kept", run_id, site, recovered)

    async def process_item(self, item: Any, spider=None) -> Any:
        if not isinstance(item, ArticlePage):
            return item
        stats = self.stats
        result = await maybe_deferred_to_future(deferred_from_future(
            self.pool.submit(item.body, item.url, charset=item.charset, options=self.options)))
        location = None
        if item.capture is not None:
            try:
                location = await maybe_deferred_to_future(deferred_from_future(item.capture))
            except Exception as exc:  # the WARC write failed: the article still counts, without pointer
                if disk_full(self.crawler) or is_disk_full(str(exc)):  # not written, not remembered:
                    raise DropItem("disk full", log_level="DEBUG") from None  # the next run fetches it
                logger.error("No WARC record for %s: %s", item.url, exc)
                stats.inc_value("newswarc/extract/no_warc_pointer")
        article = result.article
        if article is None and result.reason == "crashed" and (failure := self.pool.failure):
            self._extraction_unavailable(failure)  # said once: not a skip line for every page in flight
            stats.inc_value("newswarc/extract/skipped/crashed")
            raise DropItem("extraction unavailable", log_level="DEBUG")
        if article is None:
            stats.inc_value(f"newswarc/extract/skipped/{result.reason or 'unknown'}")
            self.quality.skipped(result.reason or "unknown")
            logger.warning("Skipped %s (%s): no article extracted", item.url, result.reason)
            raise DropItem(f"no article: {result.reason}", log_level="DEBUG")
        duplicate = self._duplicate_of(article)
        if duplicate:
            stats.inc_value(f"newswarc/extract/duplicates/{duplicate}")
            logger.info("Duplicate article %s (%s)", item.url, duplicate)
            raise DropItem(f"duplicate ({duplicate})", log_level="DEBUG")
        version = self._version_of(article)
        if version == "unchanged":
            stats.inc_value("newswarc/crawl/unchanged")
            count_already_archived(self.crawler, article_id(article.canonical_url))
            self._remember(item, article, location)
            raise DropItem("unchanged since an earlier run", log_level="DEBUG")
        warc = dataclasses.asdict(location) if location is not None else None
        row = jsonl_row(article, site=item.site, fetched_at=item.fetched_at, warc=warc, route=item.route,
                        kind_reason=item.kind_reason)
        row.update({k: v for k, v in item.discovered.items() if k not in row})
        if version == "changed":
            # a new version of an article archived before: both are kept, the new text beside the old
            row["version_of"] = row["id"]
            row["text_path"] = row["text_path"].replace(".txt", f".{article.text_sha256[:12]}.txt")
            stats.inc_value("newswarc/crawl/changed")
        if disk_full(self.crawler):
            raise DropItem("disk full", log_level="DEBUG")
        note_written(self.crawler, row["id"])
        try:
            await in_thread(self._write, row, render_text(article), item, article, location)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            stop_for_disk_full(self.crawler, "article files")
            raise DropItem("disk full", log_level="DEBUG") from None
        stats.inc_value("newswarc/extract/articles")
        stats.inc_value("newswarc/extract/words", article.word_count)
        return item

    def _duplicate_of(self, article: Article) -> str | None:
        """Why ``article`` is not written, or None; a hook so a fleet member can add its Redis claim."""
        return self.dedup.duplicate_of(article)

    def _version_of(self, article) -> str | None:
        """``None`` for a new article; ``"unchanged"`` or ``"changed"`` for one archived in an earlier run."""
        state = self.ctx.state
        if state is None:
            return None
        prior = state.get(article.canonical_url)
        if prior is None or not prior.article_id:
            return None
        if state.has_text_hash(article.text_sha256) == prior.article_id:
            return "unchanged"
        return "changed"

    def _write(self, row: dict, text: str, item: ArticlePage, article: Article, location: Any) -> None:
        """Write the article, then remember it: a kill in between means a re-fetch, never a loss.

        A near-duplicate is looked up, written and remembered under the index's lock, so two
        copies written at once cannot both become the first of their group.
        """
        if self.near is None:
            self.writer.write(row, text)
        else:
            sig = signature(article.text)  # the CPU part, outside the lock
            with self.near.lock:
                group = self.near.find(row["id"], sig)
                row.update(row_fields(group))
                self.writer.write(row, text)
                self.near.add(row["id"], sig, group)
            if group is not None:
                self.stats.inc_value("newswarc/extract/near_duplicates")
        self.quality.add(row)
        self._remember(item, article, location)

    def _remember(self, item: ArticlePage, article: Article, location: Any) -> None:
        """Record the article's URLs (request, redirect hops, canonical) in the crawl state."""
        state = self.ctx.state
        if state is None:
            return
        ident = article_id(article.canonical_url)
        state.add_text_hash(article.text_sha256, ident)
        urls = dict.fromkeys([*item.redirect_urls, item.url, article.url, article.canonical_url])
        for url in filter(None, urls):
            state.record_fetch(
                canonicalize_url(url), status=item.status, etag=item.etag, last_modified=item.last_modified,
                payload_digest=getattr(location, "payload_digest", None), kind="article", article_id=ident,
                warc=location, published=article.published,
                sitemap_lastmod=item.discovered.get("sitemap_lastmod"),
            )

    async def close_spider(self, spider=None) -> None:
        await in_thread(self._close)

    def _close(self) -> None:
        self.pool.close(wait=True)
        if self.writer is not None:
            self.writer.close()
