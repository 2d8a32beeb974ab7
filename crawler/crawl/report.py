"""Run reports: one JSON document per crawl under ``runs/``, written through storage.

The schema is :func:`crawler.output.report.run_report` (replay writes the same one); this module
turns a crawl's Scrapy stats into it.

Written when the engine has stopped (after the WARC files and JSONL parts are closed), so the
counts are final. The same dict is kept on ``crawler.newswarc_report`` for the CLI summary.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from scrapy import signals

from crawler.context import (
    ALREADY_ARCHIVED,
    backup_state,
    in_thread,
    release_state,
    run_context,
    state_run_key,
)
from crawler.crawl.diskfull import disk_full, watch_state
from crawler.crawl.middlewares import SENT
from crawler.crawl.pipeline import UNAVAILABLE
from crawler.crawl.reasons import main_failure
from crawler.crawl.wacz_export import export_run
from crawler.errors import is_disk_full
from crawler.output.report import by_prefix, extract_failures, run_report, storage_summary

logger = logging.getLogger(__name__)

def build_report(stats: dict[str, Any], *, run_id: str, seed: Any, started: datetime,
                 finished: datetime, output: str, sources: list[str] | None = None,
                 storage: dict[str, Any] | None = None, wacz: dict[str, Any] | None = None,
                 quality: Any = None) -> dict[str, Any]:
    """The run report of a crawl (schema: :func:`crawler.output.report.run_report`).

    ``quality`` is the pipeline's :class:`~crawler.dataset.quality.SiteQuality` (None without extraction).
    """
    errors = by_prefix(stats, "newswarc/crawl/errors/")
    extract_skipped = by_prefix(stats, "newswarc/extract/skipped/")
    skipped = {**{f"crawl/{k}": v for k, v in by_prefix(stats, "newswarc/crawl/skipped/").items()},
               **{f"extract/{k}": v for k, v in extract_skipped.items()}}
    get = lambda key: stats.get(key, 0)  # noqa: E731
    articles, changed = get("newswarc/extract/articles"), get("newswarc/crawl/changed")
    # articles archived before: known from the state (not fetched), answered 304, or the same text
    already = get(ALREADY_ARCHIVED)
    counts = {
        "requests": get("downloader/request_count"),
        "requests_by_route": by_prefix(stats, SENT),
        "retries": get("retry/count"),
        "pages": get("downloader/response_count"),
        "pages_by_status": by_prefix(stats, "downloader/response_status_count/"),
        "pages_by_kind": by_prefix(stats, "newswarc/crawl/pages/"),
        "archived": articles + already,
        "articles": articles,
        "new_articles": articles - changed,
        "changed": changed,
        "already_archived": already,
        "failed": sum(errors.values()) + extract_failures(extract_skipped),
        "skipped_by_state": get("newswarc/crawl/skipped/archived_before")
        + get("newswarc/crawl/skipped/unchanged_lastmod"),
        "duplicates": by_prefix(stats, "newswarc/extract/duplicates/"),
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "skipped": skipped,
        "robots_forbidden": get("robotstxt/forbidden"),
        "offsite": get("newswarc/crawl/offsite"),
        "warc_records": by_prefix(stats, "newswarc/archive/records/"),
        "warc_files": get("newswarc/archive/files"),
    }
    finish_reason = str(stats.get("finish_reason", "unknown"))
    status, reason = crawl_outcome(stats, counts, finish_reason)
    return run_report(command="crawl", run_id=run_id, seed=seed, output=output, started=started, finished=finished,
                      counts=counts, status=status, reason=reason, finish_reason=finish_reason,
                      downloaded=get("downloader/response_bytes"), warc_bytes=get("newswarc/archive/bytes"),
                      sources=sources or (), replay=by_prefix(stats, "newswarc/replay/crawl/"),
                      storage=storage, wacz=wacz,
                      quality=None if quality is None else {getattr(seed, "name", "run"):
                                                            quality.table(counts["pages_by_kind"])})


def crawl_outcome(stats: dict[str, Any], counts: dict[str, Any], finish_reason: str) -> tuple[str, str | None]:
    """(status, reason): ``failed`` when no page could be fetched, ``incomplete`` when stopped early."""
    if finish_reason != "finished" and not finish_reason.startswith("closespider"):
        if finish_reason == "shutdown":
            return "incomplete", "interrupted before the end (Ctrl-C or SIGTERM); run the same command to resume"
        if finish_reason == "extraction_unavailable":
            return "incomplete", (f"extraction stopped the crawl: {stats.get(UNAVAILABLE)}; what was "
                                  "archived can be re-extracted with `newswarc replay`")
        return "incomplete", f"the crawl stopped early ({finish_reason})"
    if counts["pages"] == 0 and counts["errors"]:
        return "failed", main_failure(stats)
    if counts["pages"] == 0 and counts["robots_forbidden"]:
        return "failed", "robots.txt forbids every start page"
    return "completed", None


class RunReport:
    """Writes ``runs/RUN_ID-SEED.json`` at the end of every crawl."""

    def __init__(self, crawler):
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def spider_opened(self, spider) -> None:
        """Record the run as begun in the crawl state (an SQLite write: in a thread, not on the reactor)."""
        self.ctx = run_context(self.crawler)
        if self.ctx.state is not None:
            site = getattr(spider.seed, "name", spider.name)
            watch_state(self.crawler, self.ctx.state)
            await in_thread(self.ctx.state.begin_run, state_run_key(self.ctx.run_id, site), [site])

    async def engine_stopped(self) -> None:
        await in_thread(self._finish)

    def _finish(self) -> None:
        ctx = getattr(self, "ctx", None) or run_context(self.crawler)
        seed = getattr(self.crawler.spider, "seed", None)
        storage = ctx.storage
        storage.wait()  # remote storage: let the uploads of this run finish first
        name = getattr(seed, "name", "run")
        wacz = export_run(self.crawler, ctx, name)  # before the report, which names it
        report = build_report(self.crawler.stats.get_stats(), run_id=ctx.run_id, seed=seed,
                              started=ctx.started, finished=datetime.now(UTC), output=ctx.storage.display(),
                              sources=self.crawler.settings.getlist("NEWSWARC_REPLAY_SOURCES"),
                              storage=storage_summary(storage),  # the package's upload included
                              wacz=wacz, quality=ctx.quality)
        key = f"runs/{ctx.run_id}-{name}.json"
        try:
            ctx.storage.write_bytes(key, json.dumps(report, indent=2, sort_keys=True).encode() + b"\n")
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            # the summary says "report: (not written: no space left on device)"; the crawl's one line says why
            logger.info("The run report could not be written: %s", exc.strerror)
            key = ""
        if ctx.state is not None:
            # disk full: SQLite may have rolled back what it could not commit, so the run stays
            # unfinished and the next run reads its JSONL back into the state (as after a kill):
            # nothing is fetched twice
            if not disk_full(self.crawler):
                try:
                    ctx.state.end_run(state_run_key(ctx.run_id, name), report["status"], report["counts"])
                except Exception as exc:  # the run stays "unfinished": the next run recovers it from its JSONL
                    if not is_disk_full(exc):
                        raise
                    logger.debug("The crawl state could not record the end of the run: %s", exc)
            if release_state(ctx.state):  # the last crawl of this command to finish
                backup_state(storage, self.crawler.settings)
        ctx.storage.close()
        if storage.remote:
            report["storage"]["spooled"] = storage.spooled()  # the final count, the report itself included
        report["report_file"] = report_file(storage, key)
        self.crawler.newswarc_report = report
        logger.info("Run report written to %s", report["report_file"])


NOT_WRITTEN = "(not written: no space left on device)"


def report_file(storage: Any, key: str) -> str:
    """Where the run report is, for the summary: the output's name for it, the spool file when its
    upload failed (remote output), or :data:`NOT_WRITTEN` for ``key == ""`` (the disk was full).

    An empty key must not become ``work_dir / ""``: that is the spool directory, which exists.
    """
    if not key:
        return NOT_WRITTEN
    spooled = storage.work_dir / key
    if storage.remote and spooled.exists():
        return str(spooled)  # upload failed: still in the spool
    return storage.display(key)
