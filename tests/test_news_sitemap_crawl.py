"""A real crawl of a small site on 127.0.0.1: a page that the Google News sitemap lists with a
publication date is an article even when its own metadata is thin, the next incremental run does
not fetch it again, and links that stand after ``</html>`` are followed."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.crawl_helpers import FAST, newswarc, read_jsonl, run_reports, write_seed
from tests.reliability.hostile import HostileServer, Reply

WORDS = ("The harbour committee met on Monday evening to discuss the plan for the new ferry pier, "
         "and residents asked many questions about noise, traffic and the cost of the works. ")


def _thin_article(title: str) -> bytes:
    # a brief: no Open Graph, no JSON-LD, no date, no byline, a URL without a date or a long slug, two
    # paragraphs between the site's menu and footer (a page of nothing but prose, or a longer text in
    # one block, is evidence enough for the page model on its own)
    menu = "".join(f'<a href="/">{name}</a> ' for name in ("Harbour News", "Local", "Sport", "Weather", "Letters"))
    footer = '<a href="/">Contact the newsroom</a> <a href="/">Privacy</a>'
    body = f"<nav>{menu}</nav><div><p>{WORDS}</p><p>{WORDS}</p></div><footer>{footer}</footer>"
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode()


def _pages(url: str) -> dict[str, Reply]:
    news = (f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            f'<url><loc>{url}/s/pier</loc><news:news><news:publication>'
            f'<news:name>Harbour News</news:name><news:language>en</news:language></news:publication>'
            f'<news:publication_date>2025-03-04T10:00:00+00:00</news:publication_date>'
            f'<news:title>Ferry pier plan</news:title></news:news></url></urlset>').encode()
    home = (b"<html><head><title>Harbour News</title></head><body><p>Front page.</p></body></html>"
            b'<a href="/s/after-html">after the end of the document</a>')
    pages = {
        "/": ("text/html", home),
        "/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n"),
        "/news-sitemap.xml": ("application/xml", news),
        "/s/pier": ("text/html", _thin_article("Ferry pier plan")),
        "/s/after-html": ("text/html", b"<html><body><p>Linked from after the end tag.</p></body></html>"),
    }
    return {path: Reply(headers=[("Content-Type", kind)], body=body) for path, (kind, body) in pages.items()}


@pytest.fixture
def site():
    """The site on a :class:`HostileServer` (here a well-behaved one); ``site.hits`` lists the paths fetched."""
    with HostileServer() as srv:
        srv.routes.update(_pages(srv.url))
        yield srv


def _crawl(seed, out) -> dict:
    result = newswarc("crawl", str(seed), "--out", str(out), *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_reports(out)[-1]


def test_news_sitemap_article_with_thin_metadata_is_kept_and_not_refetched(tmp_path, site) -> None:
    seed = write_seed(tmp_path, site.url, name="harbour", sitemaps=[f"{site.url}/news-sitemap.xml"])
    out = tmp_path / "out"
    _crawl(seed, out)
    rows = read_jsonl(out)
    assert [urlsplit(r["url"]).path for r in rows] == ["/s/pier"]
    assert rows[0]["kind_reason"] == "news_sitemap"
    assert rows[0]["news_publication_date"].startswith("2025-03-04")
    assert "/s/after-html" in site.hits  # the link after </html> was followed
    site.hits.clear()
    _crawl(seed, out)
    assert "/news-sitemap.xml" in site.hits  # discovery is read again...
    assert "/s/pier" not in site.hits  # ...but the archived article is not fetched again
    assert len(read_jsonl(out)) == 1
