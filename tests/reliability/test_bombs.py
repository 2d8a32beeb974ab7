"""Decompression bombs: pages, a sitemap and a feed whose bodies inflate far past the limit.

Each is archived as received (its compressed bytes in the WARC response record), flagged in the
page's metadata record, counted in the run report and logged on one line, and never decoded
further; the good articles around them are all kept, once; peak memory stays bounded.
"""

from __future__ import annotations

import subprocess
import sys
import zlib

import brotlicffi
import pytest

from tests.crawl_helpers import ROOT, read_jsonl, run_reports, write_seed
from tests.reliability.hostile import FAST, HostileServer, Reply, news_site, no_traceback, run_newswarc
from tests.warc_checks import all_records

GIB = 1 << 30
RSS_BOUND_MB = 700  # the crawl, its WARC writer and one extraction worker; a 1 GiB body alone is more


def _zeros_stream(compressor, total: int, head: bytes = b"<html><body><p>", chunk: int = 1 << 22) -> bytes:
    out = [compressor.compress(head)]
    block = b" " * chunk
    for _ in range(total // chunk):
        out.append(compressor.compress(block))
    out.append(compressor.flush())
    return b"".join(out)


def gzip_bomb(total: int) -> bytes:
    return _zeros_stream(zlib.compressobj(9, zlib.DEFLATED, 31), total)


def deflate_bomb(total: int) -> bytes:
    return _zeros_stream(zlib.compressobj(9, zlib.DEFLATED, 15), total)


def _stream(compress, finish, total: int, chunk: int = 1 << 22) -> bytes:
    block = b" " * chunk
    return b"".join([compress(b"<html><body><p>"), *(compress(block) for _ in range(total // chunk)), finish()])


def brotli_bomb(total: int) -> bytes:
    comp = brotlicffi.Compressor(quality=5)
    return _stream(comp.process, comp.finish, total)


def zstd_bomb(total: int) -> bytes:
    from backports import zstd

    comp = zstd.ZstdCompressor(level=3)
    return _stream(comp.compress, comp.flush, total)


@pytest.fixture(scope="module")
def bombs() -> dict[str, tuple[str, bytes, str]]:
    """path -> (Content-Encoding, body as served, Content-Type)."""
    gz = gzip_bomb(GIB)
    sitemap = _zeros_stream(zlib.compressobj(9, zlib.DEFLATED, 31), GIB // 2,
                            head=b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    feed = _zeros_stream(zlib.compressobj(9, zlib.DEFLATED, 31), GIB // 2,
                         head=b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>')
    return {
        "/bomb/gzip": ("gzip", gz, "text/html"),
        "/bomb/deflate": ("deflate", deflate_bomb(GIB // 2), "text/html"),
        "/bomb/br": ("br", brotli_bomb(GIB), "text/html"),
        "/bomb/zstd": ("zstd", zstd_bomb(GIB), "text/html"),
        "/bomb/nested": ("gzip, gzip", gzip_bomb_of(gz), "text/html"),
        "/sitemap.xml": ("gzip", sitemap, "application/xml"),
        "/feed.xml": ("gzip", feed, "application/rss+xml"),
    }


def gzip_bomb_of(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


def test_bombs_are_archived_flagged_counted_and_memory_stays_bounded(tmp_path, bombs):
    with HostileServer() as srv:
        for path, (encoding, body, ctype) in bombs.items():
            srv.routes[path] = Reply(headers=[("Content-Type", ctype), ("Content-Encoding", encoding)], body=body)
        pages = [p for p in bombs if p.startswith("/bomb/")]
        good = news_site(srv, 6, extra_links=pages)
        seed = write_seed(tmp_path, srv.url, sitemaps=[srv.url + "/sitemap.xml"], feeds=[srv.url + "/feed.xml"])
        out = tmp_path / "out"
        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)

    assert run.returncode == 0, run.stderr[-3000:]
    assert no_traceback(run.stderr)
    lines = [line for line in run.stderr.splitlines() if "decoded_too_large" in line]
    assert len(lines) == len(bombs), run.stderr[-3000:]  # one line each
    for path in bombs:
        assert sum(path in line for line in lines) == 1, path
    rows = read_jsonl(out, open_parts=True)
    assert sorted(r["url"] for r in rows) == sorted(good)  # every article, once
    records = all_records(sorted(out.glob("warc/*.warc.gz")))
    for path, (_, body, _) in bombs.items():
        url = srv.url + path
        responses = [r for r in records if r.type == "response" and r.uri == url]
        assert len(responses) == 1, path
        assert responses[0].body.endswith(body), path  # the bytes as received (after the HTTP header block)
        meta = [r for r in records if r.type == "metadata" and r.uri == url]
        assert len(meta) == 1 and b"undecoded: decoded_too_large" in meta[0].body, path
    report = run_reports(out)[-1]
    assert report["counts"]["skipped"]["crawl/decoded_too_large"] == len(bombs)
    print(f"peak RSS {run.peak_rss_mb:.0f} MB")
    assert run.peak_rss_mb < RSS_BOUND_MB

    # replay reads the same archive: the bombs are reported, not decoded; the articles come back
    replayed = tmp_path / "replayed"
    run = run_newswarc("replay", str(out / "warc"), "--out", str(replayed), "--workers", "1")
    assert run.returncode == 0, run.stderr[-3000:]
    assert no_traceback(run.stderr)
    assert sorted(r["url"] for r in read_jsonl(replayed, open_parts=True)) == sorted(good)
    print(f"replay peak RSS {run.peak_rss_mb:.0f} MB; {run.stderr.strip().splitlines()[-1]}")
    assert run.peak_rss_mb < RSS_BOUND_MB


DECODE_OFF_THE_REACTOR = r"""
import gzip, threading
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.test import get_crawler
from twisted.internet import reactor
from crawler.crawl.middlewares import DecodingMiddleware
from crawler.warc import codecs

threads, decode = [], codecs.decode_body
def recording(*args, **kwargs):
    threads.append(threading.current_thread() is threading.main_thread())
    return decode(*args, **kwargs)
codecs.decode_body = recording

crawler = get_crawler(settings_dict={"NEWSWARC_ARCHIVE_MAX_DECODED": 1 << 20, "COMPRESSION_ENABLED": True})
mw = DecodingMiddleware(crawler)
crawler.stats.open_spider(None)
request = Request("http://x.test/a")
body = b"<html><body>" + b"word " * 10000 + b"</body></html>"
response = Response(request.url, body=gzip.compress(body), request=request,
                    headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})
out = []
def done(result):
    out.append(result)
    reactor.stop()
reactor.callWhenRunning(lambda: deferred_from_coro(mw.process_response(request, response)).addBoth(done))
reactor.run()
print(threads, out[0].body == body)
"""


def test_bodies_are_decoded_off_the_reactor_thread():
    """The DecodingMiddleware's decoding runs in the thread pool; the reactor thread only awaits it."""
    proc = subprocess.run([sys.executable, "-c", DECODE_OFF_THE_REACTOR], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["[False]", "True"], proc.stdout  # one decode, not on the main thread
