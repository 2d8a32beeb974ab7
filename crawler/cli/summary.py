"""The end-of-run lines a user reads: counts in plain words that agree with the run report.

An incremental run reads "295 articles archived (0 new, 295 already archived)": what the
archive holds for the seed after the run, and where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 WARC file``, ``2 WARC files``; ``many`` for irregular plurals."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def archived_words(counts: Mapping[str, Any]) -> str:
    """``55 articles archived (0 new, 55 already archived)``, with ``N changed`` when some were."""
    parts = [f"{counts['new_articles']:,} new", f"{counts['already_archived']:,} already archived"]
    if counts.get("changed"):
        parts.append(f"{counts['changed']:,} changed")
    return f"{plural(counts['archived'], 'article')} archived ({', '.join(parts)})"


def _article_pages(counts: Mapping[str, Any]) -> int:
    return counts.get("pages_by_kind", {}).get("article", 0)


def _unextracted(counts: Mapping[str, Any]) -> str:
    """What became of a crawl's article pages with extraction off: archived for replay, or (archiving
    off too) only fetched. "0 articles archived" would read as if its pages were lost."""
    if counts.get("warc_files"):
        return "archived, not extracted (extraction off: `newswarc replay` extracts them)"
    return "fetched, not archived or extracted (archiving and extraction off)"


def archived_unextracted(counts: Mapping[str, Any]) -> str:
    """``55 article pages archived, not extracted (...)``: the count for a crawl with extraction off."""
    return f"{plural(_article_pages(counts), 'article page')} {_unextracted(counts)}"


def crawl_summary(report: Mapping[str, Any], *, extracting: bool = True) -> list[str]:
    """The summary of one seed's crawl: two lines, counts and the report's location."""
    c = report["counts"]
    archived = archived_words(c) if extracting else archived_unextracted(c)
    return [
        f"{report['seed']}: {plural(c['pages'], 'page')}, {archived}, {c['failed']:,} failed, "
        f"{plural(c['warc_files'], 'WARC file')}, {plural(report['bytes']['downloaded'], 'byte')} in "
        f"{report['duration_seconds']:.1f}s -> {report['output']}",
        f"  report: {report.get('report_file', '')}",
    ]


def outcome_problem(report: Mapping[str, Any]) -> str | None:
    """The one line that says why a crawl did not do its job, or None when it did."""
    if report["status"] == "completed":
        return None
    if report["status"] == "failed":
        return f"{report['seed']}: no page could be fetched: {report['reason']}"
    return f"{report['seed']}: {report['reason']}"


def demo_line(reports: list[Mapping[str, Any]], public: int, *, extracting: bool = True) -> str:
    """How many of the demo site's public articles the archive holds after this run."""
    counts = reports[0]["counts"] if reports else None
    if counts is None:
        return f"Demo crawl: none of {public} public demo articles archived."
    if not extracting:
        return f"Demo crawl: {_article_pages(counts):,} article pages of {public:,} public demo articles {_unextracted(counts)}."
    return (f"Demo crawl: {counts['archived']:,} of {public:,} public demo articles archived "
            f"({counts['new_articles']:,} new, {counts['already_archived']:,} already archived) and extracted.")
