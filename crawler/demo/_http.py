"""HTTP for the demo site: redirects, conditional requests (ETag, Last-Modified), gzip, common headers."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime, formatdate, parsedate_to_datetime

from crawler.demo._pages import HTML, Page


@dataclass
class DemoResponse:
    """What goes on the wire. ``headers`` keeps order and repeats; ``chunked`` asks the server for chunked framing."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    chunked: bool = False

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def header_list(self, name: str) -> list[str]:
        """Every value of header ``name``, in order."""
        return [v for k, v in self.headers if k.lower() == name.lower()]


def _redirect(status: int, location: str) -> Page:
    return Page(status, HTML, b"", headers=[("Location", location), ("X-Redirect-By", "WordPress")])


def _accepts_gzip(value: str) -> bool:
    for item in value.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip", "*"):
            q = params.strip().lower()
            try:
                return not (q.startswith("q=") and float(q[2:] or 0) == 0)
            except ValueError:
                return False  # a malformed weight: play safe, send identity
    return False


def _not_modified(page: Page, h: dict[str, str]) -> bool:
    if (inm := h.get("if-none-match")) is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or page.etag in tags
    if (ims := h.get("if-modified-since")) and page.last_modified:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        return page.last_modified.replace(microsecond=0) <= since
    return False


def _finish(page: Page, h: dict[str, str]) -> DemoResponse:
    """Conditional requests, gzip and the headers every response carries."""
    base = [("Date", formatdate(usegmt=True)), ("Server", "demo-gazette")]
    validators = []
    if page.etag:
        validators.append(("ETag", page.etag))
    if page.last_modified:
        validators.append(("Last-Modified", format_datetime(page.last_modified, usegmt=True)))
    if page.status == 200 and validators and _not_modified(page, h):
        return DemoResponse(304, base + validators, b"")
    headers = [*base, ("Content-Type", page.content_type)]
    body = page.body
    if page.content_type.startswith("text/html"):
        headers.append(("Vary", "Accept-Encoding"))
        if body and _accepts_gzip(h.get("accept-encoding", "")):
            body = gzip.compress(body, compresslevel=6, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
    return DemoResponse(page.status, headers + validators + page.headers, body, page.chunked)
