"""What a replay worker does with one archived page: decode it, classify it, extract it.

This runs in an :class:`~crawler.extract.pool.ExtractionPool` worker, not in the process that
reads the WARCs: undoing the encodings, parsing the page to classify it and extracting it are
the CPU-heavy steps of a replay, and they spread over every core this way, while the reader
only parses record headers and writes results in input order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from crawler.config.extract import ExtractOptions
from crawler.discovery.links import parse_html
from crawler.discovery.pagekind import PageKind, classify_page
from crawler.extract.api import Article, extract_with_reason, parse_page
from crawler.urls import canonicalize_url
from crawler.warc.codecs import DecodeError, dechunk, decode_payload, header_values

logger = logging.getLogger(__name__)


class ReplayedPage(NamedTuple):
    """A page's fate: ``kind`` is ``article``, ``index``, ``other`` or ``undecodable``.

    ``reason`` says why there is no article: the decode error (``bad_encoding``, ``too_large``,
    ``unknown_encoding``) or the extractor's reason (``no_text``, ``too_short``...).
    ``canonical`` is the page URL canonicalized as the spider does (one article per page URL).
    """

    kind: str
    article: Article | None
    reason: str | None
    canonical: str = ""
    mismatch: bool = False  # the body was not what its Content-Encoding says and was used as it is
    kind_reason: str | None = None  # classify_page's reason, as the crawl records it


def replay_page(body: bytes, url: str, http_headers: Sequence[tuple[str, str]], *, max_decoded: int,
                article_patterns: Sequence[re.Pattern[str]] = (), deny_patterns: Sequence[re.Pattern[str]] = (),
                options: ExtractOptions | None = None) -> ReplayedPage:
    """Do for an archived 200 HTML payload what the crawl does for a downloaded one: its decoding
    (every Content-Encoding header, at most ``max_decoded`` bytes: ``NEWSWARC_ARCHIVE_MAX_DECODED``),
    its classification, its extraction."""
    headers = first_values(http_headers)
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = dechunk(body)
        body, mismatch = decode_payload(body, header_values(http_headers, "content-encoding"), max_decoded)
    except DecodeError as exc:
        return ReplayedPage("undecodable", None, str(exc))
    # decoded as the spider decodes it (analyse_page): the encoding Scrapy gives the response
    charset = scrapy_encoding(url, body, headers)
    # One parse for both steps: the extractor's tree, classified before extraction prunes it (the
    # classifier gives it the verdicts it gives the spider's parse_html tree: comments and
    # processing instructions, which only the extractor's parser drops, carry no signal it reads).
    # Without a charset, or when the extractor refuses the page, the spider's own parse classifies.
    tree = parse_page(body, charset)[0] if charset else None
    seen = tree if tree is not None else parse_html(body, headers.get("content-type"), charset=charset)
    kind = classify_page(body, url, article_patterns=article_patterns, deny_patterns=deny_patterns, tree=seen) \
        if seen is not None else PageKind("other", "unparseable")
    if kind.kind != "article":
        return ReplayedPage(kind.kind, None, None, mismatch=mismatch, kind_reason=kind.reason)
    article, reason = extract_with_reason(body, url, charset=charset, options=options, tree=tree)
    return ReplayedPage("article", article, reason, canonicalize_url(url), mismatch, kind.reason)


def replay_page_in_pool(*args: Any, **kwargs: Any) -> tuple[ReplayedPage, None]:
    """:func:`replay_page` as the extraction pool runs a function: a ``(value, reason)`` pair."""
    return replay_page(*args, **kwargs), None


def first_values(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased header names mapped to their first value."""
    found: dict[str, str] = {}
    for name, value in pairs:
        found.setdefault(name.lower(), value)
    return found


def scrapy_encoding(url: str, body: bytes, headers: dict[str, str]) -> str | None:
    """The encoding Scrapy would give ``response.encoding`` (header, BOM, <meta>, inference)."""
    # start-up: scrapy.http costs ~0.7 s per worker; the pool's fork server preloads it (PAGE_PRELOAD)
    from scrapy.http import HtmlResponse

    try:
        return HtmlResponse(url=url, body=body, headers={"Content-Type": headers.get("content-type") or "text/html"}).encoding
    except Exception:  # a URL Scrapy refuses: let decode_html sniff the bytes
        logger.debug("no Scrapy encoding for %s", url, exc_info=True)
        return None
