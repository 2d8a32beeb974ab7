"""Sitemaps (XML, gzip, plain text, Google News) to article and child-sitemap URLs.

Sitemaps in the wild are gzipped without saying so, carry BOMs, lose their namespaces,
break half-way, or are plain text. ``parse_sitemap`` recovers what it can and reports the
rest as ``kind="invalid"`` with a one-line reason; it never raises. The XML parser never
resolves entities nor touches the network (XXE-safe). The date and XML helpers here are
shared with ``feeds``.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.dates import parse_date

logger = logging.getLogger(__name__)

MAX_DECOMPRESSED = 50 * 1024 * 1024  # the sitemap protocol's own limit
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1024 * 1024


class BodyTooLarge(ValueError):
    """A gzip body inflates past the cap (a sitemap bomb or a mislabelled archive)."""


def gunzip_capped(body: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Inflate gzip ``body`` (detected by magic bytes) in chunks, refusing more than ``limit``.

    A truncated stream keeps what was inflated so far; a body that is not gzip at all comes
    back unchanged. Raises ``BodyTooLarge`` or ``ValueError`` (corrupt stream, nothing read).
    """
    if not body.startswith(_GZIP_MAGIC):
        return body
    out = BytesIO()
    try:
        with gzip.GzipFile(fileobj=BytesIO(body)) as gz:
            while chunk := gz.read(_CHUNK):
                out.write(chunk)
                if out.tell() > limit:
                    raise BodyTooLarge(f"too large: more than {limit} bytes after gunzip")
    except (OSError, EOFError, zlib.error) as exc:
        if not out.tell():
            raise ValueError(f"bad gzip: {exc}") from exc
        logger.debug("truncated gzip stream, keeping %d bytes: %s", out.tell(), exc)
    return out.getvalue()


_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.S | re.I)
_ENTITY_REF = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)[A-Za-z_][\w.-]*;")


def xml_root(data: bytes, url: str) -> tuple[etree._Element | None, str | None]:
    """Parse XML safely and leniently: (root or None, first parser error or None).

    ``recover=True`` keeps what lxml can; entities are not resolved, DTDs not loaded, no
    network, and ``huge_tree`` stays off so pathological documents are cut short.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    data = data.lstrip()
    if b"<!DOCTYPE" in data[:4096] or b"<!doctype" in data[:4096]:
        # entities are never expanded (billion laughs); but an unexpanded reference made lxml drop
        # everything after it: the internal subset and the references to its entities go
        data = _ENTITY_REF.sub(b"", _DOCTYPE.sub(b"", data, count=1))
    parser = etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser, base_url=url or None)
    except (etree.XMLSyntaxError, ValueError) as exc:
        return None, _one_line(str(exc)) or "not XML"
    errors = parser.error_log.filter_from_errors()
    first = _one_line(errors[0].message) if len(errors) else None
    return root, first


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:200]


def localname(el: etree._Element) -> str:
    """Element name without namespace ('' for comments and other non-elements)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2]


def child(el: etree._Element, name: str) -> etree._Element | None:
    """First direct child element called ``name`` in any (or no) namespace."""
    for c in el:
        if localname(c) == name:
            return c
    return None


def child_text(el: etree._Element, name: str) -> str | None:
    """Stripped text of the first direct child called ``name``, or None if absent or empty."""
    return _text(child(el, name))


_ABSOLUTE_HTTP = re.compile(r"^https?://[a-z0-9.-]+(?::\d+)?(?:[/?#][^\s\\]*)?$", re.I)


def absolute_http(href: str | None, base: str) -> str | None:
    """``href`` made absolute against ``base`` if it is http(s); None otherwise."""
    if not href:
        return None
    href = href.strip().replace("\n", "").replace("\t", "").replace("\r", "")
    if not href:
        return None
    if _ABSOLUTE_HTTP.match(href):  # fast path: most sitemap and feed URLs are already absolute
        return href
    try:
        full = urljoin(base, href) if base else href
        parts = urlsplit(full)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return full


@dataclass(frozen=True)
class SitemapEntry:
    """One ``<url>`` (a page) or, in an index, one ``<sitemap>`` (a child sitemap)."""

    loc: str
    lastmod: datetime | None = None
    news_publication_date: datetime | None = None
    news_title: str | None = None
    news_language: str | None = None


@dataclass
class Sitemap:
    """A parsed sitemap: ``kind`` is ``urlset``, ``sitemapindex`` or ``invalid`` (see ``error``)."""

    kind: str
    entries: list[SitemapEntry] = field(default_factory=list)
    error: str | None = None
    recovered: bool = False  # broken XML, entries are what lxml could recover


