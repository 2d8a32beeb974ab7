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
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

from crawler.context import ALREADY_ARCHIVED, backup_state, release_state, run_context, state_run_key
from crawler.crawl.diskfull import disk_full, is_disk_full
from crawler.crawl.middlewares import SENT
from crawler.crawl.reasons import main_failure
from crawler.crawl.wacz_export import export_run
from crawler.output.report import by_prefix, extract_failures, run_report

logger = logging.getLogger(__name__)

def build_report(stats: dict[str, Any], *, run_id: str, seed: Any, started: datetime,
                 finished: datetime, output: str, sources: list[str] | None = None) -> dict[str, Any]:
    """The run report of a crawl (schema: :func:`crawler.output.report.run_report`)."""
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
                      sources=sources or (), replay=by_prefix(stats, "newswarc/replay/crawl/"))


def crawl_outcome(stats: dict[str, Any], counts: dict[str, Any], finish_reason: str) -> tuple[str, str | None]:
    """(status, reason): ``failed`` when no page could be fetched, ``incomplete`` when stopped early."""
    if finish_reason != "finished" and not finish_reason.startswith("closespider"):
        if finish_reason == "shutdown":
            return "incomplete", "interrupted before the end (Ctrl-C or SIGTERM); run the same command to resume"
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

    def spider_opened(self, spider) -> None:
        self.ctx = run_context(self.crawler)
        if self.ctx.state is not None:
            site = getattr(spider.seed, "name", spider.name)
            self.ctx.state.begin_run(state_run_key(self.ctx.run_id, site), [site])

    async def engine_stopped(self) -> None:
        await maybe_deferred_to_future(threads.deferToThread(self._finish))

    def _finish(self) -> None:
        ctx = getattr(self, "ctx", None) or run_context(self.crawler)
        seed = getattr(self.crawler.spider, "seed", None)
        storage = ctx.storage
        storage.wait()  # remote storage: let the uploads of this run finish first
        name = getattr(seed, "name", "run")
        wacz = export_run(ctx, self.crawler.settings, name)  # before the report, which names it
        counts = storage.upload_counts()  # the package's upload included
        failed = counts["failed"]
        if failed:
            self.crawler.stats.set_value("newswarc/storage/failed/s3", failed)
        report = build_report(self.crawler.stats.get_stats(), run_id=ctx.run_id, seed=seed,
                              started=ctx.started, finished=datetime.now(UTC), output=ctx.storage.display(),
                              sources=self.crawler.settings.getlist("NEWSWARC_REPLAY_SOURCES"))
        if wacz is not None:
            report["wacz"] = wacz
        if storage.remote:
            report["storage"] = {**counts, "spooled": storage.spooled()}
        if (quality := getattr(self.crawler, "newswarc_quality", None)) is not None:  # the pipeline's SiteQuality
            report["quality"] = {"sites": {name: quality.table(report["counts"]["pages_by_kind"])}}
        key = f"runs/{ctx.run_id}-{name}.json"
        try:
            ctx.storage.write_bytes(key, json.dumps(report, indent=2, sort_keys=True).encode() + b"\n")
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            # the summary says "report: (not written: no space left on device)"; the crawl's one line says why
            logger.info("The run report could not be written: %s", exc.strerror)
            key = ""
        if ctx.state is not None and disk_full(self.crawler):
            # SQLite may have rolled back what it could not commit: the run stays unfinished, so the
            # next run reads its JSONL back into the state (as after a kill) and nothing is fetched twice
            if release_state(ctx.state):
                backup_state(storage, self.crawler.settings)
        elif ctx.state is not None:
            try:
                ctx.state.end_run(state_run_key(ctx.run_id, name), report["status"], report["counts"])
            except Exception as exc:  # the run stays "unfinished": the next run recovers it from its JSONL
                if not is_disk_full(exc):
                    raise
                logger.debug("The crawl state could not record the end of the run: %s", exc)
            if release_state(ctx.state):  # the last crawl of this command to finish
                backup_state(storage, self.crawler.settings)
        ctx.storage.close()
        report["report_file"] = ctx.storage.display(key) if key else "(not written: no space left on device)"
        if storage.remote:
            report["storage"]["spooled"] = storage.spooled()  # the final count, the report itself included
            if (storage.work_dir / key).exists():
                report["report_file"] = str(storage.work_dir / key)  # upload failed: still in the spool
        self.crawler.newswarc_report = report
        logger.info("Run report written to %s", report["report_file"])
