"""Run reports: one JSON document per crawl under ``runs/``, written through storage.

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

from crawler import __version__
from crawler.context import backup_state, release_state, run_context, state_run_key
from crawler.crawl.diskfull import disk_full, is_disk_full

logger = logging.getLogger(__name__)

PREFIXES = {
    "errors": ("newswarc/crawl/errors/", "newswarc/extract/skipped/", "newswarc/crawl/skipped/",
               "newswarc/storage/failed/"),
}


def _by_prefix(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: v for k, v in sorted(stats.items()) if k.startswith(prefix) and isinstance(v, int)}


def build_report(stats: dict[str, Any], *, run_id: str, seed: Any, started: datetime,
                 finished: datetime, output: str) -> dict[str, Any]:
    """The run report: what was fetched, found, written and what went wrong, by kind."""
    errors = _by_prefix(stats, "newswarc/crawl/errors/")
    skipped = {**{f"crawl/{k}": v for k, v in _by_prefix(stats, "newswarc/crawl/skipped/").items()},
               **{f"extract/{k}": v for k, v in _by_prefix(stats, "newswarc/extract/skipped/").items()}}
    pages = stats.get("downloader/response_count", 0)
    reason = stats.get("finish_reason", "unknown")
    report = {
        "run_id": run_id,
        "software": f"newswarc/{__version__}",
        "seed": getattr(seed, "name", None),
        "seed_file": getattr(seed, "path", None),
        "output": output,
        "started": started.isoformat().replace("+00:00", "Z"),
        "finished": finished.isoformat().replace("+00:00", "Z"),
        "duration_seconds": round((finished - started).total_seconds(), 3),
        "finish_reason": reason,
        "status": "completed" if reason in ("finished",) or str(reason).startswith("closespider") else "incomplete",
        "counts": {
            "requests": stats.get("downloader/request_count", 0),
            "pages": pages,
            "pages_by_status": _by_prefix(stats, "downloader/response_status_count/"),
            "pages_by_kind": _by_prefix(stats, "newswarc/crawl/pages/"),
            "requests_by_route": _by_prefix(stats, "newswarc/crawl/requests/"),
            "articles": stats.get("newswarc/extract/articles", 0),
            "new_articles": stats.get("newswarc/extract/articles", 0) - stats.get("newswarc/crawl/changed", 0),
            # not fetched (known from the state), answered 304, or fetched with the same text
            "unchanged": stats.get("newswarc/crawl/skipped/archived_before", 0)
            + stats.get("newswarc/crawl/not_modified", 0) + stats.get("newswarc/crawl/unchanged", 0),
            "changed": stats.get("newswarc/crawl/changed", 0),
            "skipped_by_state": stats.get("newswarc/crawl/skipped/archived_before", 0)
            + stats.get("newswarc/crawl/skipped/unchanged_lastmod", 0),
            "duplicates": _by_prefix(stats, "newswarc/extract/duplicates/"),
            "errors": sum(errors.values()),
            "errors_by_kind": errors,
            "skipped": skipped,
            "robots_forbidden": stats.get("robotstxt/forbidden", 0),
            "offsite": stats.get("newswarc/crawl/offsite", 0),
            "warc_records": _by_prefix(stats, "newswarc/archive/records/"),
            "warc_files": stats.get("newswarc/archive/files", 0),
        },
        "bytes": {
            "downloaded": stats.get("downloader/response_bytes", 0),
            "warc": stats.get("newswarc/archive/bytes", 0),
        },
    }
    if replay := _by_prefix(stats, "newswarc/replay/crawl/"):  # replay --crawl: served, missing, damage
        report["replay"] = replay
    return report


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
        if hasattr(storage, "wait"):  # remote storage: let the uploads of this run finish first
            storage.wait()
        failed = getattr(storage, "failed", 0)
        if failed:
            self.crawler.stats.set_value("newswarc/storage/failed/s3", failed)
        report = build_report(self.crawler.stats.get_stats(), run_id=ctx.run_id, seed=seed,
                              started=ctx.started, finished=datetime.now(UTC), output=ctx.storage.display())
        if hasattr(storage, "uploaded"):
            report["storage"] = {"uploaded": storage.uploaded, "failed": failed,
                                 "bytes_uploaded": storage.bytes_uploaded,
                                 "spooled": storage.spooled() if hasattr(storage, "spooled") else 0}
        name = getattr(seed, "name", "run")
        key = f"runs/{ctx.run_id}-{name}.json"
        try:
            ctx.storage.write_bytes(key, json.dumps(report, indent=2, sort_keys=True).encode() + b"\n")
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            logger.error("The run report could not be written: %s", exc.strerror)
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
        if hasattr(storage, "spooled"):
            report["storage"]["spooled"] = storage.spooled()  # the final count, the report itself included
            if (storage.work_dir / key).exists():
                report["report_file"] = str(storage.work_dir / key)  # upload failed: still in the spool
        self.crawler.newswarc_report = report
        logger.info("Run report written to %s", report["report_file"])
