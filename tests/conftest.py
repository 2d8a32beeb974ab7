"""Shared fixtures. The demo news site runs on 127.0.0.1 on a free port, never the network."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crawler.demo.server import DemoServer
from crawler.demo.site import DemoSite, build_site

# 120 articles keep the suite fast and still give >= 10 sitemap-only, feed-only and section-only ones.
DEMO_ARTICLES = 120


@pytest.fixture(scope="session")
def demo_site() -> DemoSite:
    """The shared demo site. Read-only: tests that publish or change articles use ``fresh_demo_server``."""
    return build_site(DEMO_ARTICLES)


@pytest.fixture(scope="session")
def demo_server(demo_site: DemoSite) -> Iterator[DemoServer]:
    """The shared demo site on a local port; call ``reset_log()`` before asserting on what was fetched."""
    with DemoServer(demo_site) as server:
        yield server


@pytest.fixture(scope="session")
def demo_crawl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `newswarc demo` crawl (60 articles), read-only: WARCs, text files and JSONL to compare
    against (replay, replay --crawl). Its server stops when the command exits."""
    from tests.crawl_helpers import newswarc, read_jsonl

    out = tmp_path_factory.mktemp("demo") / "out"
    proc = newswarc("demo", "--out", str(out), "--articles", "60", "-q", "-s", "AUTOTHROTTLE_ENABLED=False",
                    "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(out.glob("warc/*.warc.gz")) and read_jsonl(out)
    return out


@pytest.fixture
def fresh_demo_server() -> Iterator[Callable[..., DemoServer]]:
    """A factory for a private site + server (``make(n_articles=120, seed=42)``), stopped after the test."""
    servers: list[DemoServer] = []

    def make(n_articles: int = DEMO_ARTICLES, seed: int = 42) -> DemoServer:
        server = DemoServer(build_site(n_articles, seed)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


from tests.redis_server import own_redis_server, redis_server, redis_session  # noqa: E402, F401  (real redis-server)
from tests.s3_server import auth_server, s3_bucket, s3_env, s3_server  # noqa: E402, F401  (S3 API server fixtures)
