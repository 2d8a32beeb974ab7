"""One WACZ per run, written as the crawl ends (``[archive] wacz = true`` in a run profile).

Called by :class:`crawler.report.RunReport` once the run's WARC files are closed and committed
and before the run report is written (the report names the package). The package holds the
files this crawl closed (``RunContext.warc_files``) and the articles of its JSONL parts; it is
built at ``storage.local_path("wacz/RUN_ID-SEED.wacz")`` and committed like every other output
(uploaded for S3). Revisits of this run whose originals are in an earlier run's package name
that package under ``requires`` (local output; the packages of an S3 output are not downloaded
again), and ``wacz/collection.json`` lists every package for ReplayWeb.page (local output).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from crawler.warc.wacz import WaczError, WaczOptions, write_wacz
from crawler.warc.wacz_collection import write_collection
from crawler.warc.wacz_inputs import storage_inputs

logger = logging.getLogger(__name__)


def export_run(ctx: Any, settings: Any, seed_name: str) -> dict[str, Any] | None:
    """Package this run; returns what the run report says about it (None when off or empty)."""
    if not settings.getbool("NEWSWARC_ARCHIVE_WACZ") or not ctx.warc_files:
        return None
    storage = ctx.storage
    key = f"wacz/{ctx.run_id}-{seed_name}.wacz"
    out = storage.local_path(key)
    local = storage.work_dir / "wacz"
    earlier = [p for p in local.glob("*.wacz") if p.name != out.name] if local.is_dir() else []
    inputs, articles = storage_inputs(storage, warc_keys=list(ctx.warc_files), run_id=ctx.run_id)
    opts = WaczOptions(site=None, text=settings.getbool("NEWSWARC_ARCHIVE_WACZ_TEXT"), earlier=earlier,
                       title=f"newswarc: {seed_name}, run {ctx.run_id}")
    try:
        summary = write_wacz(inputs, out, articles=articles, options=opts)
    except (WaczError, OSError) as exc:
        logger.error("Could not write the run's WACZ %s: %s", storage.display(key), exc)
        return {"error": str(exc)}
    storage.commit(key)
    if hasattr(storage, "wait"):  # remote storage: the report that follows counts what is still spooled
        storage.wait()
    if Path(out).exists():  # local output: the multi-WACZ list of all runs' packages
        write_collection(Path(out).parent, title=f"newswarc: {seed_name}")
    logger.info("Wrote %s (%d pages, %d index lines)", storage.display(key), summary.pages, summary.index_lines)
    return {"key": key, "pages": summary.pages, "bytes": summary.bytes,
            "requires": [r["name"] for r in summary.requires], "unresolved_revisits": summary.unresolved_revisits}
