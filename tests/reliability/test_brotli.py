"""Brotli pages are decoded whichever ``brotli`` module the installed extras put first.

pywb (a test extra) pulls in brotlipy, whose ``brotli`` package shadows Google's module and lacks
the decompressor API Scrapy calls: every ``Content-Encoding: br`` page used to be lost while the
crawl advertised ``br``. The crawl and replay now decode with a bounded decoder chosen by ability
(crawler.warc.codecs); this test runs in the suite's own environment, brotlipy included.
"""

from __future__ import annotations

import gzip
import zlib

import brotlicffi

from crawler.warc.codecs import accepted_encodings, brotli_decompressor
from tests.crawl_helpers import read_jsonl, write_seed
from tests.reliability.hostile import FAST, HostileServer, Reply, article_html, no_traceback, run_newswarc


def test_a_bounded_brotli_decoder_is_found_and_br_is_advertised():
    assert brotli_decompressor() is not None
    assert "br" in accepted_encodings()


def test_br_gzip_deflate_and_stacked_pages_are_crawled_and_replayed(tmp_path):
    from backports import zstd

    codecs = {
        "br": brotlicffi.compress,
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "zstd": zstd.compress,
        "gzip, br": lambda b: brotlicffi.compress(gzip.compress(b)),
    }
    with HostileServer() as srv:
        urls = []
        for i, (encoding, encode) in enumerate(codecs.items()):
            path = f"/2026/10/01/story-{i}/"
            srv.routes[path] = Reply(headers=[("Content-Type", "text/html; charset=utf-8"),
                                              ("Content-Encoding", encoding)],
                                     body=encode(article_html(i, srv.url + path)))
            urls.append(srv.url + path)
        srv.routes["/"] = Reply(body=("<html><body>" + "".join(
            f'<a href="{u}">story {i}</a>' for i, u in enumerate(urls)) + "</body></html>").encode())
        seed = write_seed(tmp_path, srv.url)
        out = tmp_path / "out"
        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)
    assert run.returncode == 0, run.stderr[-3000:]
    assert no_traceback(run.stderr) and "bad_encoding" not in run.stderr
    assert sorted(r["url"] for r in read_jsonl(out, open_parts=True)) == sorted(urls)
    replayed = tmp_path / "replayed"
    run = run_newswarc("replay", str(out / "warc"), "--out", str(replayed), "--workers", "1")
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(r["url"] for r in read_jsonl(replayed, open_parts=True)) == sorted(urls)
