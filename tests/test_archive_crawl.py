"""Real Scrapy crawls of the local wire-exact site, checked record by record against the wire."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from crawler.warc.repair import repair_open_files
from tests.archive_server import ROOT, ArchiveServer, crawl_subprocess
from tests.warc_checks import (
    all_records,
    check_coverage,
    check_warc,
    check_warcio,
    read_at,
    read_records,
)

MAX_BODY = 256 * 1024


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("crawl")
    with ArchiveServer() as srv:
        stats = crawl_subprocess(srv.url + "/", out, {"NEWSWARC_ARCHIVE_MAX_BODY": MAX_BODY,
                                                       "WALK_LOCATIONS": str(out / "locations.json")})
        wire = list(srv.requests)
    warcs = sorted((out / "warc").glob("*.warc.gz"))
    return {"out": out, "url": srv.url, "stats": stats, "wire": wire, "warcs": warcs,
            "records": all_records(warcs), "locations": json.loads((out / "locations.json").read_text())}


def responses(crawl, path):
    return [r for r in crawl["records"] if r.type in ("response", "revisit") and r.uri == crawl["url"] + path]


def test_every_file_passes_the_checklist(crawl):
    assert crawl["warcs"] and not list((crawl["out"] / "warc").glob("*.open"))
    for path in crawl["warcs"]:
        check_warc(path)


def test_redirects_errors_and_robots_are_archived_disallowed_urls_are_not(crawl):
    u = crawl["url"]
    check_coverage(crawl["records"],
                   archived=[u + p for p in ("/robots.txt", "/redirect/301", "/redirect/302", "/redirect/307",
                                             "/redirect/308", "/landing", "/missing", "/error")],
                   not_archived=[u + "/private/secret"])
    assert [r.status for r in responses(crawl, "/redirect/307")] == [307]
    assert [r.status for r in responses(crawl, "/error")] == [500, 500, 500]  # retries are fetches too


def test_bodies_are_stored_as_they_came_off_the_wire(crawl):
    (gz,) = responses(crawl, "/gzip")
    assert gz.body.startswith(b"\x1f\x8b") and gz.header("Content-Encoding") == ["gzip"]
    (chunked_gz,) = responses(crawl, "/chunked-gzip")
    assert chunked_gz.body.startswith(b"\x1f\x8b") and not chunked_gz.header("Transfer-Encoding")
    assert chunked_gz.header("Content-Length") == [str(len(chunked_gz.body))]
    (chunked,) = responses(crawl, "/chunked")
    assert chunked.body.startswith(b"<!doctype html>") and chunked.header("Content-Length") == [str(len(chunked.body))]


def test_repeated_headers_and_status_lines(crawl):
    (rec,) = responses(crawl, "/headers")
    assert rec.header("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert rec.header("X-Repeat") == ["one", "two"]
    assert rec.http_protocol == "HTTP/1.1" and rec.status == 200
    (hop,) = responses(crawl, "/redirect/308")
    assert hop.header("Location") == ["/landing"]


def test_request_records_are_what_went_on_the_wire(crawl):
    """The request block equals the raw request the server received, query string included."""
    wire = sorted(crawl["wire"])
    stored = []
    for rec in (r for r in crawl["records"] if r.type == "request"):
        target = rec.uri[len(crawl["url"]):]
        head = [f"GET {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in rec.http_headers]
        stored.append(("\r\n".join(head) + "\r\n\r\n").encode())
    assert sorted(stored) == wire  # Cookie headers (set by /headers) included, whenever they were sent
    assert any(b"GET /search?q=warc+news&page=2 HTTP/1.1" in raw for raw in crawl["wire"])


def test_only_decodable_encodings_are_requested(crawl):
    for raw in crawl["wire"]:
        assert b"\r\nAccept-Encoding: gzip, deflate, br\r\n" in raw and b"zstd" not in raw


def test_truncated_body_is_kept_and_flagged(crawl):
    (rec,) = responses(crawl, "/large")
    assert rec.get("WARC-Truncated") == "length" and len(rec.body) == MAX_BODY
    (page,) = [p for p in crawl["locations"] if p["url"].endswith("/large")]
    assert page["truncated"] == "length" and "newswarc_truncated" in page["flags"]
    assert crawl["stats"]["newswarc/archive/truncated"] == 1


def test_identical_payloads_become_revisits(crawl):
    kinds = sorted(r.type for p in ("/dup-a", "/dup-b") for r in responses(crawl, p))
    assert kinds == ["response", "revisit"]
    rev = next(r for p in ("/dup-a", "/dup-b") for r in responses(crawl, p) if r.type == "revisit")
    orig = next(r for p in ("/dup-a", "/dup-b") for r in responses(crawl, p) if r.type == "response")
    assert rev.get("WARC-Refers-To-Target-URI") == orig.uri
    assert rev.get("WARC-Refers-To-Date") == orig.get("WARC-Date")
    assert rev.get("WARC-Payload-Digest") == orig.get("WARC-Payload-Digest")


def test_pointer_futures_resolve_to_the_final_response(crawl):
    """Every page the spider saw carries a WarcLocation that reads back at its offset."""
    assert len(crawl["locations"]) >= 10
    for page in crawl["locations"]:
        loc = page["location"]
        rec = read_at(crawl["out"] / loc["file"], loc["offset"], loc["length"])
        assert rec.type == loc["record_type"] and rec.id == loc["record_id"]
        assert rec.uri == page["url"] and rec.get("WARC-Payload-Digest") == loc["payload_digest"]
    landing = next(p for p in crawl["locations"] if p["url"].endswith("/landing"))
    assert landing["location"]["record_type"] == "response"


def test_metadata_records_carry_context_and_outlinks(crawl):
    meta = {r.uri: r for r in crawl["records"] if r.type == "metadata"}
    ids = {r.id for r in crawl["records"] if r.type in ("response", "revisit")}
    assert all(m.get("WARC-Concurrent-To") in ids for m in meta.values())
    index = meta[crawl["url"] + "/"].body.decode()
    assert "seed: archive-test\r\n" in index and "route: start\r\n" in index and "depth: 0\r\n" in index
    assert f"outlink: {crawl['url']}/private/secret\r\n" in index  # found, even if robots forbids it
    landing = meta[crawl["url"] + "/landing"].body.decode()
    hops = [line.split(": ", 1)[1] for line in landing.splitlines() if line.startswith("redirect: ")]
    assert hops == [crawl["url"] + p for p in ("/redirect/301", "/redirect/302", "/redirect/307", "/redirect/308")]


def test_stats(crawl):
    s = crawl["stats"]
    responses_ = sum(r.type == "response" for r in crawl["records"])
    revisits = sum(r.type == "revisit" for r in crawl["records"])
    assert s["newswarc/archive/records/response"] == responses_
    assert s["newswarc/archive/records/revisit"] == s["newswarc/archive/revisits"] == revisits
    assert s["newswarc/archive/records/request"] == responses_ + revisits == s["downloader/response_count"]
    assert s["newswarc/archive/files"] == len(crawl["warcs"]) == 1
    assert 0 < s["newswarc/archive/bytes"] <= sum(p.stat().st_size for p in crawl["warcs"])


def test_rollover_and_backpressure(tmp_path):
    with ArchiveServer(site_pages=40) as srv:
        stats = crawl_subprocess(srv.url + "/", tmp_path, {"NEWSWARC_ARCHIVE_MAX_SIZE": 20_000,
                                                           "NEWSWARC_ARCHIVE_QUEUE_SIZE": 1})
    warcs = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert len(warcs) >= 5 and not list((tmp_path / "warc").glob("*.open"))
    assert stats["newswarc/archive/files"] == len(warcs)
    assert stats.get("newswarc/archive/queue_full", 0) > 0
    for path in warcs:
        check_warc(path, run_warcio=path == warcs[0])
    urls = {r.uri for r in all_records(warcs) if r.type in ("response", "revisit")}
    assert {f"{srv.url}/site/{n}" for n in range(40)} <= urls  # paused, not lost


def test_killed_crawl_is_repaired_on_the_next_start(tmp_path):
    warc_dir = tmp_path / "warc"
    with ArchiveServer(site_pages=2000, delay=0.01) as srv:
        args = [sys.executable, "-m", "tests.archive_server", "crawl", srv.url + "/", str(tmp_path), "{}"]
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            opened = list(warc_dir.glob("*.open")) if warc_dir.exists() else []
            if opened and opened[0].stat().st_size > 200_000:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        (left,) = warc_dir.glob("*.open")
        with open(left, "ab") as fh:  # as if the kill hit in the middle of a record
            fh.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03partial")
        # the next run repairs it at start, then crawls normally
        stats = crawl_subprocess(srv.url + "/plain", tmp_path, {})
    assert stats["newswarc/archive/repaired"] == 1
    assert not list(warc_dir.glob("*.open"))
    repaired = warc_dir / left.name[: -len(".open")]
    check_warc(repaired)
    assert sum(r.type == "response" for r in read_records(repaired)) > 10
    for path in warc_dir.glob("*.warc.gz"):
        check_warcio(path)
    assert repair_open_files(warc_dir) == []


def test_disabled_archive_writes_nothing(tmp_path):
    with ArchiveServer() as srv:
        stats = crawl_subprocess(srv.url + "/plain", tmp_path, {"NEWSWARC_ARCHIVE_ENABLED": False})
    assert stats["downloader/response_count"] >= 2 and not (tmp_path / "warc").exists()
    assert not any(k.startswith("newswarc/archive/") for k in stats)



def test_outlink_recorder_middleware_gives_the_same_metadata(crawl, tmp_path):
    """A spider that does not report its outlinks gets them recorded by OutlinkRecorder instead."""
    with ArchiveServer() as srv:
        crawl_subprocess(srv.url + "/", tmp_path, {"NEWSWARC_ARCHIVE_MAX_BODY": MAX_BODY, "WALK_REPORTS_OUTLINKS": False})
        other = all_records(sorted((tmp_path / "warc").glob("*.warc.gz")))

    def outlinks(records, base):
        return {r.uri.replace(base, ""): sorted(line.removeprefix("outlink: ").replace(base, "")
                                                for line in r.body.decode().splitlines() if line.startswith("outlink: "))
                for r in records if r.type == "metadata"}

    ours, theirs = outlinks(crawl["records"], crawl["url"]), outlinks(other, srv.url)
    assert ours and len(ours) >= 5
    assert all(theirs.get(path) == links for path, links in ours.items())


def test_a_damaged_package_beside_the_run_does_not_stop_the_report(tmp_path, monkeypatch, caplog):
    """collection.json lists every package: a junk one logs one line, the run's package is still reported."""
    from types import SimpleNamespace

    from scrapy.settings import Settings

    from crawler.crawl import wacz_export
    from crawler.storage.local import LocalStorage

    storage = LocalStorage(tmp_path)
    (tmp_path / "wacz").mkdir()
    (tmp_path / "wacz" / "20200101T000000Z-old-1-site.wacz").write_bytes(b"not a zip")

    def fake_write(inputs, out, **kwargs):
        out.write_bytes(b"package")
        return SimpleNamespace(pages=1, bytes=7, requires=[], unresolved_revisits=0, index_lines=1)

    monkeypatch.setattr(wacz_export, "write_wacz", fake_write)
    monkeypatch.setattr(wacz_export, "storage_inputs", lambda *a, **k: ([], []))
    crawler = SimpleNamespace(settings=Settings({"NEWSWARC_ARCHIVE_WACZ": True}))
    ctx = SimpleNamespace(storage=storage, run_id="r1", warc_files=["warc/x.warc.gz"])
    with caplog.at_level("ERROR", logger="crawler.crawl.wacz_export"):
        summary = wacz_export.export_run(crawler, ctx, "site")
    assert summary["key"] == "wacz/r1-site.wacz" and summary["pages"] == 1
    assert [r.message for r in caplog.records if "collection.json" in r.message]