def _invalid(error: str) -> Sitemap:
    return Sitemap(kind="invalid", entries=[], error=_one_line(error))


def _text_sitemap(data: bytes, url: str) -> Sitemap:
    """Plain-text sitemap: one absolute URL per line; anything else means it is not one."""
    text = data.decode("utf-8", errors="replace")
    entries: list[SitemapEntry] = []
    seen: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.lower().startswith(("http://", "https://")) or " " in line:
            continue
        loc = absolute_http(line, url)
        if loc and loc not in seen:
            seen.add(loc)
            entries.append(SitemapEntry(loc=loc))
    if not entries:
        return _invalid("not a sitemap: no XML and no URL lines")
    return Sitemap(kind="urlset", entries=entries)


def _children(el: etree._Element) -> dict[str, etree._Element]:
    """Direct children by local name (first one wins), in one pass."""
    out: dict[str, etree._Element] = {}
    for c in el:
        name = localname(c)
        if name and name not in out:
            out[name] = c
    return out


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    text = (el.text or "").strip() if len(el) == 0 else "".join(el.itertext()).strip()
    return text or None


def _entry(el: etree._Element, url: str) -> SitemapEntry | None:
    parts = _children(el)
    loc = absolute_http(_text(parts.get("loc")), url)
    if loc is None:
        return None
    pub = title = lang = None
    news = parts.get("news")
    if news is not None:
        pub = parse_date(child_text(news, "publication_date"))
        title = child_text(news, "title")
        publication = child(news, "publication")
        if publication is not None:
            lang = child_text(publication, "language")
    return SitemapEntry(
        loc=loc,
        lastmod=parse_date(_text(parts.get("lastmod"))),
        news_publication_date=pub,
        news_title=title,
        news_language=lang,
    )


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    """Parse a sitemap, sitemap index or text sitemap; never raises.

    Args:
        body: the response body, gzip or not (detected by magic bytes, capped at 50 MB).
        url: where it came from; relative ``<loc>`` values are resolved against it.
    Returns:
        a ``Sitemap``; ``kind="invalid"`` with a one-line ``error`` when nothing usable was found.
    """
    try:
        data = gunzip_capped(body or b"")
        if data.startswith(_GZIP_MAGIC):  # gzip inside gzip (.gz file sent with Content-Encoding)
            data = gunzip_capped(data)
    except ValueError as exc:
        return _invalid(str(exc))
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return _invalid("empty body")
    if not head.startswith(b"<") and b"\x00" not in head:
        return _text_sitemap(data, url)
    root, error = xml_root(data, url)
    if root is None:
        return _invalid(f"not XML: {error or 'nothing parseable'}")
    kind = localname(root)
    if kind not in ("urlset", "sitemapindex"):
        return _invalid(f"not a sitemap: root element is <{kind or '?'}>")
    item_name = "url" if kind == "urlset" else "sitemap"
    entries: list[SitemapEntry] = []
    seen: set[str] = set()
    for el in root:
        if localname(el) != item_name:
            continue
        entry = _entry(el, url)
        if entry is not None and entry.loc not in seen:
            seen.add(entry.loc)
            entries.append(entry)
    if error and not entries:
        return _invalid(f"broken XML: {error}")
    if error:
        logger.debug("sitemap %s is broken XML (%s); recovered %d entries", url, error, len(entries))
    return Sitemap(kind=kind, entries=entries, error=None, recovered=bool(error))


_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def first_element_name(head: bytes) -> str | None:
    """Local name of the first element in an XML/HTML prefix (skipping ``<?...?>`` and ``<!...>``)."""
    m = _ROOT_TAG.search(head)
    return m.group(2).decode("ascii") if m else None


def looks_like_sitemap(body: bytes) -> bool:
    """Cheap sniff: does this body (gzip or not) start like a sitemap or sitemap index?"""
    head = (body or b"")[:4096]
    if head.startswith(_GZIP_MAGIC):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
        except zlib.error:
            return False
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return first_element_name(head) in ("urlset", "sitemapindex")
    lines = [ln.strip() for ln in head.splitlines()[:5] if ln.strip()]
    return bool(lines) and all(ln.lower().startswith((b"http://", b"https://")) for ln in lines)


__all__ = ["Sitemap", "SitemapEntry", "looks_like_sitemap", "parse_date", "parse_sitemap"]
