"""What the spider hands to the pipelines: a fetched page it believes is an article."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ArticlePage:
    """A fetched article page, before extraction.

    ``body`` is the content-decoded body (the WARC keeps the wire bytes); ``capture`` resolves
    to the :class:`~crawler.warc.WarcLocation` of its response record once it is written.
    """

    url: str
    site: str
    route: str
    depth: int
    status: int
    body: bytes = field(repr=False)
    charset: str | None
    fetched_at: datetime
    capture: Future | None = field(default=None, repr=False)
    discovered: dict[str, Any] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    redirect_urls: list[str] = field(default_factory=list)
    kind_reason: str | None = None  # why classify_page called it an article (``PageKind.reason``)
