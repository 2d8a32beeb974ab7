"""Sitemap URLs announced in robots.txt (the ``Sitemap:`` directive)."""

from __future__ import annotations

import re

from crawler.urls import absolute_http

_SITEMAP_LINE = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.I)


def sitemaps_from_robots(body: bytes, base_url: str) -> list[str]:
    """``Sitemap:`` URLs from a robots.txt body, in file order, absolute and deduplicated.

    The directive is matched in any case and anywhere (it is not tied to a user-agent group);
    trailing ``# comments`` are dropped; relative URLs resolve against ``base_url``.
    """
    if isinstance(body, str):
        text = body
    else:
        text = (body or b"").decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    out: list[str] = []
    for line in text.splitlines():
        m = _SITEMAP_LINE.match(line)
        if not m or m.group(1).startswith("#"):
            continue
        url = absolute_http(m.group(1), base_url)
        if url and url not in out:
            out.append(url)
    return out
