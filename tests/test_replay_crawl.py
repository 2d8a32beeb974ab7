"""``newswarc replay --crawl``: the spider re-run against a real demo crawl's WARCs, never the network."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import io
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.test import get_crawler
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.replay.network import ArchiveDownloaderMiddleware, ArchiveIndex
from crawler.warc.reader import WarcRecord, iter_records
from tests.crawl_helpers import run_reports
from tests.s3_server import s3_client  # fixtures s3_server, s3_env, s3_bucket come from conftest.py
from tests.test_replay import rows_of, run_cli

STATS = "newswarc/replay/crawl/"


@pytest.fixture(scope="module")
def demo_seed(demo_crawl, tmp_path_factory) -> Path:
    """The demo seed, pointed at the address the crawl had (8642 when it was free, else a free port)."""
    netloc = urlsplit(next(iter(rows_of(demo_crawl).values()))["url"]).netloc
    path = tmp_path_factory.mktemp("seed") / "demo.toml"
    path.write_text(f'name = "demo"\nstart_urls = ["http://{netloc}/"]\nlanguage = "en"\n')
    return path


@contextlib.contextmanager
def listening_on(url: str):
    """A plain socket on the crawl's old address: yields a function telling whether anyone connected."""
    parts = urlsplit(url)
    sock = socket.socket()
    try:
        sock.bind((parts.hostname, parts.port))
    except OSError:  # someone else has the port now: the check is not possible
        sock.close()
        yield lambda: False
        return
    sock.listen(8)
    sock.setblocking(False)

    def connected() -> bool:
        try:
            sock.accept()[0].close()
        except BlockingIOError:
            return False
        return True

    try:
        yield connected
    finally:
        sock.close()


# --- the demo crawl, crawled again from its WARCs ---------------------------------------------

def test_replay_crawl_gives_the_crawls_articles_without_the_network(demo_crawl, demo_seed, tmp_path):
    out = tmp_path / "out2"
    start = next(iter(rows_of(demo_crawl).values()))["url"]
    with listening_on(start) as connected:
        proc = run_cli("replay", "--crawl", "--seed", str(demo_seed), str(demo_crawl / "warc"), "--out", str(out),
                       "--jsonl", "-")
        assert not connected(), "replay --crawl touched the network"
    assert proc.returncode == 0, proc.stderr[-3000:]
    crawled, replayed = rows_of(demo_crawl), rows_of(proc.stdout)
    assert set(replayed) == set(crawled) and set(rows_of(out)) == set(crawled)
    for aid, row in replayed.items():
        assert row["text_sha256"] == crawled[aid]["text_sha256"]
        assert row["warc_record_id"] == crawled[aid]["warc_record_id"]  # the source record it came from
        assert row["warc_offset"] == crawled[aid]["warc_offset"] and row["warc_file"].endswith(crawled[aid]["warc_file"])
    report = run_reports(out)[0]["replay"]
    assert report["missing"] == 0 and report["served"] == run_reports(demo_crawl)[0]["counts"]["pages"]
    assert re.search(r"\d+ responses served from the archive, 0 requests missing", proc.stderr)
    assert not (out / "warc").exists() and not (out / "state").exists()  # nothing archived again, no state
    assert "Traceback" not in proc.stderr
    assert "Disabled" not in proc.stderr  # archive and state are off on purpose: no warnings about it


