"""Scrapy's duplicate filter with 8 bytes a request: a crawl's memory stays flat in its size.

Scrapy's :class:`~scrapy.dupefilters.RFPDupeFilter` keeps every request's 20-byte fingerprint in a
Python set (about 90 bytes a request); :class:`CompactDupeFilter` keeps their first 8 bytes in a
:class:`~crawler.urls.DigestSet`. ``JOBDIR`` (``requests.seen``) works as in Scrapy.
A distributed worker's scheduler uses its own filter on Redis (``crawler.distributed.scheduler``).
"""

from __future__ import annotations

from typing import Any

from scrapy.dupefilters import RFPDupeFilter

from crawler.urls import DigestSet


class CompactDupeFilter(RFPDupeFilter):
    """``DUPEFILTER_CLASS`` of newswarc: :class:`RFPDupeFilter` over a :class:`DigestSet`."""

    def __init__(self, path: str | None = None, debug: bool = False, **kwargs: Any):
        super().__init__(path, debug, **kwargs)
        self._fingerprints = DigestSet(self._fingerprints)  # those of requests.seen (JOBDIR), if any
