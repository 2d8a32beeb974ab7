"""Quality per publisher: what a run's articles look like, and whether a site broke since.

A publisher's redesign rarely makes a crawl fail: pages still come back 200 and still look
like articles, but the extractor now finds a teaser instead of the story, or no date. So each
run report gets a per-site table (:class:`SiteQuality`), and :func:`compare_runs` sets each
site's last run against the runs before it: a share of dated articles or a median length that
falls to half (or less) of what the earlier runs had, or a run whose article pages all gave
empty or short bodies, names the site.
"""

from __future__ import annotations

import statistics
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Extraction skips that mean "an article page whose body was (nearly) empty".
EMPTY_REASONS = ("no_text", "empty")
SHORT_REASONS = ("too_short",)
DROP_RATIO = 0.5  # a value at or below half of the baseline is a drop
BASELINE_RUNS = 3  # the baseline is the median of up to this many earlier runs
METRICS = {"share_dated": "share of dated articles", "median_words": "median length (words)"}


def _share(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


class SiteQuality:
    """Accumulates one site's articles of a run (thread-safe; word counts kept as 4-byte ints)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.words = array("I")
        self.days: Counter[str] = Counter()

    def add(self, row: Mapping[str, Any]) -> None:
        """One written article (its JSONL row)."""
        day = (row.get("published") or "")[:10] or (row.get("fetched_at") or "")[:10]
        with self._lock:
            c = self.counts
            c["articles"] += 1
            c["with_title"] += bool(row.get("title"))
            c["with_author"] += bool(row.get("authors"))
            c["with_date"] += bool(row.get("published"))
            c["with_language"] += bool(row.get("language"))
            c["paywalled"] += row.get("is_accessible_for_free") is False
            c["truncated_by_paywall"] += bool(row.get("truncated_by_paywall"))
            c["near_duplicates"] += bool(row.get("near_duplicate_of"))
            self.words.append(min(int(row.get("word_count") or 0), 2**32 - 1))
            if len(day) == 10:
                self.days[day] += 1

    def skipped(self, reason: str) -> None:
        """An article page the extractor gave up on (``no_text``, ``too_short``...)."""
        with self._lock:
            if reason in EMPTY_REASONS:
                self.counts["empty_bodies"] += 1
            elif reason in SHORT_REASONS:
                self.counts["short_bodies"] += 1

    def table(self, page_kinds: Mapping[str, int] | None = None) -> dict[str, Any]:
        """The report's entry for this site."""
        with self._lock:
            c, n = self.counts, self.counts["articles"]
            return {
                "articles": n,
                "share_title": _share(c["with_title"], n), "share_author": _share(c["with_author"], n),
                "share_dated": _share(c["with_date"], n), "share_language": _share(c["with_language"], n),
                "median_words": statistics.median(self.words) if self.words else None,
                "empty_bodies": c["empty_bodies"], "short_bodies": c["short_bodies"],
                "paywalled": c["paywalled"], "truncated_by_paywall": c["truncated_by_paywall"],
                "near_duplicates": c["near_duplicates"],
                "page_kinds": dict(sorted((page_kinds or {}).items())),
                "articles_by_day": dict(sorted(self.days.items())),
            }  # fmt: skip


# ------------------------------------------------------------------ comparing runs

@dataclass
class SiteRun:
    """One site in one run report."""

    run_id: str
    started: str
    quality: dict[str, Any]

    @property
    def judged(self) -> bool:
        """Did the run see article pages of the site (written, or given up on)?"""
        q = self.quality
        return bool(q.get("articles") or q.get("empty_bodies") or q.get("short_bodies"))


@dataclass
class SiteVerdict:
    site: str
    runs: list[SiteRun]
    drops: list[str] = field(default_factory=list)
    baseline: dict[str, float | None] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return bool(self.drops)


def site_runs(reports: Iterable[Mapping[str, Any]]) -> dict[str, list[SiteRun]]:
    """Each site's runs (those with a quality table), oldest first."""
    by_site: dict[str, list[SiteRun]] = {}
    for report in reports:
        for site, quality in (report.get("quality") or {}).get("sites", {}).items():
            by_site.setdefault(site, []).append(SiteRun(str(report.get("run_id")), str(report.get("started")), quality))
    for runs in by_site.values():
        runs.sort(key=lambda r: (r.started, r.run_id))
    return dict(sorted(by_site.items()))


def _baseline(runs: list[SiteRun], metric: str) -> float | None:
    values = [r.quality.get(metric) for r in runs[-BASELINE_RUNS:]]
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def compare_runs(reports: Iterable[Mapping[str, Any]]) -> list[SiteVerdict]:
    """A verdict per site: its last judged run against the median of the ones before it."""
    verdicts = []
    for site, runs in site_runs(reports).items():
        judged = [r for r in runs if r.judged]
        verdict = SiteVerdict(site, runs)
        verdicts.append(verdict)
        if len(judged) < 2:
            continue
        last, earlier = judged[-1], [r for r in judged[:-1] if r.quality.get("articles")]
        for metric, label in METRICS.items():
            base = verdict.baseline[metric] = _baseline(earlier, metric)
            if not base:
                continue
            now = last.quality.get(metric)
            if not last.quality.get("articles"):
                bad = (last.quality.get("empty_bodies") or 0) + (last.quality.get("short_bodies") or 0)
                verdict.drops.append(f"no article extracted in run {last.run_id} ({bad} empty or short bodies)")
                break
            if now is not None and now <= DROP_RATIO * base:
                verdict.drops.append(f"{label} fell from {base:g} to {now:g} in run {last.run_id}")
    return verdicts
