"""The run report of a replay, in the crawl report's schema (:func:`crawler.output.report.run_report`).

A module of its own so that the replayer stays one job (reading and ordering pages); ``STATS`` is
the prefix of every replay counter, the report's and the CLI summary's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crawler.output.report import by_prefix, extract_failures, run_report

STATS = "newswarc/replay/"


def replay_report(result: Any, *, run_id: str, sources: Sequence[str], seed: Any, output: str,
                  started: datetime, finished: datetime) -> dict[str, Any]:
    """The run report of a replay, in the crawl report's schema (:func:`crawler.output.report.run_report`)."""
    s = result.stats
    get = lambda key: s.get(STATS + key, 0)  # noqa: E731
    extract_skipped = by_prefix(s, STATS + "extract/skipped/")
    damaged, unreadable = get("corrupt"), get("sources/unreadable")
    errors = {k: v for k, v in (("damaged", damaged), ("unreadable_source", unreadable)) if v}
    counts = {
        "pages": get("html_pages"),
        "pages_by_kind": by_prefix(s, STATS + "pages/"),
        "archived": get("articles"), "articles": get("articles"), "new_articles": get("articles"),
        "failed": extract_failures(extract_skipped),
        "duplicates": by_prefix(s, STATS + "duplicates/"),
        "errors": sum(errors.values()), "errors_by_kind": errors,
        "skipped": {**{f"replay/{k}": v for k, v in by_prefix(s, STATS + "skipped/").items()},
                    **{f"extract/{k}": v for k, v in extract_skipped.items()}},
    }
    status, reason = "completed", None
    if errors:
        parts = [f"{n} damaged place{'' if n == 1 else 's'} in the input skipped" if k == "damaged" else
                 f"{n} source{'' if n == 1 else 's'} could not be read" for k, n in errors.items()]
        reason = "; ".join(parts)
        if not get("records"):
            status = "failed"
    return run_report(command="replay", run_id=run_id, seed=seed, output=output, started=started, finished=finished,
                      counts=counts, status=status, reason=reason, finish_reason="finished", sources=sources,
                      replay=by_prefix(s, STATS), damaged=[c.__dict__ for c in result.corrupt])
