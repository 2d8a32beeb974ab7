"""``newswarc replay``: real WARCs (a demo crawl, wget, hand-made and damaged ones), real pool, real S3 API."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import subprocess
import sys
import unittest.mock
import zipfile
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.replay.api import replay
from crawler.replay.options import ReplayError, ReplayOptions
from crawler.warc.codecs import dechunk, decode_content
from crawler.warc.reader import Corrupt, WarcRecord, iter_records
from tests.s3_server import s3_client  # fixtures s3_server, s3_env, s3_bucket come from conftest.py

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "crawler.cli"]


def rows_of(path_or_text) -> dict[str, dict]:
    if isinstance(path_or_text, Path):
        lines = [ln for f in sorted(path_or_text.glob("articles/*/*.jsonl")) for ln in f.read_text().splitlines()]
    else:
        lines = path_or_text.splitlines()
    rows = [json.loads(ln) for ln in lines]
    return {r["id"]: r for r in rows}


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def demo_seed(tmp_path_factory) -> Path:
    """The demo crawl's seed (name, language), as `--seed` for replay."""
    path = tmp_path_factory.mktemp("seed") / "demo.toml"
    path.write_text('name = "demo"\nstart_urls = ["http://127.0.0.1:8642/"]\nlanguage = "en"\n')
    return path


def seed_options(seed: Path, **kw) -> ReplayOptions:
    from crawler.config.seeds import load_seed

    return ReplayOptions(seed=load_seed(seed), workers=2, **kw)


# --- the demo crawl: replay gives exactly its articles -----------------------------------------

def test_replay_of_demo_crawl_gives_the_crawls_articles(demo_crawl, demo_seed, tmp_path):
    out = tmp_path / "replayed"
    result = replay([str(demo_crawl / "warc")], out=str(out), options=seed_options(demo_seed))
    crawled, replayed = rows_of(demo_crawl), rows_of(out)
    assert result.clean and result.articles == len(crawled) == len(replayed)
    assert set(replayed) == set(crawled)
    for aid, row in replayed.items():
        assert row["text_sha256"] == crawled[aid]["text_sha256"]
        assert row["text_path"] == crawled[aid]["text_path"] and row["site"] == "demo"
        assert row["warc_offset"] == crawled[aid]["warc_offset"]
        assert row["warc_record_id"] == crawled[aid]["warc_record_id"]
        assert (out / row["text_path"]).read_bytes() == (demo_crawl / row["text_path"]).read_bytes()
    # each pointer reads back as the source record
    row = next(iter(replayed.values()))
    with open(row["warc_file"], "rb") as fh:
        fh.seek(row["warc_offset"])
        member = fh.read(row["warc_length"])
    record = next(ArchiveIterator(io.BytesIO(member)))
    assert record.rec_headers.get_header("WARC-Record-ID") == row["warc_record_id"]
    assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
    report = json.loads(next(out.glob("runs/*-replay.json")).read_text())
    assert report["replay"]["articles"] == report["counts"]["articles"] == len(crawled)


def test_reader_bodies_match_warcio(demo_crawl):
    assert_bodies_match_warcio(next(demo_crawl.glob("warc/*.warc.gz")))


def assert_bodies_match_warcio(path: Path) -> int:
    """Every response payload, once de-chunked and decoded, equals warcio's decoded content."""
    ours = {}
    for rec in iter_records(open(path, "rb"), str(path), want=lambda r: r.type == "response"):
        assert isinstance(rec, WarcRecord), rec
        if rec.type == "response":
            body = dechunk(rec.body) if "chunked" in (rec.http_header("Transfer-Encoding") or "") else rec.body
            ours[rec.record_id] = (rec.offset, decode_content(body, rec.http_header("Content-Encoding"), 1 << 30))
    theirs = {}
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for rec in it:
            if rec.rec_type == "response":
                content = rec.content_stream().read()
                theirs[rec.rec_headers.get_header("WARC-Record-ID")] = (it.get_record_offset(), content)
    assert ours and ours == theirs
    return len(ours)


