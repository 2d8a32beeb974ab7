"""The one schema of an exported article: every article field, its groups and flags, its provenance.

Every row of ``newswarc export`` has every column, in this order, whatever the archive (a field
an old JSONL line lacks is null), so files of different runs and sites concatenate. Times are
UTC timestamps; ``published`` and ``updated`` stay the strings the page stated (ISO 8601,
with the page's own offset, or a bare date), and ``published_at`` is ``published`` in UTC.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pyarrow as pa

from crawler.dates import parse_iso

_TS = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())

# (name, type, meaning): docs/datasets.md is the same table
FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("id", pa.string(), "article id: first 20 hex chars of sha256(canonical_url); stable across runs"),
    ("site", pa.string(), "the seed (publisher) name"),
    ("url", pa.string(), "the URL the article was fetched from"),
    ("canonical_url", pa.string(), "the page's canonical URL (same site), canonicalized"),
    ("title", pa.string(), "headline"),
    ("text", pa.string(), "body text, one paragraph per line (NFC, whitespace collapsed)"),
    ("authors", _STRINGS, "author names"),
    ("published", pa.string(), "publication time as the page states it (ISO 8601)"),
    ("published_at", _TS, "`published` in UTC (a bare date is midnight UTC)"),
    ("published_month", pa.string(), "YYYY-MM of `published_at` (a bare date: its own month), else null;"
     " the partition (`unknown` when null)"),
    ("updated", pa.string(), "last modification time as the page states it"),
    ("language", pa.string(), "ISO 639-1 code: the seed's, the page's, or detected"),
    ("site_name", pa.string(), "the publisher's name as the page states it"),
    ("description", pa.string(), "summary from the page's metadata"),
    ("categories", _STRINGS, "sections"),
    ("tags", _STRINGS, "keywords"),
    ("image", pa.string(), "lead image URL"),
    ("word_count", pa.int32(), "words of `text` (a CJK character counts as one)"),
    ("text_sha256", pa.string(), "sha256 of `text`: exact copies share it"),
    ("is_accessible_for_free", pa.bool_(), "false: behind a paywall; null: the page gives no sign"),
    ("truncated_by_paywall", pa.bool_(), "the body stops where the paywall starts"),
    ("near_duplicate_of", pa.string(), "id of the first archived copy of the same story, else null"),
    ("near_duplicate_similarity", pa.float32(), "estimated Jaccard similarity to the closest copy"),
    ("route", pa.string(), "how the crawl found it: sitemap, feed, section..."),
    ("kind_reason", pa.string(), "why the page was taken for an article (a short token of the page classifier)"),
    ("version_of", pa.string(), "set on a later version of an article archived before (= id)"),
    ("sitemap_lastmod", pa.string(), "the sitemap's lastmod for it"),
    ("news_publication_date", pa.string(), "Google News sitemap publication date"),
    ("news_title", pa.string(), "Google News sitemap title"),
    ("feed_title", pa.string(), "title in the RSS/Atom feed"),
    ("feed_published", pa.string(), "date in the feed"),
    ("fetched_at", _TS, "capture time (WARC-Date of the response record)"),
    ("run_id", pa.string(), "the crawl (or replay) run that wrote it"),
    ("text_path", pa.string(), "the text file in the archive"),
    ("warc_file", pa.string(), "WARC file of the response record (archive key, path or URI)"),
    ("warc_offset", pa.int64(), "byte offset of the record (its gzip member) in warc_file"),
    ("warc_length", pa.int64(), "bytes of the record (its gzip member)"),
    ("warc_record_id", pa.string(), "WARC-Record-ID of the response record"),
]
SCHEMA = pa.schema([pa.field(name, kind) for name, kind, _ in FIELDS])
NAMES = [name for name, _, _ in FIELDS]
_INTS = {name for name, kind, _ in FIELDS if pa.types.is_integer(kind)}
_LISTS = {name for name, kind, _ in FIELDS if pa.types.is_list(kind)}
_TIMES = {name for name, kind, _ in FIELDS if pa.types.is_timestamp(kind)}
_BOOLS = {name for name, kind, _ in FIELDS if pa.types.is_boolean(kind)}
_FLOATS = {name for name, kind, _ in FIELDS if pa.types.is_floating(kind)}
_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_utc(value: Any) -> datetime | None:
    """:func:`crawler.dates.parse_iso` for a JSONL value of any type (not a string: None)."""
    return parse_iso(value) if isinstance(value, str) else None


def month_of(published: Any) -> str | None:
    """``YYYY-MM`` of a publication time in UTC (the bare date's own month)."""
    if isinstance(published, str) and _BARE_DATE.match(published.strip()):
        return published.strip()[:7]
    when = parse_utc(published)
    return f"{when:%Y-%m}" if when else None


def _clean(name: str, value: Any) -> Any:
    """A JSONL value in the column's type; a value of the wrong shape becomes null, never an error."""
    if value is None:
        return None
    if name in _TIMES:
        return parse_utc(value)
    if name in _LISTS:
        return [str(v) for v in value] if isinstance(value, list) else None
    if name in _BOOLS:
        return value if isinstance(value, bool) else None
    if name in _INTS:
        return value if isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63 else None
    if name in _FLOATS:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return value if isinstance(value, str) else str(value)


def to_record(row: dict[str, Any], *, run_id: str) -> dict[str, Any]:
    """An archive JSONL row as an export record with exactly the schema's columns."""
    record = {name: _clean(name, row.get(name)) for name in NAMES}
    record["published_at"] = parse_utc(row.get("published"))
    record["published_month"] = month_of(row.get("published"))
    if record["word_count"] is not None and not -2**31 <= record["word_count"] < 2**31:
        record["word_count"] = None
    record["run_id"] = run_id
    return record


def json_record(record: dict[str, Any]) -> dict[str, Any]:
    """An export record for JSONL output: times as ``...Z`` strings, the rest unchanged."""
    out = dict(record)
    for name in _TIMES:
        if isinstance(out.get(name), datetime):
            out[name] = out[name].isoformat().replace("+00:00", "Z")
    return out
