"""Fallback static server for the benchmarks when nginx is absent: ``python -m bench.static_server DIR PORT``.

Threaded ``http.server`` with the same content types as the nginx config in
:mod:`bench.harness` (XML sitemaps, RSS/Atom feeds under ``/feed/``), run in its own process so
that it does not share the interpreter with the harness. It is much slower than nginx: results
measured against it are labeled as such.
"""

from __future__ import annotations

import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

FEED_TYPES = {"/feed/": "application/rss+xml; charset=UTF-8", "/feed/atom/": "application/atom+xml; charset=UTF-8"}


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like nginx
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".xml": "application/xml; charset=UTF-8",
                      ".gz": "application/x-gzip", ".html": "text/html; charset=UTF-8",
                      ".txt": "text/plain; charset=UTF-8"}

    def guess_type(self, path: str) -> str:
        for prefix, ctype in FEED_TYPES.items():
            if self.path.split("?", 1)[0] == prefix:
                return ctype
        return super().guess_type(path)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        """Silence the per-request log line (it would dominate the server's CPU time)."""


def main(argv: list[str] | None = None) -> int:
    directory, port = (argv if argv is not None else sys.argv[1:])[:2]
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), partial(_Handler, directory=directory))
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
