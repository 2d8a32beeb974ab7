"""A WordPress-shaped news site whose article pages are real pages: the WCXB dev set's articles.

The demo site's pages are synthetic and small; the web's are not (WCXB dev articles average
180 KB of HTML, with their scripts, menus and comment threads). This module writes, as static
files for :class:`bench.harness.StaticSite`: a home page and section pages with WordPress
pagination (``/page/N/``), ``robots.txt`` naming a sitemap index (one post sitemap) and a Google
News sitemap, and an RSS feed at ``/feed/`` linked from every listing's ``<head>``. Each article
page is the original HTML at a WordPress permalink (``/YYYY/MM/DD/slug/``) with one change: a
``<base href>`` of its original URL is added, so that its own relative links
keep pointing at its publisher (off-site for the crawler) instead of at thousands of 404s here.

The pages are their publishers' text: they are read from the data set's folder at build time
and written only into the benchmark's temporary site, never into the repository. The data set
is ``pages.json`` (id -> ``url``, ``page_type``, optional ``file``) and ``html/ID.html.gz``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape, unescape
from pathlib import Path
from urllib.parse import urlsplit

from crawler.demo import _feeds

#: Where the real pages are when neither ``--real-pages`` nor this variable says.
REAL_PAGES_ENV = "NEWSWARC_REAL_PAGES"
SECTIONS = ("news", "business", "technology", "health", "lifestyle")
PER_PAGE = 10
FEED_SIZE = 20
NEWS_SITEMAP_SIZE = 1000  # Google News' limit per sitemap
NEWEST = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.I)


@dataclass
class RealArticle:
    """One real article page and the fields the demo's feed and sitemap writers read."""

    id: int
    source: Path
    original_url: str
    title: str
    section: str
    published: datetime
    slug: str
    author: str = "Staff"
    tags: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"/{self.published:%Y/%m/%d}/{self.slug}/"

    @property
    def updated(self) -> datetime:
        return self.published

    @property
    def description(self) -> str:
        return self.title


@dataclass
class RealSite:
    """The articles of a real-page site, newest first; ``name`` is what the feed and news sitemap call it."""

    articles: list[RealArticle]
    name: str = "Real Pages Gazette"


def available(data: Path | None) -> bool:
    """True when ``data`` looks like the data set (a ``pages.json`` beside an ``html`` folder)."""
    return data is not None and (Path(data) / "pages.json").is_file() and (Path(data) / "html").is_dir()


def _slug(url: str, ident: str) -> str:
    last = next((s for s in reversed(urlsplit(url).path.split("/")) if s), "")
    last = re.sub(r"\.[a-z]{2,5}$", "", last.lower())
    words = re.sub(r"[^a-z0-9]+", "-", last).strip("-")[:60].strip("-")
    return f"{words or 'article'}-{ident}"


def _title(html: bytes, fallback: str) -> str:
    m = _TITLE.search(html)
    text = " ".join(unescape(m.group(1).decode("utf-8", "replace")).split()) if m else ""
    return text[:150] or fallback


def load(data: Path, limit: int = 0) -> RealSite:
    """The data set's article pages (``page_type`` ``article``), in id order, newest first, 3 hours apart."""
    index = json.loads((Path(data) / "pages.json").read_text(encoding="utf-8"))
    ids = sorted(i for i, info in index.items() if info.get("page_type") == "article")[: limit or None]
    articles = []
    for n, ident in enumerate(ids):
        info = index[ident]
        source = Path(data) / (info.get("file") or f"html/{ident}.html.gz")
        url = info.get("url") or ""
        section = SECTIONS[int(hashlib.md5((info.get("domain") or ident).encode()).hexdigest(), 16) % len(SECTIONS)]
        html = _read(source)
        articles.append(RealArticle(id=n + 1, source=source, original_url=url, title=_title(html, f"Article {ident}"),
                                    section=section, published=NEWEST - timedelta(hours=3 * n), slug=_slug(url, ident)))
    return RealSite(articles)


def _read(source: Path) -> bytes:
    raw = source.read_bytes()
    return gzip.decompress(raw) if source.suffix == ".gz" else raw


def article_html(a: RealArticle) -> bytes:
    """The original page with a ``<base href>`` of its original URL first in ``<head>`` (see the module doc).

    First, because the first ``<base>`` wins: a page's own may be relative (``<base href="/">``).
    """
    html = _read(a.source)
    if not a.original_url:
        return html
    base = f'<base href="{escape(a.original_url)}">'.encode()
    m = _HEAD.search(html)
    return html[:m.end()] + base + html[m.end():] if m else base + html


