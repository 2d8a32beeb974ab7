"""A real crawl of a small site on 127.0.0.1: a page that the Google News sitemap lists with a
publication date is an article even when its own metadata is thin, the next incremental run does
not fetch it again, and links that stand after ``</html>`` are followed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.crawl_helpers import FAST, newswarc, read_jsonl, run_reports, write_seed

WORDS = ("The harbour committee met on Monday evening to discuss the plan for the new ferry pier, "
         "and residents asked many questions about noise, traffic and the cost of the works. ")


def _thin_article(title: str) -> bytes:
    # no Open Graph, no JSON-LD, no date, no byline, a URL without a date or a long slug
    body = "".join(f"<p>{WORDS}{WORDS}</p>" for _ in range(3))
    return f"<html><head><title>{title}</title></head><body><div>{body}</div></body></html>".encode()


class _Site:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.url = ""

    def pages(self) -> dict[str, tuple[str, bytes]]:
        news = (f'<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
                f'<url><loc>{self.url}/s/pier</loc><news:news><news:publication>'
                f'<news:name>Harbour News</news:name><news:language>en</news:language></news:publication>'
                f'<news:publication_date>2025-03-04T10:00:00+00:00</news:publication_date>'
                f'<news:title>Ferry pier plan</news:title></news:news></url></urlset>').encode()
        home = (b"<html><head><title>Harbour News</title></head><body><p>Front page.</p></body></html>"
                b'<a href="/s/after-html">after the end of the document</a>')
        return {
            "/": ("text/html", home),
            "/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n"),
            "/news-sitemap.xml": ("application/xml", news),
            "/s/pier": ("text/html", _thin_article("Ferry pier plan")),
            "/s/after-html": ("text/html", b"<html><body><p>Linked from after the end tag.</p></body></html>"),
        }


@pytest.fixture
def site():
    state = _Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = urlsplit(self.path).path
            state.log.append(path)
            found = state.pages().get(path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            kind, body = found
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


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
    assert "/s/after-html" in site.log  # the link after </html> was followed
    site.log.clear()
    _crawl(seed, out)
    assert "/news-sitemap.xml" in site.log  # discovery is read again...
    assert "/s/pier" not in site.log  # ...but the archived article is not fetched again
    assert len(read_jsonl(out)) == 1
