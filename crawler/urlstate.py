"""What the crawl state knows of a URL and of a run, and the merge rules every state backend shares.

:class:`crawler.state.CrawlState` (SQLite) and :class:`crawler.distributed.state.RedisCrawlState`
store the same records and merge a fetch by the same rules, so that a fleet and a single machine
decide "archived already" and "unchanged sitemap entry" alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawler.dates import parse_iso

KINDS = frozenset({"article", "index", "feed", "sitemap", "other"})

URL_COLUMNS = (
    "url", "first_seen", "fetched_at", "status", "etag", "last_modified", "payload_digest",
    "article_id", "kind", "warc_file", "warc_offset", "warc_record_id", "date", "sitemap_lastmod",
    "published",
)  # fmt: skip
_GOOD_STATUS = range(200, 400)


@dataclass(frozen=True, slots=True)
class UrlState:
    """What we know about one canonical URL; times are UTC ISO 8601 strings."""

    url: str
    first_seen: str
    fetched_at: str | None
    status: int | None
    etag: str | None
    last_modified: str | None
    payload_digest: str | None
    article_id: str | None
    kind: str
    warc_file: str | None
    warc_offset: int | None
    warc_record_id: str | None
    date: str | None
    sitemap_lastmod: str | None
    published: str | None


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One crawl run; ``status`` is ``"running"`` until :meth:`crawler.state.CrawlState.end_run` (or forever after a crash)."""

    run_id: str
    seeds: tuple[str, ...]
    started_at: str
    ended_at: str | None
    status: str
    counts: dict[str, Any] = field(default_factory=dict)


def now_iso() -> str:
    """Now, UTC, to the second: the form of every time the crawl state stores."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _warc_field(warc: Any, name: str) -> Any:
    return warc.get(name) if isinstance(warc, Mapping) else getattr(warc, name, None)


def merge_fetch(old: UrlState | None, url: str, *, status: int, etag: str | None, last_modified: str | None,
                payload_digest: str | None, kind: str, article_id: str | None = None, warc: Any = None,
                published: str | None = None, sitemap_lastmod: str | None = None) -> dict[str, Any]:
    """The stored fields of ``url`` after a fetch (see :meth:`crawler.state.CrawlState.record_fetch`); shared by
    every state backend, so that SQLite and Redis keep the same rules."""
    if kind not in KINDS:
        raise ValueError(f"unknown page kind {kind!r}; expected one of {sorted(KINDS)}")
    new: dict[str, Any] = {
        "etag": etag, "last_modified": last_modified, "article_id": article_id,
        "published": published, "sitemap_lastmod": sitemap_lastmod,
    }  # fmt: skip
    if status != 304:
        new["payload_digest"] = payload_digest
        if warc is not None:
            new.update(
                warc_file=_warc_field(warc, "file"), warc_offset=_warc_field(warc, "offset"),
                warc_record_id=_warc_field(warc, "record_id"), date=_warc_field(warc, "date"),
            )  # fmt: skip
    merged = {name: getattr(old, name) if old else None for name in URL_COLUMNS}
    merged.update({name: value for name, value in new.items() if value is not None})
    now = now_iso()
    merged.update(url=url, first_seen=merged["first_seen"] or now, fetched_at=now, status=status, kind=kind)
    return merged


def sitemap_entry_seen(state: UrlState | None, lastmod: datetime | None) -> bool:
    """The rule of :meth:`crawler.state.CrawlState.seen_sitemap_entry`, for every state backend."""
    if state is None or state.status not in _GOOD_STATUS:
        return False
    if lastmod is None:
        return True
    known = parse_iso(state.sitemap_lastmod) or parse_iso(state.fetched_at)
    if known is None:
        return False
    lastmod = lastmod.replace(tzinfo=UTC) if lastmod.tzinfo is None else lastmod
    return lastmod <= known
