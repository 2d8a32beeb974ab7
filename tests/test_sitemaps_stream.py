"""Sitemaps read as a stream: the same entries as a whole parse, in batches, in bounded memory.

A sitemap at the protocol's limit (50,000 URLs) parsed whole is an lxml tree plus a list of
50,000 entries; the crawl reads it with :class:`SitemapReader` instead, a batch at a time, from
the CPU thread, each batch handed to the reactor (:func:`batches_in_thread`).
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from crawler.discovery.sitemaps import SitemapReader, parse_sitemap

ROOT = Path(__file__).resolve().parent.parent
SITE = "https://news.example.com"
N = 50_000


def big_sitemap(n: int = N) -> bytes:
    """A Google News sitemap of ``n`` URLs (each with lastmod, publication date, title, language)."""
    head = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n')
    rows = (f"<url><loc>{SITE}/2026/10/{i % 28 + 1:02d}/an-article-with-a-long-news-slug-{i}/</loc>"
            f"<lastmod>2026-10-{i % 28 + 1:02d}T09:{i % 60:02d}:00Z</lastmod><news:news><news:publication>"
            f"<news:name>Gazette</news:name><news:language>en</news:language></news:publication>"
            f"<news:publication_date>2026-10-{i % 28 + 1:02d}</news:publication_date>"
            f"<news:title>Story number {i} &amp; more</news:title></news:news></url>\n" for i in range(n))
    return (head + "".join(rows) + "</urlset>\n").encode()


def digest(entries) -> str:
    h = hashlib.sha256()
    for e in entries:
        h.update(repr((e.loc, e.lastmod, e.news_publication_date, e.news_title, e.news_language)).encode())
    return h.hexdigest()


def test_a_large_sitemap_streams_in_bounded_memory_with_the_same_entries():
    body = gzip.compress(big_sitemap())
    tracemalloc.start()
    try:
        whole = parse_sitemap(body, f"{SITE}/news-sitemap.xml.gz")
        whole_peak = tracemalloc.get_traced_memory()[1]
        want, count = digest(whole.entries), len(whole.entries)
        del whole
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        reader = SitemapReader(body, f"{SITE}/news-sitemap.xml.gz")
        h, seen, kinds = hashlib.sha256(), 0, set()
        for batch in reader.batches():
            kinds.add(reader.kind)
            seen += len(batch)
            for e in batch:
                h.update(repr((e.loc, e.lastmod, e.news_publication_date, e.news_title, e.news_language)).encode())
        stream_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert count == seen == N and h.hexdigest() == want
    assert kinds == {"urlset"} and reader.kind == "urlset" and reader.error is None and not reader.recovered
    print(f"peak: whole list {whole_peak / 2**20:.1f} MiB, stream {stream_peak / 2**20:.1f} MiB")
    assert stream_peak < whole_peak / 5  # ~27 MiB whole (the list; lxml's tree is not traced), ~4 MiB streamed


def test_a_streamed_sitemap_keeps_the_fields_order_and_dedup():
    rows = [f"<url><loc>{SITE}/a/{i}/</loc><lastmod>2026-10-01</lastmod></url>" for i in range(2_500)]
    rows.insert(1_700, f"<url><loc>{SITE}/a/3/</loc></url>")  # listed twice: the first one counts
    body = ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(rows) + "</urlset>").encode()
    reader = SitemapReader(body, f"{SITE}/s.xml", batch=1_000)
    batches = list(reader.batches())
    assert [len(b) for b in batches] == [1_000, 1_000, 500]
    entries = [e for b in batches for e in b]
    assert [e.loc for e in entries] == [f"{SITE}/a/{i}/" for i in range(2_500)]
    assert entries[0].lastmod == datetime(2026, 10, 1, tzinfo=UTC)
    assert entries == parse_sitemap(body, f"{SITE}/s.xml").entries


def test_broken_gzip_and_bombs_are_refused_before_any_entry():
    good = gzip.compress(big_sitemap(8_000))  # 2.6 MB inflated
    bomb = gzip.compress(b"<urlset>" + b"<url><loc>https://x.test/a</loc></url>" * 10
                         + b" " * (51 * 1024 * 1024), compresslevel=1)
    for body, error in ((bomb, "too large"), (good[:10] + b"\0" * 50 + good[60:], "bad gzip")):
        reader = SitemapReader(body, f"{SITE}/s.xml.gz")
        assert list(reader.batches()) == []
        assert reader.kind == "invalid" and error in reader.error
    truncated = SitemapReader(good[: len(good) // 2], f"{SITE}/s.xml.gz")  # keeps what inflated, as before
    kept = [e for b in truncated.batches() for e in b]
    assert 0 < len(kept) < 8_000 and truncated.recovered and truncated.kind == "urlset"


def test_a_streamed_text_sitemap_across_pieces():
    lines = [f"{SITE}/t/{i}-\u00fc" for i in range(30_000)]  # ~1 MiB: many 64 KiB pieces, a multi-byte char cut
    body = "\r\n".join(["# comment", *lines, lines[5], "ftp://x.test/no"]).encode()
    sitemap = parse_sitemap(body, f"{SITE}/sitemap.txt")
    assert sitemap.kind == "urlset" and [e.loc for e in sitemap.entries] == lines


READ_IN_ONE_THREAD = r"""
import threading
from twisted.internet import reactor
from scrapy.utils.defer import deferred_from_coro
from crawler.crawl.frontier import batches_in_thread

made, consumed, pending, peak = set(), [], [0], [0]
def batches():
    for i in range(50):
        made.add(threading.get_ident())
        pending[0] += 1
        peak[0] = max(peak[0], pending[0])
        yield [i] * 10
def consume(batch):
    assert threading.current_thread() is threading.main_thread()
    pending[0] -= 1
    consumed.append(batch[0])
def done(result):
    print(len(made), threading.main_thread().ident in made, consumed == list(range(50)), peak[0] <= 3, result)
    reactor.stop()
reactor.callWhenRunning(lambda: deferred_from_coro(batches_in_thread(batches, consume, ahead=2)).addBoth(done))
reactor.run()
"""


def test_batches_are_read_in_one_pool_thread_and_consumed_on_the_reactor():
    """lxml's streaming parser must stay in one thread; the reactor thread only consumes; few batches wait."""
    proc = subprocess.run([sys.executable, "-c", READ_IN_ONE_THREAD], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["1", "False", "True", "True", "None"], proc.stdout + proc.stderr[-2000:]
