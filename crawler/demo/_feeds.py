"""Machine-readable discovery files: robots.txt, sitemaps (index, nested, gzip, news), RSS, Atom."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from email.utils import format_datetime
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from crawler.demo.site import DemoArticle, DemoSite

XML = "application/xml; charset=UTF-8"
_SM_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def robots_txt(origin: str) -> bytes:
    return (f"User-agent: *\nDisallow: /private/\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
            f"Sitemap: {origin}/sitemap_index.xml\nSitemap: {origin}/news-sitemap.xml\n").encode()


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def sitemap_index(origin: str, children: Iterable[tuple[str, datetime | None]]) -> bytes:
    """A ``<sitemapindex>`` (Yoast-style, with its XSL stylesheet instruction)."""
    parts = [_DECL, f'<?xml-stylesheet type="text/xsl" href="{origin}/main-sitemap.xsl"?>\n',
             f'<sitemapindex xmlns="{_SM_NS}">\n']
    for path, lastmod in children:
        mod = f"<lastmod>{_iso(lastmod)}</lastmod>" if lastmod else ""
        parts.append(f"\t<sitemap>\n\t\t<loc>{escape(origin + path)}</loc>\n\t\t{mod}\n\t</sitemap>\n")
    parts.append("</sitemapindex>\n")
    return "".join(parts).encode()


def urlset(origin: str, articles: Sequence[DemoArticle], images: bool = False) -> bytes:
    """A plain ``<urlset>`` with ``<lastmod>`` (and image entries, as Yoast writes them)."""
    ns = ' xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"' if images else ""
    parts = [_DECL, f'<urlset xmlns="{_SM_NS}"{ns}>\n']
    for a in articles:
        img = (f"\n\t\t<image:image>\n\t\t\t<image:loc>{origin}/wp-content/uploads/{a.published:%Y/%m}/"
               f"{a.slug}.jpg</image:loc>\n\t\t</image:image>" if images else "")
        parts.append(f"\t<url>\n\t\t<loc>{escape(origin + a.path)}</loc>\n"
                     f"\t\t<lastmod>{_iso(a.updated)}</lastmod>{img}\n\t</url>\n")
    parts.append("</urlset>\n")
    return "".join(parts).encode()


def page_urlset(origin: str, paths: Iterable[str]) -> bytes:
    """Site pages that are not articles (home, about, contact...)."""
    entries = "".join(f"\t<url>\n\t\t<loc>{escape(origin + p)}</loc>\n\t</url>\n" for p in paths)
    return f'{_DECL}<urlset xmlns="{_SM_NS}">\n{entries}</urlset>\n'.encode()


def gzipped(data: bytes) -> bytes:
    """Deterministic gzip (no timestamp), for ``.xml.gz`` files served as they are."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def news_sitemap(origin: str, site: DemoSite, articles: Sequence[DemoArticle]) -> bytes:
    """A Google News sitemap (``news:`` namespace) for the newest articles."""
    parts = [_DECL, f'<urlset xmlns="{_SM_NS}" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n']
    for a in articles:
        parts.append(
            f"\t<url>\n\t\t<loc>{escape(origin + a.path)}</loc>\n\t\t<news:news>\n"
            f"\t\t\t<news:publication>\n\t\t\t\t<news:name>{escape(site.name)}</news:name>\n"
            f"\t\t\t\t<news:language>en</news:language>\n\t\t\t</news:publication>\n"
            f"\t\t\t<news:publication_date>{_iso(a.published)}</news:publication_date>\n"
            f"\t\t\t<news:title>{escape(a.title)}</news:title>\n\t\t</news:news>\n\t</url>\n")
    parts.append("</urlset>\n")
    return "".join(parts).encode()


def _feed_link(origin: str, a: DemoArticle, i: int) -> str:
    """Every third item carries feed tracking parameters, as feed plugins add them."""
    url = origin + a.path
    return f"{url}?utm_source=rss&utm_medium=rss&utm_campaign={a.slug}" if i % 3 == 2 else url


def rss(origin: str, site: DemoSite, articles: Sequence[DemoArticle]) -> bytes:
    """RSS 2.0, newest first, WordPress's namespaces and item fields."""
    built = max((a.updated for a in articles), default=None)
    parts = [_DECL, '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
             'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n',
             f"\t<title>{escape(site.name)}</title>\n",
             f'\t<atom:link href="{origin}/feed/" rel="self" type="application/rss+xml" />\n',
             f"\t<link>{origin}/</link>\n\t<description>Independent news since 2009</description>\n",
             f"\t<lastBuildDate>{format_datetime(built) if built else ''}</lastBuildDate>\n",
             "\t<language>en-US</language>\n\t<generator>https://wordpress.org/?v=6.6</generator>\n"]
    for i, a in enumerate(articles):
        link = escape(_feed_link(origin, a, i))
        parts.append(
            f"\t<item>\n\t\t<title>{escape(a.title)}</title>\n\t\t<link>{link}</link>\n"
            f"\t\t<comments>{escape(origin + a.path)}#comments</comments>\n"
            f"\t\t<dc:creator><![CDATA[{a.author}]]></dc:creator>\n"
            f"\t\t<pubDate>{format_datetime(a.published)}</pubDate>\n"
            f"\t\t<category><![CDATA[{a.section.capitalize()}]]></category>\n"
            + "".join(f"\t\t<category><![CDATA[{t}]]></category>\n" for t in a.tags)
            + f'\t\t<guid isPermaLink="false">{origin}/?p={a.id}</guid>\n'
            f"\t\t<description><![CDATA[{a.description}]]></description>\n\t</item>\n")
    parts.append("</channel>\n</rss>\n")
    return "".join(parts).encode()


def atom(origin: str, site: DemoSite, articles: Sequence[DemoArticle]) -> bytes:
    """Atom 1.0 with the same entries (and a few that only Atom lists)."""
    updated = max((a.updated for a in articles), default=None)
    parts = [_DECL, '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-US">\n',
             f'\t<title type="text">{escape(site.name)}</title>\n',
             "\t<subtitle type=\"text\">Independent news since 2009</subtitle>\n",
             f"\t<updated>{_iso(updated) if updated else ''}</updated>\n",
             f'\t<link rel="alternate" type="text/html" href="{origin}/" />\n',
             f"\t<id>{origin}/feed/atom/</id>\n",
             f'\t<link rel="self" type="application/atom+xml" href="{origin}/feed/atom/" />\n']
    for i, a in enumerate(articles):
        parts.append(
            f"\t<entry>\n\t\t<author>\n\t\t\t<name>{escape(a.author)}</name>\n"
            f"\t\t\t<uri>{origin}/author/{a.author_slug}/</uri>\n\t\t</author>\n"
            f'\t\t<title type="html"><![CDATA[{a.title}]]></title>\n'
            f'\t\t<link rel="alternate" type="text/html" href="{escape(_feed_link(origin, a, i))}" />\n'
            f"\t\t<id>{origin}/?p={a.id}</id>\n\t\t<updated>{_iso(a.updated)}</updated>\n"
            f"\t\t<published>{_iso(a.published)}</published>\n"
            f'\t\t<category scheme="{origin}/" term="{a.section.capitalize()}" />\n'
            f'\t\t<summary type="html"><![CDATA[{a.description}]]></summary>\n\t</entry>\n')
    parts.append("</feed>\n")
    return "".join(parts).encode()
