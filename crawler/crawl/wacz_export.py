"""One WACZ per run, written as the crawl ends (``[archive] wacz = true`` in a run profile).

Called by :class:`crawler.crawl.report.RunReport` once the run's WARC files are closed and committed
and before the run report is written (the report names the package). The package holds the
files this crawl closed (``RunContext.warc_files``) and the articles of its JSONL parts; it is
built at ``storage.local_path("wacz/RUN_ID-SEED.wacz")`` and committed like every other output
(uploaded for S3). Revisits of this run whose originals are in an earlier run's package name
that package under ``requires`` (local output; the packages of an S3 output are not downloaded
again), and ``wacz/collection.json`` lists every package for ReplayWeb.page (local output).
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

from crawler.crawl.diskfull import stop_for_disk_full
from crawler.errors import StorageError, is_disk_full
from crawler.warc.wacz import WaczError, WaczOptions, write_wacz
from crawler.warc.wacz_collection import write_collection
from crawler.warc.wacz_inputs import storage_inputs

logger = logging.getLogger(__name__)


def export_run(crawler: Any, ctx: Any, seed_name: str) -> dict[str, Any] | None:
    """Package this run; returns what the run report says about it (None when off or empty).

    Never raises for a package that could not be written or listed: the run report must still
    be written, the state released and the storage closed. A full disk goes the crawl's one
    disk-full way (:func:`~crawler.crawl.diskfull.stop_for_disk_full`), not an ERROR line.
    """
    settings = crawler.settings
    if not settings.getbool("NEWSWARC_ARCHIVE_WACZ") or not ctx.warc_files:
        return None
    storage = ctx.storage
    key = f"wacz/{ctx.run_id}-{seed_name}.wacz"
    out = storage.local_path(key)
    local = storage.work_dir / "wacz"
    earlier = [p for p in local.glob("*.wacz") if p.name != out.name] if local.is_dir() else []
    opts = WaczOptions(site=None, text=settings.getbool("NEWSWARC_ARCHIVE_WACZ_TEXT"), earlier=earlier,
                       title=f"newswarc: {seed_name}, run {ctx.run_id}")
    try:
        inputs, articles = storage_inputs(storage, warc_keys=list(ctx.warc_files), run_id=ctx.run_id)
        summary = write_wacz(inputs, out, articles=articles, options=opts)
    except (WaczError, StorageError, OSError) as exc:
        if is_disk_full(exc):
            stop_for_disk_full(crawler, "WACZ package")
        else:
            logger.error("Could not write the run's WACZ %s: %s", storage.display(key), exc)
        return {"error": str(exc)}
    storage.commit(key)
    storage.wait()  # remote storage: the report that follows counts what is still spooled
    if Path(out).exists():  # local output: the multi-WACZ list of all runs' packages
        try:
            write_collection(Path(out).parent, title=f"newswarc: {seed_name}")
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:  # a damaged package beside ours
            if is_disk_full(exc):
                stop_for_disk_full(crawler, "WACZ collection")
            else:
                logger.error("Could not write %s: %s", storage.display("wacz/collection.json"), exc)
    logger.info("Wrote %s (%d pages, %d index lines)", storage.display(key), summary.pages, summary.index_lines)
    return {"key": key, "pages": summary.pages, "bytes": summary.bytes,
            "requires": [r["name"] for r in summary.requires], "unresolved_revisits": summary.unresolved_revisits}