def listing_html(site: RealSite, origin: str, base: str, heading: str, items: list[RealArticle], page: int) -> bytes:
    """One page of a WordPress archive (home or section): teasers, the menu, numbered pagination."""
    pages = max(1, -(-len(items) // PER_PAGE))
    shown = items[(page - 1) * PER_PAGE: page * PER_PAGE]

    def href(n: int) -> str:
        return f"{origin}{base}" if n == 1 else f"{origin}{base}page/{n}/"

    head_links = [f'<link rel="alternate" type="application/rss+xml" title="{escape(site.name)} &raquo; Feed" '
                  f'href="{origin}/feed/">']
    if page > 1:
        head_links.append(f'<link rel="prev" href="{href(page - 1)}">')
    if page < pages:
        head_links.append(f'<link rel="next" href="{href(page + 1)}">')
    menu = "".join(f'<li class="menu-item"><a href="{origin}/category/{s}/">{s.capitalize()}</a></li>' for s in SECTIONS)
    teasers = "".join(
        f'<article class="post type-post status-publish category-{a.section}"><header class="entry-header">'
        f'<h2 class="entry-title"><a href="{origin}{a.path}" rel="bookmark">{escape(a.title)}</a></h2>'
        f'<time class="entry-date published" datetime="{a.published.isoformat()}">{a.published:%B %d, %Y}</time>'
        f"</header></article>\n" for a in shown)
    numbers = [f'<a class="prev page-numbers" href="{href(page - 1)}">Previous</a>'] if page > 1 else []
    numbers += [f'<span aria-current="page" class="page-numbers current">{n}</span>' if n == page else
                f'<a class="page-numbers" href="{href(n)}">{n}</a>' for n in range(1, pages + 1)]
    if page < pages:
        numbers.append(f'<a class="next page-numbers" href="{href(page + 1)}">Next</a>')
    return (f'<!DOCTYPE html>\n<html lang="en-US"><head><meta charset="UTF-8">'
            f"<title>{escape(heading)} &#8211; {escape(site.name)}</title>{''.join(head_links)}</head>\n"
            f'<body class="archive"><header id="masthead"><p class="site-title"><a href="{origin}/" rel="home">'
            f'{escape(site.name)}</a></p><nav id="site-navigation"><ul class="menu">{menu}</ul></nav></header>\n'
            f'<main id="main"><h1 class="page-title">{escape(heading)}</h1>\n{teasers}'
            f'<nav class="navigation pagination"><div class="nav-links">{"".join(numbers)}</div></nav></main>\n'
            f"<footer><p>&copy; {escape(site.name)}</p></footer></body></html>\n").encode()


def _listings(site: RealSite) -> list[tuple[str, str, list[RealArticle]]]:
    """(base path, heading, articles) of every archive: the home page and one per section."""
    out = [("/", "Latest news", site.articles)]
    out += [(f"/category/{s}/", f"Category: {s.capitalize()}", [a for a in site.articles if a.section == s])
            for s in SECTIONS]
    return out


def files(site: RealSite, origin: str) -> dict[str, bytes]:
    """Every file of the site, by URL path (``/x/`` is the folder's ``index.html``), articles excepted."""
    out = {"/robots.txt": _feeds.robots_txt(origin),
           "/sitemap_index.xml": _feeds.sitemap_index(origin, [("/post-sitemap.xml", site.articles[0].updated
                                                                if site.articles else None)]),
           "/post-sitemap.xml": _feeds.urlset(origin, site.articles[::-1]),
           "/news-sitemap.xml": _feeds.news_sitemap(origin, site, site.articles[:NEWS_SITEMAP_SIZE]),
           "/feed/": _feeds.rss(origin, site, site.articles[:FEED_SIZE])}
    for base, heading, items in _listings(site):
        for page in range(1, max(1, -(-len(items) // PER_PAGE)) + 1):
            path = base if page == 1 else f"{base}page/{page}/"
            out[path] = listing_html(site, origin, base, heading, items, page)
    return out


def write_site(data: Path, www: Path, base_url: str, *, limit: int = 0) -> int:
    """Write the real-page site under ``www`` with absolute links to ``base_url``; returns the article count."""
    site = load(data, limit)
    origin = base_url.rstrip("/")
    written = {**files(site, origin), **{a.path: b"" for a in site.articles}}
    by_path = {a.path: a for a in site.articles}
    for path, body in written.items():
        target = Path(www) / (path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(article_html(by_path[path]) if path in by_path else body)
    return len(site.articles)
