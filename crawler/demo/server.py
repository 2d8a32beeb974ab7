"""An HTTP/1.1 server for a ``DemoSite``: keep-alive, real chunked framing, and a request log.

Tests read ``server.requests`` / ``server.log`` to check what a crawler fetched (for example,
nothing under ``/private/``). Run ``python -m crawler.demo.server`` to serve the site by hand
or for benchmarks: the first line printed is the site's URL.
"""

from __future__ import annotations

import argparse
import collections
import logging
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType

from crawler.demo.site import DemoResponse, DemoSite, build_site

logger = logging.getLogger(__name__)

CHUNK_SIZE = 4096
_NO_BODY = {204, 304}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    timeout = 60  # an idle keep-alive connection is closed after this many seconds

    def setup(self) -> None:
        super().setup()
        self.server.owner.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner.track(self.connection, add=False)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        owner = self.server.owner
        headers = dict(self.headers.items())
        owner.record(self.command, self.path, headers)
        try:
            if owner.latency:
                time.sleep(owner.latency)  # a far-away site: what a fetch costs is waiting
            resp = owner.site.response(self.path, headers)
            self._write(resp, send_body)
        finally:
            owner.done()

    def _write(self, resp: DemoResponse, send_body: bool) -> None:
        self.send_response_only(resp.status)
        for name, value in resp.headers:
            self.send_header(name, value)
        has_body = resp.status not in _NO_BODY
        if has_body and resp.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif has_body:
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if not (send_body and has_body):
            return
        if not resp.chunked:
            self.wfile.write(resp.body)
            return
        for start in range(0, len(resp.body), CHUNK_SIZE):
            piece = resp.body[start:start + CHUNK_SIZE]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (base class signature)
        logger.debug("%s " + format, self.address_string(), *args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: DemoServer

    def handle_error(self, request: object, client_address: object) -> None:
        """A client hanging up is normal; anything else is a bug in the site and is logged, not printed."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            logger.debug("demo server: %s from %s", exc, client_address)
        else:
            logger.error("demo server: error serving %s", client_address, exc_info=True)


class DemoServer:
    """Serves ``site`` on ``host:port`` (0 = a free port) from a background thread."""

    def __init__(self, site: DemoSite, host: str = "127.0.0.1", port: int = 0, *, latency: float = 0.0):
        self.site, self.host, self.port = site, host, port
        self.latency = latency  # seconds before each answer
        self.requests: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.times: list[float] = []  # time.monotonic() of each request, for rates
        self.in_flight = self.max_in_flight = 0  # requests being answered now, and at most
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` (no trailing slash); the server must be started."""
        if self._httpd is None:
            raise RuntimeError("DemoServer.url: the server is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> DemoServer:
        """Bind and serve in a daemon thread; returns ``self``."""
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.owner = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"demo-server-{self.port}", daemon=True)
        self._thread.start()
        logger.info("demo site serving at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop accepting, close open keep-alive connections, release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def reset_log(self) -> None:
        """Forget what was fetched so far (between tests that share one server)."""
        with self._lock:
            self.requests.clear()
            self.log.clear()
            self.times.clear()
            self.max_in_flight = self.in_flight

    def record(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests[path] += 1
            self.log.append((method, path, headers))
            self.times.append(time.monotonic())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve the demo site in the foreground until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m crawler.demo.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    server = DemoServer(build_site(args.articles, args.seed), args.host, args.port).start()
    sys.stdout.write(server.url + "\n")
    sys.stdout.flush()
    stopped = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
