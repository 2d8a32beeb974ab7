"""Faithful WARC capture of every network exchange (see docs/archive.md).

Public names: :class:`WarcLocation` (the pointer handed to the article pipeline),
``WarcCapture`` / ``OutlinkRecorder`` (Scrapy components, imported lazily so that reading
WARCs does not import Scrapy), :class:`RevisitIndex`, :func:`repair_open_files`, :func:`write_cdxj`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class WarcLocation:
    """Where a response landed: read it back with a seek to ``offset`` in ``file``."""

    file: str  # storage key, e.g. "warc/newswarc-20260101000000000-00001-host-123.warc.gz"
    offset: int
    length: int  # compressed length of the record's gzip member
    record_id: str
    record_type: Literal["response", "revisit"]
    payload_digest: str
    date: str


_LAZY = {
    "WarcCapture": "crawler.crawl.capture",
    "OutlinkRecorder": "crawler.crawl.capture",
    "RevisitIndex": "crawler.warc.writer",
    "repair_open_files": "crawler.warc.repair",
    "write_cdxj": "crawler.warc.cdxj",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["WarcLocation", *_LAZY]
