"""A small local web site with exact control over the bytes on the wire, and a crawl runner.

The server is a raw-socket HTTP/1.1 server (keep-alive, Content-Length or chunked framing,
gzip, repeated headers, custom reason phrases, redirect chains, errors, robots.txt) that logs
every raw request it receives, so tests can compare the WARC with what really went over the
wire. ``python -m tests.archive_server crawl URL OUT [K=V ...]`` runs a real Scrapy crawl of
it with WARC capture on (Twisted's reactor cannot restart, so tests run crawls in a subprocess);
the last stdout line is ``STATS {json}``.
"""

from __future__ import annotations

import gzip
import json
import re
import socketserver
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

ROOT = str(Path(__file__).resolve().parents[1])

HTML = "text/html; charset=utf-8"
LINKED = [
    "/plain", "/gzip", "/chunked", "/chunked-gzip", "/headers", "/search?q=warc+news&page=2",
    "/redirect/301", "/missing", "/error", "/large", "/dup-a", "/dup-b", "/private/secret",
]
ROBOTS = b"User-agent: *\nDisallow: /private\n"
REDIRECTS = {"/redirect/301": (301, "/redirect/302"), "/redirect/302": (302, "/redirect/307"),
             "/redirect/307": (307, "/redirect/308"), "/redirect/308": (308, "/landing")}
LARGE_SIZE = 2 * 1024 * 1024


