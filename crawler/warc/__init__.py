"""WARC files: records, the writer process, rotation, ``.open`` repair, CDXJ, the reader and sources (see docs/archive.md).

Public name here: :class:`WarcLocation` (the pointer a written record hands to the article
pipeline). The Scrapy side of capture is :mod:`crawler.crawl.capture`; nothing in this package
imports Scrapy's engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


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


__all__ = ["WarcLocation"]
