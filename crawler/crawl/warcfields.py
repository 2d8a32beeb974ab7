"""What a capture's WARC records say about the fetch, read from Scrapy's request and settings.

The writer process builds the records (:mod:`crawler.warc.records`); the crawl side only knows
the request: its headers as Scrapy holds them, the prior capture a conditional recheck refers
to, the seed, route, depth and redirect hops in its ``meta``, and the settings that shaped the
capture, which the warcinfo record states so that a reader of the WARC can tell how it was made.
"""

from __future__ import annotations

import socket
from typing import Any

from crawler import software_versions
from crawler.crawl.middlewares import route_of
from crawler.warc import codecs
from crawler.warc.records import RECONSTRUCTED


def header_pairs(headers: Any) -> list[tuple[bytes, bytes]]:
    """Scrapy ``Headers`` as (name, value) pairs, repeats kept, in order.

    Read through ``dict.items``: the stored keys are already normalized and the values lists of
    bytes, while ``Headers.items()`` normalizes every key again (a third of this handler's time).
    """
    return [(k, v) for k, vs in dict.items(headers) for v in vs]


def not_modified_target(response: Any, request: Any) -> tuple[str, str, str] | None:
    """A 304 to a conditional recheck refers to the capture the spider put in ``newswarc_prior``."""
    prior = request.meta.get("newswarc_prior") or {}
    if response.status == 304 and prior.get("payload_digest") and prior.get("date"):
        return prior.get("uri") or request.url, prior["date"], prior["payload_digest"]
    return None


def page_fields(request: Any, date: str) -> list[tuple[str, str]]:
    """Context of a fetch from the request meta (seed, route, depth, redirect hops, fetch time).

    ``depth`` is newswarc's one depth counter, ``newswarc_depth`` (what a seed's ``max_depth``
    limits). Scrapy's ``DepthMiddleware`` still counts its own ``depth`` for Scrapy's stats, and
    stays on: without its layer the spider's requests interleave differently, and a few articles
    are then first found by another route than before.
    """
    meta = request.meta
    pairs = [("seed", str(meta.get("newswarc_seed") or "")), ("route", route_of(request, "")),
             ("depth", str(meta.get("newswarc_depth", 0))), ("fetch-time", date)]
    pairs += [("redirect", str(url)) for url in meta.get("redirect_urls", ())]
    return pairs


def warcinfo_fields(settings: Any) -> list[tuple[str, str]]:
    """The warcinfo block: software, versions, capture-shaping settings and the reconstruction note."""

    versions = software_versions()
    libraries = "; ".join(f"{name}/{v}" for name, v in versions.items() if name != "newswarc")
    return [
        ("software", f"newswarc/{versions['newswarc']} ({libraries})"),
        ("format", "WARC File Format 1.1"),
        ("conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"),
        ("hostname", socket.gethostname()),
        ("isPartOf", settings.get("NEWSWARC_ARCHIVE_PREFIX") or "newswarc"),
        ("http-header-user-agent", settings.get("USER_AGENT") or ""),
        ("http-header-accept-encoding", codecs.accepted_encodings()),  # what DecodingMiddleware asks for
        ("robots", "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore"),
        ("newswarc-archive-max-body", str(settings.getint("NEWSWARC_ARCHIVE_MAX_BODY", 0))),
        ("newswarc-archive-revisits", str(settings.getbool("NEWSWARC_ARCHIVE_REVISITS", True))),
        ("newswarc-archive-gzip-level", str(settings.getint("NEWSWARC_ARCHIVE_GZIP_LEVEL", 6))),
        ("newswarc-archive-recompress", str(settings.getbool("NEWSWARC_ARCHIVE_RECOMPRESS", False))),
        ("scrapy-download-maxsize", str(settings.getint("DOWNLOAD_MAXSIZE", 0))),
        ("description", RECONSTRUCTED),
    ]