def page(title: str, links: list[str] = (), filler: int = 0) -> bytes:
    """A small HTML page; ``filler`` adds that many bytes of article-like text."""
    items = "".join(f'<li><a href="{u}">{u}</a></li>' for u in links)
    text = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * (filler // 57 + 1))[:filler]
    return (f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
            f"<p>{text}</p><ul>{items}</ul></body></html>").encode()


class Reply:
    """One response exactly as it goes out: status line, header lines in order, framing."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes,
                 chunked: bool = False):
        self.status, self.reason, self.headers, self.body, self.chunked = status, reason, headers, body, chunked

    def wire(self) -> bytes:
        head = [f"HTTP/1.1 {self.status} {self.reason}", *(f"{k}: {v}" for k, v in self.headers)]
        if self.chunked:
            head.append("Transfer-Encoding: chunked")
            step = max(1, len(self.body) // 3)
            parts = [self.body[i:i + step] for i in range(0, len(self.body), step)]
            body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        else:
            head.append(f"Content-Length: {len(self.body)}")
            body = self.body
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class Site:
    """The pages; ``site_pages`` adds ``/site/N`` pages (a binary tree of links) for benchmarks."""

    def __init__(self, site_pages: int = 0, delay: float = 0.0):
        self.site_pages, self.delay = site_pages, delay
        links = LINKED + (["/site/0"] if site_pages else [])
        self.index = page("Index", links)
        self.dup = page("Same body", filler=2000)
        self.large = b"x" * LARGE_SIZE
        self._site_cache: dict[int, bytes] = {}

    def site_page(self, n: int) -> bytes:
        if n not in self._site_cache:
            kids = [f"/site/{k}" for k in (2 * n + 1, 2 * n + 2) if k < self.site_pages]
            self._site_cache[n] = gzip.compress(page(f"Article {n}", kids, filler=30_000), 6)
        return self._site_cache[n]

    def reply(self, method: str, target: str) -> Reply:
        path = urlsplit(target).path
        query = urlsplit(target).query
        h = [("Content-Type", HTML), ("Server", "archive-test")]
        if path == "/":
            return Reply(200, "OK", h, self.index)
        if path == "/robots.txt":
            return Reply(200, "OK", [("Content-Type", "text/plain")], ROBOTS)
        if path in ("/plain", "/landing"):
            return Reply(200, "OK", h, page(path.strip("/").title(), filler=500))
        if path == "/gzip":
            return Reply(200, "OK", h + [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")],
                         gzip.compress(page("Gzip", filler=3000)))
        if path == "/chunked":
            return Reply(200, "OK", h, page("Chunked", filler=1500), chunked=True)
        if path == "/chunked-gzip":
            return Reply(200, "OK", h + [("Content-Encoding", "gzip")],
                         gzip.compress(page("Chunked gzip", filler=4000)), chunked=True)
        if path == "/headers":
            return Reply(200, "Very OK", h + [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"),
                                              ("X-Repeat", "one"), ("x-repeat", "two")], page("Headers"))
        if path == "/search":
            return Reply(200, "OK", h, page(f"Search {query}"))
        if path in REDIRECTS:
            code, loc = REDIRECTS[path]
            return Reply(code, {301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect",
                                308: "Permanent Redirect"}[code], [("Location", loc)] + h, b"")
        if path == "/error":
            return Reply(500, "Internal Server Error", h, page("Server error"))
        if path == "/large":
            return Reply(200, "OK", [("Content-Type", "text/plain")], self.large)
        if path in ("/dup-a", "/dup-b"):
            return Reply(200, "OK", h, self.dup)
        if path.startswith("/site/") and path[6:].isdigit() and int(path[6:]) < self.site_pages:
            if self.delay:
                time.sleep(self.delay)
            return Reply(200, "OK", h + [("Content-Encoding", "gzip")], self.site_page(int(path[6:])))
        return Reply(404, "Not Found", h, page("Not found"))


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            line = self.rfile.readline(65536)
            if not line.strip():
                return
            raw = [line]
            while (hline := self.rfile.readline(65536)) not in (b"\r\n", b"\n", b""):
                raw.append(hline)
            raw.append(b"\r\n")
            self.server.requests.append(b"".join(raw))
            method, target, _ = line.decode("latin-1").split(" ", 2)
            reply = self.server.site.reply(method, target)
            data = reply.wire()
            if method == "HEAD":
                data = data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
            try:
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ArchiveServer:
    """The site on 127.0.0.1 on a free port, served from a thread: ``with ArchiveServer() as srv``."""

    def __init__(self, site_pages: int = 0, delay: float = 0.0):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = Site(site_pages, delay)
        self._server.requests = self.requests = []
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ArchiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ArchiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requested_paths(self) -> list[str]:
        """Request targets in arrival order (``/search?q=...`` keeps its query)."""
        return [r.split(b" ", 2)[1].decode() for r in self.requests]


def _walk_spider(reports_outlinks: bool = True):
    import scrapy

    from crawler.crawl.outlinks import reporting_outlinks

    class WalkSpider(scrapy.Spider):
        """Follows every same-host link; sets the context meta keys the archive records.

        Like NewsSpider it reports its outlinks itself; without that, OutlinkRecorder does it.
        """

        name = "walk"

        async def start(self) -> Iterator:
            for url in self.settings.getlist("WALK_START_URLS"):
                yield scrapy.Request(url, meta={"newswarc_seed": "archive-test", "newswarc_route": "start"})

        captured: list = []

        async def parse(self, response):
            for request in self._links(response):
                yield request

        def _links(self, response):
            self.captured.append((response.url, response.meta.get("newswarc_capture"),
                                  response.meta.get("newswarc_truncated"), list(response.flags)))
            if not hasattr(response, "text"):
                return
            host = urlsplit(response.url).netloc
            for href in re.findall(r'href="([^"]+)"', response.text):
                url = response.urljoin(href)
                if urlsplit(url).netloc == host:
                    yield scrapy.Request(url, meta={"newswarc_seed": "archive-test", "newswarc_route": "link"})

    if reports_outlinks:
        WalkSpider.reports_outlinks = True
        WalkSpider.parse = reporting_outlinks(WalkSpider.parse)
    return WalkSpider


def crawl_settings(start_url: str, out_dir: str, overrides: dict | None = None) -> dict:
    """The project settings for a test crawl: Scrapy's components plus the archive's, nothing else."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.config.settings", priority="project")
    settings.set("EXTENSIONS", {"crawler.crawl.capture.WarcCapture": 500}, priority="cmdline")
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    settings.set("DOWNLOADER_MIDDLEWARES", {}, priority="cmdline")  # Scrapy's own only
    settings.set("SPIDER_MIDDLEWARES", {"crawler.crawl.outlinks.OutlinkRecorder": 950}, priority="cmdline")
    base = {"AUTOTHROTTLE_ENABLED": False, "NEWSWARC_OUTPUT_URI": out_dir, "WALK_START_URLS": [start_url],
            "LOG_LEVEL": "INFO", "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
            "NEWSWARC_CRAWL_ALLOW_NETWORKS": ["127.0.0.0/8"]}  # no seed here to allow its own address
    for key, value in {**base, **(overrides or {})}.items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl(start_url: str, out_dir: str, overrides: dict | None = None) -> dict:
    """Crawl in this process (call it in a fresh subprocess); returns the final stats."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(crawl_settings(start_url, out_dir, overrides))
    crawler = process.create_crawler(_walk_spider((overrides or {}).get("WALK_REPORTS_OUTLINKS", True)))
    process.crawl(crawler)
    process.start()
    if path := crawler.settings.get("WALK_LOCATIONS"):
        out = []
        for url, future, truncated, flags in crawler.spider.captured:
            loc = future.result(timeout=10) if future is not None else None
            out.append({"url": url, "location": loc and vars(loc), "truncated": truncated, "flags": flags})
        with open(path, "w") as fh:
            json.dump(out, fh)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in crawler.stats.get_stats().items()}


def crawl_subprocess(start_url: str, out_dir, overrides: dict | None = None, timeout: float = 120) -> dict:
    """Run :func:`run_crawl` in a child Python process and return its stats."""
    import subprocess

    args = [sys.executable, "-m", "tests.archive_server", "crawl", start_url, str(out_dir),
            json.dumps(overrides or {})]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not last.startswith("STATS "):
        raise AssertionError(f"crawl failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    stats = json.loads(last[6:])
    stats["_log"] = proc.stderr
    return stats


if __name__ == "__main__":
    if sys.argv[1] == "crawl":
        result = run_crawl(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]) if len(sys.argv) > 4 else None)
        sys.stdout.write("STATS " + json.dumps(result, default=str) + "\n")
    elif sys.argv[1] == "serve":
        with ArchiveServer(site_pages=int(sys.argv[2]) if len(sys.argv) > 2 else 0) as srv:
            sys.stdout.write(srv.url + "\n")
            sys.stdout.flush()
            threading.Event().wait()
