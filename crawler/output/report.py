"""The run report: one schema for ``newswarc crawl`` (and ``demo``, ``replay --crawl``) and ``newswarc replay``.

``runs/RUN_ID-NAME.json`` says what a run did in counts that add up, and whether it did its
job: ``status`` is ``completed``, ``incomplete`` (stopped early) or ``failed`` (nothing could be
fetched or read), with ``reason`` in plain words when it is not ``completed`` cleanly. Every
field is documented in docs/settings.md ("Run reports").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from crawler import software_versions

# extraction skips that are failures (the page was an article, its text could not be had);
# time_cap is the extractor's own CPU cap, timeout the pool's wall-clock one: both lose the article
EXTRACT_FAILURES = ("timeout", "time_cap", "crashed", "cancelled", "error:")


def by_prefix(stats: Mapping[str, Any], prefix: str) -> dict[str, int]:
    """``{rest: value}`` for the integer stats under ``prefix``."""
    return {k[len(prefix):]: v for k, v in sorted(stats.items()) if k.startswith(prefix) and isinstance(v, int)
            and not isinstance(v, bool)}


def _stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def empty_counts() -> dict[str, Any]:
    """Every ``counts`` field, zero: what a run that did nothing reports."""
    return {
        "requests": 0, "requests_by_route": {}, "retries": 0,
        "pages": 0, "pages_by_status": {}, "pages_by_kind": {},
        "archived": 0, "articles": 0, "new_articles": 0, "changed": 0, "already_archived": 0, "failed": 0,
        "skipped_by_state": 0, "duplicates": {}, "errors": 0, "errors_by_kind": {}, "skipped": {},
        "robots_forbidden": 0, "offsite": 0, "warc_records": {}, "warc_files": 0,
    }


def run_report(*, command: str, run_id: str, seed: Any, output: str, started: datetime, finished: datetime,
               counts: Mapping[str, Any], status: str, reason: str | None, finish_reason: str,
               downloaded: int = 0, warc_bytes: int = 0, sources: Sequence[str] = (),
               replay: Mapping[str, int] | None = None, damaged: Sequence[Mapping[str, Any]] = (),
               storage: Mapping[str, Any] | None = None, wacz: Mapping[str, Any] | None = None,
               quality: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report document; ``counts`` fills in :func:`empty_counts` (unknown keys are an error).

    ``storage`` is :func:`storage_summary`; ``wacz`` what the run's package holds (or its error);
    ``quality`` a crawl's per-site table, ``{site: table}``.
    """
    unknown = set(counts) - set(empty_counts())
    if unknown:
        raise ValueError(f"not run report counts: {sorted(unknown)}")
    versions = software_versions()
    return {
        "run_id": run_id,
        "command": command,
        "software": f"newswarc/{versions['newswarc']}",
        "software_versions": versions,
        "seed": getattr(seed, "name", None),
        "seed_file": getattr(seed, "path", None),
        "sources": list(sources),
        "output": output,
        "started": _stamp(started),
        "finished": _stamp(finished),
        "duration_seconds": round((finished - started).total_seconds(), 3),
        "status": status,
        "reason": reason,
        "finish_reason": finish_reason,
        "counts": {**empty_counts(), **counts},
        "bytes": {"downloaded": downloaded, "warc": warc_bytes},
        "storage": dict(storage) if storage is not None else None,
        "wacz": dict(wacz) if wacz is not None else None,
        "replay": dict(replay or {}),
        "damaged": [dict(d) for d in damaged],
        "quality": {"sites": dict(quality or {})},
    }


def storage_summary(storage: Any) -> dict[str, int] | None:
    """The report's ``storage``: upload counts and files still spooled for remote output, None for a directory."""
    if not storage.remote:
        return None
    return {**storage.upload_counts(), "spooled": storage.spooled()}


def extract_failures(skipped: Mapping[str, int]) -> int:
    """Extraction skips that are failures, from ``{reason: count}``."""
    return sum(v for k, v in skipped.items() if k.startswith(EXTRACT_FAILURES))
