"""Archives others write (issue 18): ARC, whole-file gzip, Heritrix/wget revisits, lying encodings,
damaged files, WACZ without WARC; `newswarc index` line for line against cdxj-indexer.

Every input is written here, byte by byte; the wget test runs wget against the demo site on loopback.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.replay.api import replay
from crawler.replay.options import ReplayOptions
from crawler.warc.reader import Corrupt, WarcRecord, iter_records

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "crawler.cli"]
BIN = Path(sys.executable).parent
SEED = 'name = "news"\nstart_urls = ["http://news.test/"]\narticle_url_patterns = ["/story/"]\nlanguage = "en"\n'


def run_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def cdxj_indexer(*paths: Path) -> str:
    """The reference: cdxj-indexer's sorted lines (it stops with an error on what it cannot read)."""
    proc = subprocess.run([str(BIN / "cdxj-indexer"), "-s", *map(str, paths)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-1000:]
    return proc.stdout


def story(n: int) -> bytes:
    paras = "\n".join(f"<p>Paragraph {i} of story {n}: the council voted on the harbour plan after a long debate "
                      f"about budgets, jobs and the future of the old port district number {i}.</p>" for i in range(8))
    return (f'<html lang="en"><head><title>Story number {n}</title><meta property="og:type" content="article">'
            f'</head><body><article><h1>Story number {n}</h1>{paras}</article></body></html>').encode()


def sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def http(body: bytes, headers: list[tuple[str, str]] | None = None, status: str = "200 OK") -> tuple[bytes, bytes]:
    """(HTTP head, payload)."""
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers or [("Content-Type", "text/html")])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), body


def record(kind: str, uri: str | None, block: bytes, date: str = "2026-10-01T10:00:00Z", *,
           extra: list[tuple[str, str]] = (), content_type: str | None = "application/http; msgtype=response",
           rid: str | None = None) -> bytes:
    rid = rid or f"<urn:uuid:{hashlib.md5(block + kind.encode() + (uri or '').encode() + date.encode()).hexdigest()}>"
    head = [("WARC-Type", kind), ("WARC-Record-ID", rid), ("WARC-Date", date)]
    if uri:
        head.append(("WARC-Target-URI", uri))
    if content_type:
        head.append(("Content-Type", content_type))
    head += list(extra)
    head.append(("Content-Length", str(len(block))))
    return ("WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head) + "\r\n").encode() + block + b"\r\n\r\n"


def response(uri: str, body: bytes, date: str = "2026-10-01T10:00:00Z", *, digest: bool = True,
             headers: list[tuple[str, str]] | None = None, rid: str | None = None) -> bytes:
    head, payload = http(body, headers)
    extra = [("WARC-Payload-Digest", sha1(payload))] if digest else []
    return record("response", uri, head + payload, date, extra=extra, rid=rid)


def warcinfo() -> bytes:
    return record("warcinfo", None, b"software: a test\r\n", content_type="application/warc-fields")


def write(path: Path, records: list[bytes], how: str) -> Path:
    """how: plain, gzip (one member per record) or whole (one member for the whole file)."""
    data = {"plain": b"".join(records), "gzip": b"".join(gzip.compress(r, mtime=0) for r in records),
            "whole": gzip.compress(b"".join(records), mtime=0)}[how]
    path.write_bytes(data)
    return path


def replay_rows(paths: list[Path], tmp_path: Path, **kw) -> tuple[dict[str, dict], dict[str, int]]:
    from crawler.config.seeds import load_seed

    seed = tmp_path / "news.toml"
    seed.write_text(SEED)
    result = replay([str(p) for p in paths], jsonl=(buf := io.StringIO()),
                    options=ReplayOptions(seed=load_seed(seed), workers=1, **kw))
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    return {r["url"]: r for r in rows}, result.stats


def text_of(body: bytes, url: str) -> str:
    from crawler.extract.api import extract_article

    article = extract_article(body, url)
    assert article is not None
    return article.text_sha256


# --- ARC ---------------------------------------------------------------------------------------

def arc_file(path: Path, items: list[tuple[str, bytes]], *, gz: bool) -> Path:
    spec = b"1 0 Test Capture\nURL IP-address Archive-date Content-type Archive-length\n"
    parts = [f"filedesc://{path.name} 127.0.0.1 20261001100000 text/plain {len(spec)}\n".encode() + spec + b"\n"]
    for n, (url, body) in enumerate(items):
        head, payload = http(body)
        parts.append(f"{url} 10.0.0.{n} 2026100110{n:02d}00 text/html {len(head + payload)}\n".encode()
                     + head + payload + b"\n")
    path.write_bytes(b"".join(gzip.compress(p, mtime=0) for p in parts) if gz else b"".join(parts))
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["arc", "arc.gz"])
def test_arc_files_replay_and_index_like_cdxj_indexer(tmp_path, gz):
    urls = ["http://news.test/story/one", "http://news.test/story/two with space"]
    arc = arc_file(tmp_path / ("a.arc.gz" if gz else "a.arc"), [(u, story(n)) for n, u in enumerate(urls)], gz=gz)
    rows, stats = replay_rows([arc], tmp_path)
    assert sorted(rows) == ["http://news.test/story/one", "http://news.test/story/two%20with%20space"]
    assert rows["http://news.test/story/one"]["text_sha256"] == text_of(story(0), urls[0])
    assert stats["newswarc/replay/records/response"] == 2 and not stats.get("newswarc/replay/corrupt")
    proc = run_cli("index", str(arc))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == cdxj_indexer(arc) and proc.stdout.count("\n") == 2