def test_pages_missing_from_the_archive_are_counted_and_the_rest_is_extracted(demo_crawl, demo_seed, tmp_path):
    src = next(demo_crawl.glob("warc/*.warc.gz"))
    crawled = rows_of(demo_crawl)
    gone = {row["url"] for row in sorted(crawled.values(), key=lambda r: r["url"])[:5]}
    data = src.read_bytes()
    kept = [data[r.offset:r.offset + r.length] for r in iter_records(open(src, "rb"), str(src))
            if isinstance(r, WarcRecord) and not (r.type == "response" and r.target_uri in gone)]
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / src.name).write_bytes(b"".join(kept))
    log = tmp_path / "replay.log"
    proc = run_cli("replay", "--crawl", "--seed", str(demo_seed), str(tmp_path / "partial"), "--out",
                   str(tmp_path / "out"), "-vv", "--log-file", str(log))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    replayed = rows_of(tmp_path / "out")
    assert {r["url"] for r in replayed.values()} == {r["url"] for r in crawled.values()} - gone
    report = run_reports(tmp_path / "out")[0]["replay"]
    assert report["missing"] >= len(gone) and report["served"] > 0
    assert f"{report['missing']} requests missing from it" in proc.stderr
    logged = log.read_text()
    assert all(f"Not in the archive: {url}" in logged for url in gone)


def test_damaged_archive_is_reported_and_exits_1(demo_crawl, demo_seed, tmp_path):
    src = next(demo_crawl.glob("warc/*.warc.gz"))
    data = src.read_bytes()
    offsets = [r.offset for r in iter_records(open(src, "rb"), str(src)) if isinstance(r, WarcRecord)]
    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(data[:offsets[-3] + 40])  # ends inside a gzip member
    jsonl = tmp_path / "articles.jsonl"
    proc = run_cli("replay", "--crawl", "--seed", str(demo_seed), str(damaged), "--jsonl", str(jsonl))
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert re.search(rf"{re.escape(str(damaged))}: offset {offsets[-3]}: truncated gzip member", proc.stderr)
    assert "1 damaged place in the input skipped" in proc.stderr and proc.stdout == ""
    assert len(rows_of(jsonl.read_text())) >= len(rows_of(demo_crawl)) - 3  # the undamaged pages


def test_user_errors(demo_crawl, demo_seed, tmp_path):
    warcs = str(demo_crawl / "warc")
    proc = run_cli("replay", "--crawl", warcs, "--jsonl", "-")
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "--seed" in proc.stderr, proc.stderr
    proc = run_cli("replay", "--crawl", "--seed", str(demo_seed), warcs, "--jsonl", "-", "--since", "2026-01-01")
    assert proc.returncode == 2 and "--since" in proc.stderr and proc.stderr.strip().count("\n") == 0
    proc = run_cli("replay", "--crawl", "--seed", str(demo_seed), str(tmp_path / "none.warc.gz"), "--jsonl", "-")
    assert proc.returncode == 2 and "none.warc.gz" in proc.stderr
    other = tmp_path / "other.toml"
    other.write_text('name = "other"\nstart_urls = ["http://elsewhere.test/"]\n')
    proc = run_cli("replay", "--crawl", "--seed", str(other), warcs, "--jsonl", "-")
    assert proc.returncode == 1 and "no request of seed other was in the archive" in proc.stderr
    assert proc.stdout == ""


# --- the middleware on a hand-made archive ------------------------------------------------------

PAGE = b"<html><body><p>The archived page.</p></body></html>"


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])