def test_cli_jsonl_stdout_is_only_json_lines(demo_crawl, demo_seed):
    proc = run_cli("replay", str(demo_crawl / "warc"), "--jsonl", "-", "--seed", str(demo_seed), "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines and all(json.loads(ln)["id"] for ln in lines)
    assert set(rows_of(proc.stdout)) == set(rows_of(demo_crawl))
    assert "articles written" in proc.stderr


def test_cli_filters_and_user_errors(demo_crawl, tmp_path):
    warcs = str(demo_crawl / "warc")
    proc = run_cli("replay", warcs)
    assert proc.returncode == 2 and "nothing to write" in proc.stderr
    proc = run_cli("replay", str(tmp_path / "missing.warc.gz"), "--jsonl", "-")
    assert proc.returncode == 2 and "missing.warc.gz" in proc.stderr
    proc = run_cli("replay", warcs, "--jsonl", "-", "--since", "yesterday")
    assert proc.returncode == 2 and "ISO date" in proc.stderr
    proc = run_cli("replay", warcs, "--jsonl", "-", "--until", "2000-01-01", "--workers", "1")
    assert proc.returncode == 0 and proc.stdout == ""
    proc = run_cli("replay", warcs, "--jsonl", str(tmp_path / "a.jsonl"), "--url-pattern", r"/2026/\d\d/0[1-5]/",
                   "--site", "elsewhere", "--workers", "1")
    rows = rows_of((tmp_path / "a.jsonl").read_text())
    assert proc.returncode == 0 and rows and all(re.search(r"/2026/\d\d/0[1-5]/", r["url"]) for r in rows.values())
    assert {r["site"] for r in rows.values()} == {"elsewhere"}
    assert len(rows) < len(rows_of(demo_crawl))


# --- someone else's WARC: wget ----------------------------------------------------------------

def test_wget_warc(tmp_path):
    if shutil.which("wget") is None:
        pytest.skip("wget is not installed: cannot write a third-party WARC")
    from crawler.demo.server import DemoServer
    from crawler.demo.site import build_site
    from crawler.extract.api import extract_article

    site = build_site(40)
    with DemoServer(site) as server:
        subprocess.run(["wget", "-q", "-r", "-l", "2", "-e", "robots=off", f"--warc-file={tmp_path / 'site'}",
                        "-P", str(tmp_path / "mirror"), server.url + "/"], timeout=120, check=False)
        result = replay([str(tmp_path / "site.warc.gz")], jsonl=(buf := io.StringIO()),
                        options=ReplayOptions(workers=2))
        rows = rows_of(buf.getvalue())
        assert result.clean and len(rows) >= 20
        assert_bodies_match_warcio(tmp_path / "site.warc.gz")  # wget writes chunked bodies
        chunked = [r for r in iter_records(open(tmp_path / "site.warc.gz", "rb"), "w")
                   if isinstance(r, WarcRecord) and r.http_header("Transfer-Encoding")]
        assert chunked and result.stats["newswarc/replay/pages/index"] >= len(chunked)
        host = server.url.split("//")[1].split(":")[0]
        assert {r["site"] for r in rows.values()} == {host}
        paths = {a.path for a in site.articles}
        for row in rows.values():
            path = urlsplit(row["url"]).path
            assert path in paths
            live = extract_article(site.response(path).body, row["url"])
            assert live is not None and row["text_sha256"] == live.text_sha256


# --- hand-made WARCs: encodings, revisits, WACZ -------------------------------------------------

ARTICLE = """<html lang="en"><head><title>{title}</title>
<meta property="og:type" content="article"><link rel="canonical" href="{url}"></head><body>
<article><h1>{title}</h1><p>By Jane Roe, <time datetime="2026-10-01T10:00:00Z">1 Oct 2026</time></p>
{paras}</article></body></html>"""


def article_html(n: int, url: str, title: str | None = None) -> bytes:
    paras = "\n".join(f"<p>Paragraph {i} of story {n}: the council voted on the harbour plan after a long "
                      f"debate about budgets, jobs and the future of the old port district {i}.</p>"
                      for i in range(8))
    return ARTICLE.format(title=title or f"Story number {n}", url=url, paras=paras).encode()


def write_warc(path: Path, records: list[tuple], *, gz: bool = True) -> None:
    """records: (kind, url, body, headers) with kind response|revisit; revisit's body is the original URL."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gz)
        for kind, url, body, headers in records:
            http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
            if kind == "response":
                rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
            else:
                digest, orig_url = body
                rec = writer.create_revisit_record(url, digest, orig_url, "2026-10-01T10:00:00Z", http_headers=http)
            writer.write_record(rec)


def payload_digest(body: bytes) -> str:
    import base64
    import hashlib

    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()


def hand_record(uri: str, http_lines: list[bytes], body: bytes, eol: bytes = b"\r\n",
                warc_eol: bytes = b"\r\n") -> bytes:
    """A response record built byte by byte (line endings and folding as given)."""
    http = b"HTTP/1.1 200 OK" + eol + b"".join(line + eol for line in http_lines) + eol + body
    head = [b"WARC/1.1", b"WARC-Type: response", b"WARC-Target-URI: " + uri.encode(),
            b"Content-Type: application/http; msgtype=response", b"Content-Length: %d" % len(http)]
    return b"".join(line + warc_eol for line in head) + warc_eol + http + b"\r\n\r\n"


def test_header_blocks_in_every_shape(tmp_path):
    big = b"X-Big: " + b"v" * 100_000  # a header block that straddles the reader's 256 KiB chunks
    cases = [
        ("http://h.test/crlf", [b"Content-Type: text/html", b"X-A: 1"], b"<p>crlf</p>", b"\r\n", b"\r\n"),
        ("http://h.test/lf", [b"Content-Type: text/html", b"X-A: 2"], b"<p>lf</p>", b"\n", b"\n"),
        ("http://h.test/folded", [b"Content-Type: text/html", b"X-Long: first", b"\tsecond"], b"<p>f</p>",
         b"\r\n", b"\r\n"),
        ("http://h.test/none", [], b"<p>no headers</p>", b"\r\n", b"\r\n"),
        ("http://h.test/big", [big, b"Content-Type: text/html"], b"<p>big</p>" * 20_000, b"\r\n", b"\r\n"),
        ("http://h.test/after", [b"Content-Type: text/html"], b"<p>after</p>", b"\r\n", b"\r\n"),
    ]
    data = b"".join(hand_record(uri, lines, body, eol, weol) for uri, lines, body, eol, weol in cases)
    expected = {
        "http://h.test/crlf": [("Content-Type", "text/html"), ("X-A", "1")],
        "http://h.test/lf": [("Content-Type", "text/html"), ("X-A", "2")],
        "http://h.test/folded": [("Content-Type", "text/html"), ("X-Long", "first second")],
        "http://h.test/none": [],
        "http://h.test/big": [("X-Big", "v" * 100_000), ("Content-Type", "text/html")],
        "http://h.test/after": [("Content-Type", "text/html")],
    }
    bodies = {uri: body for uri, _, body, _, _ in cases}
    plain, whole_gzip = tmp_path / "shapes.warc", tmp_path / "shapes.warc.gz"
    plain.write_bytes(data)
    whole_gzip.write_bytes(gzip.compress(data))  # one member: decompressed output arrives in pieces
    for path in (plain, whole_gzip):
        recs = list(iter_records(open(path, "rb"), str(path), want=lambda r: True))
        assert all(isinstance(r, WarcRecord) for r in recs), (path, recs)
        assert {r.target_uri: r.http_headers for r in recs} == expected, path
        assert {r.target_uri: r.body for r in recs} == bodies, path
        assert all(r.http_status == 200 for r in recs)
    # damage in a header block is still named: a header line without a colon, a block cut short
    bad = tmp_path / "bad.warc"
    bad.write_bytes(data.replace(b"WARC-Type: response", b"WARC-Type response", 1))
    found = [r for r in iter_records(open(bad, "rb"), str(bad)) if isinstance(r, Corrupt)]
    assert [(c.offset, c.message) for c in found] == [(0, "bad WARC header line 'WARC-Type response'")]
    cut = tmp_path / "cut.warc"
    cut.write_bytes(b"WARC/1.1\r\nWARC-Type: response\r\n")
    found = [r for r in iter_records(open(cut, "rb"), str(cut)) if isinstance(r, Corrupt)]
    assert [(c.offset, c.message) for c in found] == [(0, "WARC header block ends early")]


def test_encodings_and_chunking():
    html = article_html(1, "http://x.test/a")
    assert decode_content(gzip.compress(html), "gzip", 1 << 20) == html
    assert decode_content(zlib.compress(html), "deflate", 1 << 20) == html
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert decode_content(raw.compress(html) + raw.flush(), "deflate", 1 << 20) == html
    assert decode_content(brotli.compress(gzip.compress(html)), "gzip, br", 1 << 20) == html
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(html[i:i + 100]), html[i:i + 100]) for i in range(0, len(html), 100))
    assert dechunk(chunked + b"0\r\n\r\n") == html
    assert dechunk(html) == html  # not chunked after all: as is
    with pytest.raises(Exception, match="too_large"):
        decode_content(gzip.compress(b"x" * 5000), "gzip", 1000)


def test_pages_are_classified_with_their_http_charset():
    """A charset only the Content-Type header states decodes the page in replay as in the crawl."""
    from crawler.crawl.analysis import analyse_page
    from crawler.replay.worker import replay_page

    url = "http://x.test/2026/01/02/story/"
    body = article_html(1, url).decode().encode("cp500")  # EBCDIC: unreadable without the header
    content_type = "text/html; charset=cp500"
    crawl = analyse_page(body, url, content_type, (), ())
    replayed = replay_page(body, url, [("Content-Type", content_type)], max_decoded=1 << 20)
    assert crawl.kind.kind == replayed.kind == "article"
    assert replayed.article is not None and replayed.article.title == "Story number 1"


def test_encoded_pages_replay_like_plain_ones(tmp_path):
    urls = [f"http://news.test/2026/10/01/story-{i}/" for i in range(5)]
    bodies = [article_html(i, u) for i, u in enumerate(urls)]
    chunk = lambda b: b"%x\r\n%s\r\n0\r\n\r\n" % (len(b), b)  # noqa: E731
    html = [("Content-Type", "text/html; charset=utf-8")]
    write_warc(tmp_path / "enc.warc.gz", [
        ("response", urls[0], bodies[0], html),
        ("response", urls[1], gzip.compress(bodies[1]), [*html, ("Content-Encoding", "gzip")]),
        ("response", urls[2], brotli.compress(bodies[2]), [*html, ("Content-Encoding", "br")]),
        ("response", urls[3], chunk(gzip.compress(bodies[3])), [*html, ("Content-Encoding", "gzip"),
                                                                ("Transfer-Encoding", "chunked")]),
        ("response", urls[4], zlib.compress(bodies[4]), [*html, ("Content-Encoding", "deflate")]),
        ("response", "http://news.test/logo.png", b"\x89PNG", [("Content-Type", "image/png")]),
    ])
    calls: list[tuple[dict, bool]] = []
    progress = lambda stats, final: calls.append((dict(stats), final))  # noqa: E731
    result = replay([str(tmp_path)], jsonl=(buf := io.StringIO()), options=ReplayOptions(workers=1),
                    progress=progress)
    rows = rows_of(buf.getvalue())
    assert result.clean and sorted(r["url"] for r in rows.values()) == urls
    assert calls and calls[-1][1] and calls[-1][0]["newswarc/replay/articles"] == len(rows)  # the final counts
    assert {r["site"] for r in rows.values()} == {"news.test"}
    assert result.stats["newswarc/replay/skipped/not_html"] == 1


def test_revisits_resolve_within_and_across_files(tmp_path):
    """A revisit replays with its original's payload, also when the original is in a later file."""
    seed = tmp_path / "s.toml"
    seed.write_text('name = "news"\nstart_urls = ["http://news.test/"]\narticle_url_patterns = ["/story/"]\n')
    html = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")]
    early, late = article_html(1, "http://news.test/story/one"), article_html(2, "http://news.test/story/two")
    # the originals are under URLs the seed does not call articles; the revisits are article URLs
    write_warc(tmp_path / "a.warc.gz", [
        ("response", "http://news.test/print/one", gzip.compress(early, mtime=0), html),
        ("revisit", "http://news.test/story/one", (payload_digest(gzip.compress(early, mtime=0)),
                                                    "http://news.test/print/one"), html),
        ("revisit", "http://news.test/story/two", (payload_digest(gzip.compress(late, mtime=0)),
                                                    "http://news.test/print/two"), html),
        ("revisit", "http://news.test/story/three", ("sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x"), html),
    ])
    write_warc(tmp_path / "b.warc", [("response", "http://news.test/print/two", gzip.compress(late, mtime=0), html)],
               gz=False)
    result = replay([str(tmp_path / "a.warc.gz"), str(tmp_path / "b.warc")], jsonl=(buf := io.StringIO()),
                    options=seed_options(seed))
    rows = rows_of(buf.getvalue())
    assert sorted(r["url"] for r in rows.values()) == ["http://news.test/story/one", "http://news.test/story/two"]
    assert all(r["site"] == "news" and r["warc_file"].endswith("a.warc.gz") for r in rows.values())
    assert result.stats["newswarc/replay/revisits/resolved"] == 2
    assert result.stats["newswarc/replay/revisits/unresolved"] == 1


def test_wacz_source(demo_crawl, demo_seed, tmp_path):
    warc = next(demo_crawl.glob("warc/*.warc.gz"))
    wacz = tmp_path / "crawl.wacz"
    with zipfile.ZipFile(wacz, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.write(warc, f"archive/{warc.name}")
        zf.writestr("datapackage.json", "{}")
    result = replay([str(tmp_path / "*.wacz")], jsonl=(buf := io.StringIO()), options=seed_options(demo_seed))
    rows = rows_of(buf.getvalue())
    assert result.clean and set(rows) == set(rows_of(demo_crawl))
    assert all(r["warc_file"] == f"{wacz}#archive/{warc.name}" for r in rows.values())


# --- damaged input ----------------------------------------------------------------------------

def member_offsets(path: Path) -> list[int]:
    return [r.offset for r in iter_records(open(path, "rb"), str(path)) if isinstance(r, WarcRecord)]


def damaged_copies(src: Path, directory: Path) -> dict[str, tuple[Path, int]]:
    """Each kind of damage in its own file; returns name -> (file, offset of the damage)."""
    data = src.read_bytes()
    offs = member_offsets(src)
    mid = offs[len(offs) // 2]
    out: dict[str, tuple[Path, int]] = {}
    truncated = directory / "truncated.warc.gz"
    truncated.write_bytes(data[:offs[-3] + 40])  # ends inside a member
    out["truncated"] = (truncated, offs[-3])
    garbage = directory / "garbage.warc.gz"
    garbage.write_bytes(data[:mid] + b"\x00garbage\x1f\x8bjunk" * 50 + data[mid:])
    out["garbage"] = (garbage, mid)
    # a record whose Content-Length is wrong (re-compressed member), in a gzip and a plain file
    member = gzip.decompress(data[offs[5]:offs[6]])
    length = int(re.search(rb"Content-Length: (\d+)", member).group(1))
    bad = member.replace(b"Content-Length: %d" % length, b"Content-Length: %d" % (length - 7), 1)
    wrong_len = directory / "wrong-length.warc.gz"
    wrong_len.write_bytes(data[:offs[5]] + gzip.compress(bad) + data[offs[6]:])
    out["wrong_length"] = (wrong_len, offs[5])
    plain = gzip.decompress(data)
    start = len(gzip.decompress(data[:offs[5]]))
    bad_plain = plain[:start] + plain[start:].replace(b"Content-Length: %d" % length,
                                                      b"Content-Length: %d" % (length + 300), 1)
    plain_file = directory / "wrong-length-plain.warc"
    plain_file.write_bytes(bad_plain)
    out["wrong_length_plain"] = (plain_file, start)
    not_warc = directory / "notes.warc"
    not_warc.write_text("these are my notes, not a WARC\n" * 20)
    out["not_warc"] = (not_warc, 0)
    return out


def test_damaged_records_are_reported_and_the_rest_is_read(demo_crawl, tmp_path):
    src = next(demo_crawl.glob("warc/*.warc.gz"))
    total = len(member_offsets(src))
    for name, (path, offset) in damaged_copies(src, tmp_path).items():
        items = list(iter_records(open(path, "rb"), str(path)))
        damage = [i for i in items if isinstance(i, Corrupt)]
        good = [i for i in items if isinstance(i, WarcRecord)]
        assert len(damage) == 1 and damage[0].offset == offset and damage[0].source == str(path), (name, damage)
        # a Content-Length too short inside its own gzip member: the record is kept, as warcio keeps it
        assert damage[0].kept == (name == "wrong_length"), (name, damage)
        expected = {"truncated": total - 3, "garbage": total, "wrong_length": total,
                    "wrong_length_plain": total - 1, "not_warc": 0}[name]
        assert len(good) == expected, (name, len(good), expected)


def test_cli_reports_damage_and_exits_1(demo_crawl, demo_seed, tmp_path):
    src = next(demo_crawl.glob("warc/*.warc.gz"))
    damaged = damaged_copies(src, tmp_path)
    proc = run_cli("replay", str(tmp_path), "--jsonl", "-", "--seed", str(demo_seed), "--workers", "2")
    assert proc.returncode == 1, proc.stderr[-2000:]
    for path, offset in damaged.values():
        assert re.search(rf"{re.escape(str(path))}: offset {offset}: ", proc.stderr), (path, proc.stderr[-3000:])
    rows = rows_of(proc.stdout)  # every line is JSON; articles from undamaged records are there
    assert len(rows) >= len(rows_of(demo_crawl)) - 3
    clean = run_cli("replay", str(src), "--jsonl", "-", "--seed", str(demo_seed), "--workers", "1", "-q")
    assert clean.returncode == 0


# --- S3 ---------------------------------------------------------------------------------------

def test_s3_source(demo_crawl, demo_seed, s3_bucket, s3_env, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the source's (unused) spool
    client = s3_client(s3_env)
    warc = next(demo_crawl.glob("warc/*.warc.gz"))
    client.upload_file(str(warc), s3_bucket, f"crawls/demo/warc/{warc.name}")
    client.put_object(Bucket=s3_bucket, Key="crawls/demo/readme.txt", Body=b"not a warc")
    out = tmp_path / "out"
    settings = {"NEWSWARC_SPOOL_DIR": str(tmp_path / "spool")}
    result = replay([f"s3://{s3_bucket}/crawls/demo"], out=str(out), options=seed_options(demo_seed),
                    settings=settings)
    rows = rows_of(out)
    assert result.clean and set(rows) == set(rows_of(demo_crawl))
    assert {r["warc_file"] for r in rows.values()} == {f"s3://{s3_bucket}/crawls/demo/warc/{warc.name}"}
    with pytest.raises(ReplayError, match="no .warc"):
        replay([f"s3://{s3_bucket}/nothing-here"], jsonl=io.StringIO(), settings=settings)


def _crawl_decoded(body: bytes, url: str, headers: list[tuple[str, str]], limit: int):
    """What the crawl's DecodingMiddleware makes of a downloaded response: (body, undecoded flag or None)."""
    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.test import get_crawler

    from crawler.crawl.middlewares import DecodingMiddleware

    async def inline(func, *args):  # the decoding itself, without a reactor's thread pool (test_bombs checks that)
        return func(*args)

    mw = DecodingMiddleware(get_crawler(settings_dict={"NEWSWARC_ARCHIVE_MAX_DECODED": limit}))
    request = Request(url)
    with unittest.mock.patch("crawler.crawl.middlewares.in_thread", inline):
        step = mw.process_response(request, HtmlResponse(url, body=body, headers=headers))
        try:
            step.send(None)
        except StopIteration as done:
            response = done.value
    return response.body, request.meta.get("newswarc_undecoded")


def test_stacked_encodings_in_two_headers_replay_to_the_text_the_crawl_read():
    """``Content-Encoding: gzip`` then ``Content-Encoding: br`` (two headers): replay reads every header
    and undoes both, as the crawl does (it used to read only the first, and fail on the brotli bytes)."""
    from crawler.extract.api import extract_with_reason
    from crawler.replay.worker import replay_page

    url = "http://x.test/2026/01/02/story/"
    html = article_html(1, url)
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("Content-Encoding", "br")]
    wire = brotli.compress(gzip.compress(html))
    crawl_body, undecoded = _crawl_decoded(wire, url, headers, 1 << 20)
    assert crawl_body == html and undecoded is None
    crawl_article, _ = extract_with_reason(crawl_body, url, charset="utf-8")
    replayed = replay_page(wire, url, headers, max_decoded=1 << 20)
    assert replayed.kind == "article" and not replayed.mismatch, replayed
    assert crawl_article is not None and replayed.article.text == crawl_article.text


def test_a_bomb_is_bounded_in_replay_by_the_crawls_limit(tmp_path):
    """Replay decodes at most NEWSWARC_ARCHIVE_MAX_DECODED bytes, the crawl's limit (not the body limit)."""
    from crawler.cli.replay import options_from_args
    from crawler.config.settings import NEWSWARC_ARCHIVE_MAX_DECODED
    from crawler.replay.worker import replay_page

    url = "http://x.test/2026/01/02/story/"
    bomb = gzip.compress(b"<html>" + b" " * (4 << 20))
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    _, undecoded = _crawl_decoded(bomb, url, headers, 1 << 20)
    assert undecoded and undecoded.startswith("decoded_too_large")
    replayed = replay_page(bomb, url, headers, max_decoded=1 << 20)
    assert (replayed.kind, replayed.reason) == ("undecodable", "too_large")
    args = type("Args", (), {"workers": 1})()
    settings = {"NEWSWARC_ARCHIVE_MAX_DECODED": 1 << 20, "NEWSWARC_ARCHIVE_MAX_BODY": 1 << 30}
    assert options_from_args(args, settings).max_decoded == 1 << 20
    assert options_from_args(args).max_decoded == NEWSWARC_ARCHIVE_MAX_DECODED


@pytest.mark.parametrize("with_out", [False, True])
def test_replay_stops_and_exits_141_when_stdout_is_closed_as_the_crawl_does(tmp_path, with_out):
    """``newswarc replay --jsonl - | head -1``: one line, exit 141 (the crawl's ending), no traceback."""
    urls = [f"http://news.test/2026/10/01/story-{i}/" for i in range(200)]  # ~200 KB of JSONL: past a pipe's buffer
    html = [("Content-Type", "text/html; charset=utf-8")]
    write_warc(tmp_path / "many.warc.gz", [("response", u, article_html(i, u), html) for i, u in enumerate(urls)])
    out = ["--out", str(tmp_path / "out")] if with_out else []
    proc = subprocess.Popen([*CLI, "replay", str(tmp_path / "many.warc.gz"), "--jsonl", "-", "--workers", "1", *out],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=240) == 141, stderr
    assert json.loads(first)["url"] in urls
    assert "Traceback" not in stderr
    closed = [line for line in stderr.splitlines() if "stdout was closed" in line]
    assert len(closed) == 1 and closed[0].startswith("newswarc: stdout was closed after "), stderr
    assert "the replay stopped" in closed[0]
    if with_out:  # replay stopped early: not every article was written
        assert 0 < len(rows_of(tmp_path / "out")) < len(urls)


def _news_page(title: str, *, jsonld: bool, extra: str = "") -> str:
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
          f'"headline": "{title}", "datePublished": "2026-12-01T08:00:00Z"}}</script>') if jsonld else ""
    paras = "".join(f"<p>Paragraph {i}: the council voted on the tram line to the hospital, which opens next spring "
                    "and costs less than the bus lanes it replaces, said the mayor.</p><!-- ad slot -->" for i in range(7))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html><html lang="en"><head><title>{title} | City News'
            f'</title>{ld}<meta property="og:type" content="article"></head><body><nav><a href="/">Home</a></nav>'
            f'<article><h1>{title}</h1><p class="byline">By Jane Roe</p>{paras}</article>{extra}</body></html>')


def test_replay_parses_each_page_once_with_the_crawls_verdicts_and_articles(monkeypatch):
    """One tree for classification and extraction; the same kind, kind_reason and article as the crawl path."""
    from crawler.crawl.analysis import analyse_page
    from crawler.extract import api
    from crawler.extract.api import extract_with_reason
    from crawler.replay import worker

    teasers = "".join(f'<div class="card"><h2><a href="/2026/11/{i:02d}/story-{i}/">Story {i} of the week</a></h2>'
                      f"<p>A short teaser for story {i}.</p></div>" for i in range(1, 25))
    pages = {
        "https://news.test/2026/12/01/tram-line/": _news_page("Tram line approved", jsonld=True),
        "https://news.test/2026/12/01/bus-lanes/": _news_page("Bus lanes go", jsonld=False),
        "https://news.test/category/city/": f"<html><head><title>City</title></head><body><h1>City</h1>{teasers}"
                                            "<!-- end --></body></html>",
        "https://news.test/about/": "<html><head><title>About us</title></head><body><p>Contact.</p></body></html>",
    }
    parses = []
    real_parse, real_parse_html = api._parse, worker.parse_html
    monkeypatch.setattr(api, "_parse", lambda text: parses.append("extractor") or real_parse(text))
    monkeypatch.setattr(worker, "parse_html", lambda *a, **k: parses.append("classifier") or real_parse_html(*a, **k))
    content_type = "text/html; charset=utf-8"
    kinds = set()
    for url, html in pages.items():
        body = html.encode()
        crawl_kind = analyse_page(body, url, content_type, (), (), charset="utf-8").kind
        crawl_article = extract_with_reason(body, url, charset="utf-8") if crawl_kind.kind == "article" else (None, None)
        parses.clear()
        replayed = worker.replay_page(body, url, [("Content-Type", content_type)], max_decoded=1 << 20)
        assert parses == ["extractor"], url
        assert (replayed.kind, replayed.kind_reason) == (crawl_kind.kind, crawl_kind.reason), url
        assert (replayed.article, replayed.reason) == crawl_article, url
        kinds.add(replayed.kind)
    assert "article" in kinds and len(kinds) > 1
