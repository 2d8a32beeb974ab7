"""One validation for every URL the crawl may request: links, sitemap and feed entries, seeds.

A link with port ``99999``, ``abc`` or ``%31``, a broken IPv6 literal, an empty host label or a
control character would make ``scrapy.Request`` raise, and one such link used to stop the
discovery of its whole page. :func:`url_problem` names the problem instead; the spider counts
and skips that URL (``skipped/bad_url``) and goes on, and seed files are refused with the same
words (exit 2).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from w3lib.url import safe_url_string

MAX_URL_LENGTH = 8192  # longer "URLs" in the wild are data, session blobs or traps
_BAD_HOST_CHARS = re.compile(r"[\x00-\x20\x7f<>\"{}|\\^`%]")


def url_problem(url: str) -> str | None:
    """None when ``url`` is an absolute http(s) URL the crawl can request; else the reason, in a few words."""
    if not isinstance(url, str) or not url.strip():
        return "empty URL"
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL"
        return str(exc)
    if parts.scheme.lower() not in ("http", "https"):
        return f"not http(s): {parts.scheme or 'no scheme'}"
    host = parts.hostname or ""
    if not host:
        return "no host"
    try:
        port = parts.port
    except ValueError:
        return f"bad port {parts.netloc.rpartition(':')[2]!r}"
    if port == 0:
        return "bad port 0"
    if not parts.netloc.endswith("]") and not parts.netloc.rpartition("@")[2].startswith("["):
        if _BAD_HOST_CHARS.search(host):
            return f"bad host {host!r}"
        try:
            host.rstrip(".").encode("idna")
        except UnicodeError:
            return f"bad host {host!r}"
    try:
        safe_url_string(url)  # what scrapy.Request does with it
    except ValueError as exc:
        return str(exc)
    return None