def write_archive(path: Path) -> None:
    """Responses (chunked, gzip, a redirect, two dates of one URL) and both kinds of revisit."""
    html = [("Content-Type", "text/html; charset=utf-8")]
    gz = gzip.compress(PAGE, mtime=0)
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)

        def response(url, status, headers, body, date):
            http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
            rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                            warc_headers_dict={"WARC-Date": date})
            writer.write_record(rec)
            return rec.rec_headers.get_header("WARC-Payload-Digest")

        response("http://news.test/later", "200 OK", html, b"<p>new</p>", "2026-10-02T10:00:00Z")
        response("http://news.test/later", "200 OK", html, b"<p>old</p>", "2026-10-01T10:00:00Z")
        response("http://news.test/page?utm_source=x", "200 OK",
                 [*html, ("Transfer-Encoding", "chunked"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
                 chunked(PAGE), "2026-10-01T10:00:00Z")
        digest = response("http://news.test/gz", "200 OK", [*html, ("Content-Encoding", "gzip"),
                                                             ("Content-Length", str(len(gz)))], gz,
                          "2026-10-01T10:00:00Z")
        response("http://news.test/old", "301 Moved Permanently", [("Location", "/page")], b"", "2026-10-01T10:00:00Z")
        response("http://news.test/gone", "404 Not Found", html, b"<p>no such page</p>", "2026-10-01T10:00:00Z")
        same = StatusAndHeaders("200 OK", [*html, ("Content-Encoding", "gzip"), ("X-Copy", "yes")],
                                protocol="HTTP/1.1")
        writer.write_record(writer.create_revisit_record("http://news.test/copy", digest, "http://news.test/gz",
                                                         "2026-10-01T10:00:00Z", http_headers=same))
        not_modified = writer.create_revisit_record("http://news.test/gz", digest, "http://news.test/gz",
                                                    "2026-10-01T10:00:00Z")
        not_modified.rec_headers.replace_header("WARC-Profile",
                                                "http://netpreserve.org/warc/1.1/revisit/server-not-modified")
        not_modified.rec_headers.replace_header("WARC-Date", "2026-10-03T10:00:00Z")
        writer.write_record(not_modified)
        writer.write_record(writer.create_revisit_record("http://news.test/lost", "sha1:AAAA", "http://x.test/",
                                                         "2026-10-01T10:00:00Z", http_headers=same))


def fetch(mw: ArchiveDownloaderMiddleware, url: str):
    return asyncio.run(mw.process_request(Request(url)))


def test_middleware_serves_archived_responses(tmp_path):
    write_archive(tmp_path / "a.warc.gz")
    index = ArchiveIndex.open([str(tmp_path)])
    crawler = get_crawler()
    crawler.stats.open_spider()
    mw = ArchiveDownloaderMiddleware(index, stats=crawler.stats, threaded=False)
    try:
        page = fetch(mw, "http://NEWS.test/page?utm_medium=y#top")  # found by canonical URL
        assert page.status == 200 and page.body == PAGE and page.url == page.request.url
        assert page.headers.getlist("Set-Cookie") == [b"a=1", b"b=2"] and "archive" in page.flags
        assert b"Transfer-Encoding" not in page.headers and b"Content-Length" not in page.headers
        assert page.request.meta["newswarc_capture"].result().file == str(tmp_path / "a.warc.gz")
        assert fetch(mw, "http://news.test/later").body == b"<p>new</p>"  # the latest capture, not the last
        encoded = fetch(mw, "http://news.test/gz")  # a not-modified revisit: its original, as archived
        assert encoded.status == 200 and encoded.body == gzip.compress(PAGE, mtime=0)
        assert encoded.headers[b"Content-Encoding"] == b"gzip"
        copy = fetch(mw, "http://news.test/copy")  # a revisit: its own head, the original's payload
        assert copy.body == gzip.compress(PAGE, mtime=0) and copy.headers[b"X-Copy"] == b"yes"
        redirect = fetch(mw, "http://news.test/old")
        assert redirect.status == 301 and redirect.headers[b"Location"] == b"/page"
        assert fetch(mw, "http://news.test/gone").status == 404
        for url in ("http://news.test/nowhere", "http://news.test/lost"):
            with pytest.raises(IgnoreRequest, match="not in the archive"):
                fetch(mw, url)
        stats = crawler.stats.get_stats()
        assert stats[STATS + "served"] == 6 and stats[STATS + "missing"] == 2
        assert index.counts["revisits/resolved"] == 2 and index.counts["revisits/unresolved"] == 1
    finally:
        index.close()


def test_middleware_is_off_without_sources():
    with pytest.raises(NotConfigured):
        ArchiveDownloaderMiddleware.from_crawler(get_crawler())
    mw = ArchiveDownloaderMiddleware.from_crawler(get_crawler(settings_dict={"NEWSWARC_REPLAY_SOURCES": ["x"]}))
    assert mw.specs == ["x"] and mw.index is None


def test_index_reports_damage_and_reads_s3_sources(demo_crawl, s3_bucket, s3_env, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    warc = next(demo_crawl.glob("warc/*.warc.gz"))
    data = warc.read_bytes()
    offsets = [r.offset for r in iter_records(open(warc, "rb"), str(warc)) if isinstance(r, WarcRecord)]
    s3_client(s3_env).put_object(Bucket=s3_bucket, Key=f"crawl/{warc.name}",
                                 Body=data[:offsets[4]] + b"junk" + data[offsets[4]:])
    index = ArchiveIndex.open([f"s3://{s3_bucket}/crawl"], settings={"NEWSWARC_SPOOL_DIR": str(tmp_path / "spool")})
    try:
        assert [(c.source, c.offset) for c in index.corrupt] == [(f"s3://{s3_bucket}/crawl/{warc.name}", offsets[4])]
        row = next(iter(rows_of(demo_crawl).values()))
        found = index.read(index.lookup(row["url"]))  # read at an offset: from the local copy
        assert found.status == 200 and found.location.record_id == row["warc_record_id"]
        assert found.location.file == f"s3://{s3_bucket}/crawl/{warc.name}"
    finally:
        index.close()


def test_the_bundled_demo_seed_crawls_a_demo_archive(demo_crawl, tmp_path):
    """`newswarc demo` serves on the bundled seed's port when it is free, so `--seed demo` just works."""
    start = next(iter(rows_of(demo_crawl).values()))["url"]
    if urlsplit(start).port != 8642:
        pytest.skip("port 8642 was busy during the demo crawl: it ran on a free port")
    proc = run_cli("replay", "--crawl", "--seed", "demo", str(demo_crawl / "warc"), "--jsonl", "-", "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(rows_of(proc.stdout)) == set(rows_of(demo_crawl))


def test_demo_server_takes_the_seeds_port_or_a_free_one():
    from crawler.cli.demo import _demo_server
    from crawler.config.seeds import Seed
    from crawler.demo.site import build_site

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    seed = Seed(name="demo", start_urls=(f"http://127.0.0.1:{port}/",), allowed_domains=("127.0.0.1",), language="en")
    site = build_site(20)
    with _demo_server(site, seed) as server:
        assert server.port == port
        with _demo_server(site, seed) as second:  # the port is taken now: any free one
            assert second.port not in (port, 0)


def test_a_revisit_whose_original_holds_another_payload_is_not_served_as_replay_skips_it(tmp_path):
    """The revisit's URI + date point at a record whose payload is not the one its digest names:
    replay --crawl refuses it as replay does (revisits/unresolved/digest_mismatch), not serve it."""
    from crawler.replay.api import replay
    from crawler.replay.options import ReplayOptions
    from crawler.replay.replayer import STATS as REPLAY_STATS
    from crawler.warc.revisits import DIGEST_MISMATCH

    html = [("Content-Type", "text/html; charset=utf-8")]
    with open(tmp_path / "a.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", html, protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("http://news.test/one", "response", payload=io.BytesIO(PAGE),
                                                      http_headers=http,
                                                      warc_headers_dict={"WARC-Date": "2026-10-01T10:00:00Z"}))
        other = "sha1:" + base64.b32encode(hashlib.sha1(b"another page").digest()).decode()
        writer.write_record(writer.create_revisit_record("http://news.test/copy", other, "http://news.test/one",
                                                         "2026-10-01T10:00:00Z", http_headers=http))
    index = ArchiveIndex.open([str(tmp_path)])
    mw = ArchiveDownloaderMiddleware(index, threaded=False)
    try:
        assert fetch(mw, "http://news.test/one").body == PAGE
        with pytest.raises(IgnoreRequest, match="unreadable"):
            fetch(mw, "http://news.test/copy")
    finally:
        index.close()
    result = replay([str(tmp_path)], jsonl=io.StringIO(), options=ReplayOptions(workers=1))
    assert result.stats.get(REPLAY_STATS + f"revisits/unresolved/{DIGEST_MISMATCH}") == 1
