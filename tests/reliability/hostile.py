"""A hostile HTTP server on 127.0.0.1 and a small news site around it, for the reliability tests.

Routes map a path to a :class:`Reply` (status, headers, body) or to a function that gets the
raw socket handler and may misbehave at will (cut the body, never answer, lie about lengths).
The site's good articles are real-looking news pages that the crawl classifies and extracts,
so a test can check that none of them is lost or duplicated next to the hostile routes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.harness import read_rss_kib, via_fresh_parent
from tests import crawl_helpers
from tests.crawl_helpers import ROOT

ARTICLE = """<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:type" content="article"><link rel="canonical" href="{url}"></head><body>
<article><h1>{title}</h1><p>By Jane Roe, <time datetime="2026-10-01T10:00:00Z">1 Oct 2026</time></p>
{paras}</article></body></html>"""
# crawl_helpers' flags, with one extraction worker, no delay and no robots.txt (hostile routes ignore it)
FAST = [*crawl_helpers.FAST, "-s", "DOWNLOAD_DELAY=0", "-s", "NEWSWARC_EXTRACT_WORKERS=1", "-s", "ROBOTSTXT_OBEY=False"]


def article_html(n: int, url: str) -> bytes:
    paras = "\n".join(f"<p>Paragraph {i} of story {n}: the council voted on the harbour plan after a long "
                      f"debate about budgets, jobs and the future of the old port district {i}.</p>"
                      for i in range(8))
    return ARTICLE.format(title=f"Story number {n} about the harbour", url=url, paras=paras).encode()


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "text/html; charset=utf-8")])
    body: bytes = b""

    def send(self, handler: BaseHTTPRequestHandler) -> None:
        """Write this reply on ``handler`` (a Content-Length from the body unless the headers give one);
        a client that hung up meanwhile is not an error of the server."""
        handler.send_response(self.status)
        for k, v in self.headers:
            handler.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in self.headers):
            handler.send_header("Content-Length", str(len(self.body)))
        handler.end_headers()
        try:
            handler.wfile.write(self.body)
        except OSError:
            pass


Route = Reply | Callable[[BaseHTTPRequestHandler], None]


class HostileServer:
    """``with HostileServer(routes) as srv: srv.url`` — unknown paths are 404."""

    def __init__(self, routes: dict[str, Route] | None = None, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = dict(routes or {})
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.hits.append(self.path)
                route = server.routes.get(self.path.split("?")[0], Reply(404, body=b"not found"))
                if callable(route):
                    route(self)
                else:
                    route.send(self)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def slow_reply(seconds: float, body: bytes = b"<html><body><p>slow</p></body></html>") -> Route:
    """A route that answers after ``seconds`` (keeps a crawl busy while a test looks at it)."""
    def route(handler: BaseHTTPRequestHandler) -> None:
        import time

        time.sleep(seconds)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return route


def news_site(srv: HostileServer, n_articles: int, extra_links: list[str] = ()) -> list[str]:
    """Add a start page with ``n_articles`` good articles (and ``extra_links``) to ``srv``; their URLs."""
    urls = []
    for i in range(n_articles):
        path = f"/2026/10/01/story-{i}/"
        srv.routes[path] = Reply(body=article_html(i, srv.url + path))
        urls.append(srv.url + path)
    links = [*[u.removeprefix(srv.url) for u in urls], *extra_links]
    body = "<html><head><title>Home</title></head><body><h1>The Hostile Times</h1>" + "".join(
        f'<p><a href="{href}">Story {i} about the harbour</a></p>' for i, href in enumerate(links)) + "</body></html>"
    srv.routes["/"] = Reply(body=body.encode())
    srv.routes.setdefault("/robots.txt", Reply(headers=[("Content-Type", "text/plain")], body=b"User-agent: *\nAllow: /\n"))
    return urls


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float  # of the command and the processes it waited for (writer, extract workers)


def run_newswarc(*args: str, timeout: float = 240, env: dict | None = None, stdout=None,
                 cwd: Path | None = None) -> Run:
    """``newswarc ARGS`` in a subprocess; its peak RSS is its ``ru_maxrss`` under a minimal parent
    (:func:`bench.harness.via_fresh_parent`: pytest's own size does not count), which counts the
    processes it reaped (WARC writer, extraction workers) too. ``stdout`` may be a pipe's write end."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        rss_file = tmp_dir / "rss"
        with open(tmp_dir / "out", "w+b") as out_file, open(tmp_dir / "err", "w+b") as err_file:
            proc = subprocess.Popen(via_fresh_parent([sys.executable, "-m", "crawler.cli", *args], rss_file),
                                    cwd=cwd or ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                                    stdin=subprocess.DEVNULL, stdout=stdout if stdout is not None else out_file,
                                    stderr=err_file, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the parent and newswarc with its workers
                proc.wait()
                err_file.seek(0)
                raise AssertionError(f"newswarc {' '.join(args)} did not end in {timeout}s: "
                                     f"{err_file.read()[-2000:].decode(errors='replace')}") from None
            out_file.seek(0)
            err_file.seek(0)
            return Run(proc.returncode, out_file.read().decode(errors="replace"),
                       err_file.read().decode(errors="replace"), read_rss_kib(rss_file) / 1024)


def no_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" not in text