# --- index = cdxj-indexer ---------------------------------------------------------------------

def mixed_records() -> list[bytes]:
    return [
        warcinfo(),
        response("http://a.test/", story(1)),
        response("http://a.test/no-digest", story(2), digest=False),  # wget, wpull: digest to compute
        response("http://a.test/no-type", b"plain", headers=[("Server", "x")]),  # mime left out
        response("http://a.test/redirect", b"", headers=[("Location", "/"), ("Content-Type", "text/html; charset=x")]),
        record("request", "http://a.test/", b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
               content_type="application/http; msgtype=request"),
        record("revisit", "http://a.test/again", b"", extra=[("WARC-Payload-Digest", sha1(story(1))),
                                                             ("WARC-Truncated", "length")], content_type=None),
        record("resource", "urn:text:http://a.test/", b"some text", content_type="text/plain; charset=utf-8"),
        record("metadata", "http://a.test/", b"outlink: x\r\n", content_type="application/warc-fields"),
        record("metadata", "http://a.test/", b"{}", content_type="application/json"),
    ]


@pytest.mark.parametrize("how", ["plain", "gzip"])
def test_index_lines_equal_cdxj_indexer(tmp_path, how):
    path = write(tmp_path / ("m.warc" if how == "plain" else "m.warc.gz"), mixed_records(), how)
    proc = run_cli("index", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == cdxj_indexer(path)
    lines = {json.loads(line.split(" ", 2)[2])["url"]: json.loads(line.split(" ", 2)[2])
             for line in proc.stdout.splitlines()}
    assert lines["http://a.test/no-digest"]["digest"] == sha1(story(2))
    assert "mime" not in lines["http://a.test/no-type"]
    assert "urn:text:http://a.test/" in lines and proc.stdout.count("\n") == 7  # no request, no warc-fields


def test_index_skips_damaged_files_and_never_truncates_its_output(tmp_path):
    good = write(tmp_path / "good.warc.gz", mixed_records(), "gzip")
    data = good.read_bytes()
    cut = len(gzip.compress(mixed_records()[0], mtime=0)) + len(gzip.compress(mixed_records()[1], mtime=0))
    damaged = tmp_path / "damaged.warc.gz"
    damaged.write_bytes(data[:cut] + b"\x00garbage\x00" + data[cut:])
    whole = write(tmp_path / "whole.warc.gz", mixed_records(), "whole")
    empty = tmp_path / "empty.wacz"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("datapackage.json", "{}")
    out = tmp_path / "index.cdxj"
    proc = run_cli("index", str(good), str(damaged), "-o", str(out), str(whole), str(empty))  # SOURCEs after -o too
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    skipped = [line for line in proc.stderr.splitlines() if "skipped:" in line]
    assert len(skipped) == 3, proc.stderr
    assert any(f"{damaged}: skipped: offset {cut}: not a gzip member" in line for line in skipped)
    assert any(f"{whole}: skipped: whole-file gzip" in line for line in skipped)
    assert any(f"{empty}: skipped: a WACZ with no archive/" in line for line in skipped)
    assert out.read_text() == cdxj_indexer(good)
    before = out.read_bytes()
    proc = run_cli("index", str(good), str(tmp_path / "missing.warc.gz"), "-o", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "missing.warc.gz" in proc.stderr
    assert out.read_bytes() == before  # an index that exists is never left empty or cut



@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_index_to_a_device_writes_it_in_place(tmp_path):
    """`-o /dev/null` as root: the atomic rename would put a plain file where the device was (this
    happened to the machine's /dev/null). A private null device stands in for it here."""
    good = write(tmp_path / "good.warc.gz", mixed_records(), "gzip")
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    proc = run_cli("index", str(good), "-o", str(device))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(device.stat().st_mode)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- whole-file gzip ----------------------------------------------------------------------------

def test_whole_file_gzip_revisit_resolves_to_its_original_not_to_offset_0(tmp_path):
    body = story(7)
    records = [warcinfo(), response("http://news.test/print/seven", body, rid="<urn:uuid:orig-7>"),
               record("revisit", "http://news.test/story/seven", http(body)[0], "2026-10-02T10:00:00Z",
                      extra=[("WARC-Refers-To", "<urn:uuid:orig-7>"), ("WARC-Truncated", "length"),
                             ("WARC-Profile", "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest")])]
    path = write(tmp_path / "whole.warc.gz", records, "whole")
    items = list(iter_records(open(path, "rb"), str(path)))
    assert [r.inner > 0 for r in items if isinstance(r, WarcRecord)] == [False, True, True]
    rows, stats = replay_rows([path], tmp_path)
    assert list(rows) == ["http://news.test/story/seven"]
    assert rows["http://news.test/story/seven"]["text_sha256"] == text_of(body, "http://news.test/story/seven")
    assert stats["newswarc/replay/revisits/resolved"] == 1


# --- revisits as Heritrix, wget --warc-dedup and warcprox write them -----------------------------

def heritrix_revisit(uri: str, body: bytes, date: str, *, refers_id: str | None = None,
                     refers_uri: str | None = None, refers_date: str | None = None, digest: str | None = "same") -> bytes:
    """A revisit whose block is the HTTP head only, flagged WARC-Truncated: length (as Heritrix writes it)."""
    extra = [("WARC-Profile", "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest"),
             ("WARC-Truncated", "length")]
    if digest:
        extra.append(("WARC-Payload-Digest", sha1(body) if digest == "same" else digest))
    if refers_id:
        extra.append(("WARC-Refers-To", refers_id))
    if refers_uri:
        extra += [("WARC-Refers-To-Target-URI", refers_uri), ("WARC-Refers-To-Date", refers_date or "")]
    return record("revisit", uri, http(body)[0], date, extra=extra)


def test_revisits_with_warc_truncated_resolve_by_id_uri_date_or_digest_across_files(tmp_path):
    first = "2026-10-01T10:00:00Z"
    originals = [response(f"http://news.test/story/{n}", story(n), first, rid=f"<urn:uuid:run1-{n}>",
                          digest=n != 2) for n in range(5)]
    run1 = write(tmp_path / "run1.warc.gz", [warcinfo(), *originals], "gzip")
    later = "2026-10-08T10:00:00.000Z"
    revisits = [
        heritrix_revisit("http://news.test/story/0", story(0), later, refers_id="<urn:uuid:run1-0>"),
        heritrix_revisit("http://news.test/story/1", story(1), later, refers_uri="http://news.test/story/1",
                         refers_date="2026-10-01T10:00:00Z", digest=None),
        heritrix_revisit("http://news.test/story/2", story(2), later, refers_uri="http://news.test/story/2",
                         refers_date=first, digest=None),  # its original has no digest either: URI + date
        heritrix_revisit("http://news.test/story/3", story(3), later),  # digest only
        heritrix_revisit("http://news.test/story/4", story(4), later, refers_id="<urn:uuid:run1-4>",
                         digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),  # points at another payload
        heritrix_revisit("http://news.test/story/9", story(9), later),  # its original is not in the input
    ]
    run2 = write(tmp_path / "run2.warc", revisits, "plain")
    # the second run's dates only: the first run's records are filtered out, yet they are the originals
    for order in ([run1, run2], [run2, run1]):
        rows, stats = replay_rows(order, tmp_path, since=datetime(2026, 10, 5, tzinfo=UTC))
        assert sorted(rows) == [f"http://news.test/story/{n}" for n in range(4)], (order, stats)
        for n in range(4):
            row = rows[f"http://news.test/story/{n}"]
            assert row["text_sha256"] == text_of(story(n), row["url"]) and row["warc_file"] == str(run2)
        assert stats["newswarc/replay/revisits/resolved"] == 4
        assert stats["newswarc/replay/revisits/unresolved/digest_mismatch"] == 1
        assert stats["newswarc/replay/revisits/unresolved/no_original"] == 1
        assert not stats.get("newswarc/replay/skipped/truncated")


# --- Content-Encoding that the body does not have ----------------------------------------------

def test_a_body_that_is_not_what_its_content_encoding_says_is_used_as_is(tmp_path):
    html = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")]
    packed = gzip.compress(story(2), mtime=0)
    damaged_gzip = packed[:20] + bytes(b ^ 0xFF for b in packed[20:60]) + packed[60:]
    path = write(tmp_path / "enc.warc.gz", [
        response("http://news.test/story/1", story(1), headers=html),  # already decoded (wabac.js exports)
        response("http://news.test/story/2", damaged_gzip, headers=html),  # gzip, but damaged: no page
        response("http://news.test/story/3", gzip.compress(story(3), mtime=0), headers=html),
    ], "gzip")
    rows, stats = replay_rows([path], tmp_path)
    assert sorted(rows) == ["http://news.test/story/1", "http://news.test/story/3"]
    assert rows["http://news.test/story/1"]["text_sha256"] == text_of(story(1), "http://news.test/story/1")
    assert stats["newswarc/replay/encoding_mismatch"] == 1
    assert stats["newswarc/replay/skipped/bad_encoding"] == 1


def test_replay_takes_sources_after_options(tmp_path):
    a = write(tmp_path / "a.warc.gz", [response("http://news.test/story/1", story(1))], "gzip")
    b = write(tmp_path / "b.warc", [response("http://news.test/story/2", story(2))], "plain")
    seed = tmp_path / "news.toml"
    seed.write_text(SEED)
    proc = run_cli("replay", str(a), "--since", "2026-01-01", str(b), "--jsonl", "-", "--seed", str(seed),
                   "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(line)["url"] for line in proc.stdout.splitlines()) == [
        "http://news.test/story/1", "http://news.test/story/2"]
    proc = run_cli("replay", str(a), "--jsonl", "-", "--bogus", str(b))
    assert proc.returncode == 2 and "--bogus" in proc.stderr


# --- wget --warc-dedup: the second run is made of revisits ---------------------------------------

def test_wget_dedup_second_run_replays_every_article_of_the_first(tmp_path):
    if shutil.which("wget") is None:
        pytest.skip("wget is not installed: cannot write a third-party WARC")
    from crawler.demo.server import DemoServer
    from crawler.demo.site import build_site

    site = build_site(30)
    wget = ["wget", "-q", "-r", "-l", "2", "-e", "robots=off", "--no-warc-keep-log"]
    with DemoServer(site) as server:
        subprocess.run([*wget, f"--warc-file={tmp_path / 'run1'}", "--warc-cdx", "-P", str(tmp_path / "m1"),
                        server.url + "/"], timeout=180, check=False, cwd=tmp_path)
        since = datetime.fromtimestamp(int(time.time()) + 2, UTC)
        time.sleep(max(0.0, since.timestamp() - time.time()) + 0.1)  # WARC-Date has whole seconds
        subprocess.run([*wget, f"--warc-file={tmp_path / 'run2'}", f"--warc-dedup={tmp_path / 'run1.cdx'}",
                        "-P", str(tmp_path / "m2"), server.url + "/"], timeout=180, check=False, cwd=tmp_path)
    run1, run2 = tmp_path / "run1.warc.gz", tmp_path / "run2.warc.gz"
    revisits = [r for r in iter_records(open(run2, "rb"), str(run2))
                if isinstance(r, WarcRecord) and r.type == "revisit"]
    assert revisits and all(r.headers.get("warc-truncated") == "length" for r in revisits)
    first = replay([str(run1)], jsonl=(buf1 := io.StringIO()), options=ReplayOptions(workers=2))
    both = replay([str(run1), str(run2)], jsonl=(buf2 := io.StringIO()),
                  options=ReplayOptions(workers=2, since=since))
    rows1 = {r["url"]: r for r in map(json.loads, buf1.getvalue().splitlines())}
    rows2 = {r["url"]: r for r in map(json.loads, buf2.getvalue().splitlines())}
    paths = {a.path for a in site.articles}
    assert len(rows1) >= 15 and all(urlsplit(u).path in paths for u in rows1)
    assert sorted(rows2) == sorted(rows1), both.stats
    for url, row in rows2.items():
        assert row["text_sha256"] == rows1[url]["text_sha256"] and row["warc_file"] == str(run2)
    assert not both.stats.get("newswarc/replay/revisits/unresolved") and first.clean and both.clean
    assert not [c for c in iter_records(open(run2, "rb"), "x") if isinstance(c, Corrupt)]


# --- repair reads with the same reader ---------------------------------------------------------

def test_repair_keeps_whole_records_up_to_a_block_digest_that_does_not_match(tmp_path):
    from crawler.warc.repair import whole_records_end

    def resource(n: int, block: bytes, digest: bytes) -> bytes:
        return gzip.compress(record("resource", f"urn:x:{n}", block, content_type="text/plain",
                                    extra=[("WARC-Block-Digest", sha1(digest))]), mtime=0)

    members = [resource(0, b"zero", b"zero"), resource(1, b"one", b"one"), resource(2, b"two!", b"two"),
               resource(3, b"three", b"three")]
    path = tmp_path / "x.warc.gz.open"
    path.write_bytes(b"".join(members))
    with open(path, "rb") as fh:
        assert whole_records_end(fh) == (len(members[0]) + len(members[1]), 2)


# --- WACZ of plain WARCs ------------------------------------------------------------------------

def test_filtered_wacz_of_a_plain_warc_copies_whole_records(tmp_path):
    """A plain record's reader length stops before its CRLF CRLF: the copied range must not."""
    from warcio.archiveiterator import ArchiveIterator

    from tests.wacz_checks import check_wacz

    old, new = response("http://a.test/old", story(1), "2026-10-01T10:00:00Z"), \
        response("http://a.test/new", story(2), "2026-10-05T10:00:00Z")
    path = write(tmp_path / "clean.warc", [warcinfo(), old, new], "plain")
    out = tmp_path / "new.wacz"
    proc = run_cli("wacz", str(path), "-o", str(out), "--since", "2026-10-03")
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out) as zf:
        data = zf.read("archive/clean.warc")
    assert data == warcinfo() + new
    assert [r.rec_type for r in ArchiveIterator(io.BytesIO(data))] == ["warcinfo", "response"]
    check_wacz(out)


def test_index_and_wacz_errors_are_one_line(tmp_path, s3_env, s3_bucket):
    from tests.s3_server import ACCESS_KEY, SECRET_KEY, s3_client

    no_date = record("response", "http://a.test/x", b"".join(http(b"x")), "")  # an empty WARC-Date
    path = write(tmp_path / "odd.warc", [warcinfo(), no_date], "plain")
    proc = run_cli("index", str(path))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert [line.split(" ")[1] for line in proc.stdout.splitlines()] == ["00000000000000"]
    good = write(tmp_path / "good.warc.gz", mixed_records(), "gzip")
    s3_client(s3_env, ACCESS_KEY, SECRET_KEY).upload_file(str(good), s3_bucket, "arch/good.warc.gz")
    proc = subprocess.run([*CLI, "index", f"s3://{s3_bucket}/arch"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == cdxj_indexer(good)
    (tmp_path / "file").write_text("")
    proc = run_cli("wacz", str(good), "-o", str(tmp_path / "file" / "x.wacz"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "cannot write" in proc.stderr


def test_browse_keeps_apart_two_packages_warcs_of_the_same_name(tmp_path):
    from crawler.replay.browse import build_collection
    from crawler.warc.wacz import write_wacz
    from crawler.warc.wacz_inputs import local_inputs

    packages = []
    for n in (1, 2):
        (tmp_path / f"run{n}").mkdir()
        warc = write(tmp_path / f"run{n}" / "rec-00000.warc.gz",
                     [warcinfo(), response(f"http://a.test/story/{n}", story(n))], "gzip")
        packages.append(tmp_path / f"run{n}.wacz")
        write_wacz(local_inputs([str(warc)])[0], packages[-1])
    root = tmp_path / "coll"
    lines, _pages = build_collection([str(p) for p in packages], root)
    coll = root / "collections" / "newswarc"
    names = sorted(p.name for p in (coll / "archive").iterdir())
    assert names == ["rec-00000.warc.gz", "run2-rec-00000.warc.gz"]
    index = [json.loads(line.split(" ", 2)[2]) for line in (coll / "indexes" / "index.cdx").read_text().splitlines()]
    where = {e["url"]: e["filename"] for e in index}
    assert where == {"http://a.test/story/1": "rec-00000.warc.gz", "http://a.test/story/2": "run2-rec-00000.warc.gz"}
    for e in index:  # each line points at its own record
        items = list(iter_records(open(coll / "archive" / e["filename"], "rb"), e["filename"]))
        assert any(isinstance(r, WarcRecord) and r.offset == int(e["offset"]) and r.target_uri == e["url"]
                   for r in items)
    assert lines == 2


def test_wacz_of_a_whole_file_gzip_says_so_once(tmp_path):
    whole = write(tmp_path / "whole.warc.gz", [warcinfo(), *(response(f"http://a.test/{n}", story(n))
                                                            for n in range(30))], "whole")
    proc = run_cli("wacz", str(whole), "-o", str(tmp_path / "w.wacz"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("whole-file gzip") == 1 and "warcio recompress" in proc.stderr, proc.stderr
    proc = run_cli("wacz", str(whole), "-o", str(tmp_path / "f.wacz"), "--since", "2026-01-01")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "whole-file gzip" in proc.stderr, proc.stderr


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_browse_port_out_of_range_is_one_line(tmp_path, port):
    path = write(tmp_path / "a.warc", [warcinfo()], "plain")
    proc = run_cli("browse", "--port", port, str(path), timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"newswarc: --port {port}: a port is 1 to 65535"]


def test_index_of_a_record_with_no_warc_date_header_is_not_a_traceback(tmp_path):
    no_header = response("http://a.test/x", story(1)).replace(b"WARC-Date: 2026-10-01T10:00:00Z\r\n", b"")
    assert b"WARC-Date" not in no_header
    path = write(tmp_path / "nodate.warc.gz", [warcinfo(), no_header], "gzip")
    proc = run_cli("index", str(path))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert [line.split(" ")[1] for line in proc.stdout.splitlines()] == ["00000000000000"]


def test_index_sorts_on_disk_in_bounded_memory(tmp_path):
    """`newswarc index` no longer holds every line before writing: runs of ``run_lines`` are sorted,
    spilled and merged (5000 lines are ~1.7 MB as a list; the index stays well under that)."""
    import tracemalloc

    from crawler.warc.cdxj import index_sources
    from crawler.warc.sources import SourceSet

    n = 5000
    records = [response(f"http://a.test/{i:05d}", b"x", f"2026-10-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z")
               for i in reversed(range(n))]
    path = write(tmp_path / "many.warc.gz", records, "gzip")
    source_set = SourceSet([str(path)])
    tracemalloc.start()
    try:
        with index_sources(source_set, run_lines=200, tmp_dir=str(tmp_path)) as (lines, result):
            count, previous = 0, ""
            for line in lines:
                assert line > previous  # sorted, each once
                previous, count = line, count + 1
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        source_set.close()
    assert count == result.lines == n and result.indexed == [str(path)]
    assert peak < 1_000_000, peak
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("newswarc-cdx-")]  # the runs are removed


def test_reading_back_records_of_a_whole_file_gzip_decompresses_it_once(tmp_path):
    """ReadBack (revisits' originals, replay --crawl's captures): n records of a whole-file gzip read
    back cost one pass over the file, not one decompression from its start per record (quadratic)."""
    from crawler.warc.sources import ReadBack, Source, read_at

    records = [warcinfo(), *(response(f"http://news.test/{i}", story(i), rid=f"<urn:uuid:rec-{i}>") for i in range(300))]
    path = write(tmp_path / "whole.warc.gz", records, "whole")
    read_bytes = 0

    class Counting(io.FileIO):
        def read(self, size=-1):
            nonlocal read_bytes
            data = super().read(size)
            read_bytes += len(data)
            return data

        def readinto(self, buffer):
            nonlocal read_bytes
            n = super().readinto(buffer)
            read_bytes += n or 0
            return n

    source = Source(str(path), lambda: io.BufferedReader(Counting(str(path))), gzip=True)
    pointers = [(r.offset, r.inner, r.record_id) for r in iter_records(open(path, "rb"), str(path))
                if isinstance(r, WarcRecord) and r.type == "response"]
    assert len(pointers) == 300 and all(inner > 0 for _, inner, _ in pointers)
    readback = ReadBack(tmp_dir=str(tmp_path))
    try:
        got = [readback.read(source, offset, max_body=1 << 20, inner=inner, record_id=rid)
               for offset, inner, rid in pointers]
    finally:
        readback.close()
    assert [g.record_id for g in got] == [rid for _, _, rid in pointers]
    assert [g.body for g in got] == [http(story(i))[1] for i in range(300)]
    assert read_bytes <= 2 * path.stat().st_size + 65536, read_bytes
    assert read_at(source, *pointers[-1][:1], max_body=1 << 20, inner=pointers[-1][1]).body == got[-1].body
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("newswarc-gunzip-")]  # the copies are removed
