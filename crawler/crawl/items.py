"""What the spider hands to the pipelines: a fetched page it believes is an article."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.http import Response


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

    @classmethod
    def from_response(cls, response: Response, *, site: str, depth: int, kind_reason: str | None) -> ArticlePage:
        """The page as the spider saw it: route, capture and discovery facts from ``response.meta``."""
        meta = response.meta
        return cls(
            url=response.url,
            site=site,
            route=meta.get("newswarc_route", "link"),
            depth=depth,
            status=response.status,
            body=response.body,
            charset=response.encoding,
            fetched_at=datetime.now(UTC),
            capture=meta.get("newswarc_capture"),
            discovered=meta.get("newswarc_discovered", {}),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            redirect_urls=list(meta.get("redirect_urls", [])),
            kind_reason=kind_reason,
        )


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
