"""WACZ packages of real demo crawls: py-wacz's validator, stricter checks, pywb, browse, Chromium."""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.crawl_helpers import FAST, newswarc, read_jsonl, run_reports, write_seed
from tests.wacz_checks import Browse, check_wacz, index_lines, wacz_validate
from tests.warc_checks import BIN, decoded_body, read_records


@pytest.fixture(scope="module")
def demo_wacz(demo_crawl: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wacz") / "demo.wacz"
    proc = newswarc("wacz", str(demo_crawl), "-o", str(out), "--text")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def _ts(date: str) -> str:
    return "".join(ch for ch in date if ch.isdigit())[:14]


def test_demo_wacz_passes_wacz_validate_and_the_stricter_checks(demo_crawl, demo_wacz):
    proc = wacz_validate(demo_wacz)
    assert proc.returncode == 0 and "Validation succeeded" in proc.stdout, proc.stdout[-2000:]
    info = check_wacz(demo_wacz)
    rows = read_jsonl(demo_crawl)
    pages = info["pages"]
    # every archived article is a page (with its title and text), and so is the start page
    by_url = {p["url"]: p for p in pages}
    assert len(pages) == len(rows) + 1
    for row in rows:
        page = by_url[row["url"]]
        assert page["title"] == row["title"] and page["text"] == row["text"]
    start = [p for p in pages if p.get("route") == "start"]
    assert len(start) == 1 and start[0]["title"] and info["package"]["mainPageUrl"] == start[0]["url"]
    # the WARCs are the crawl's files, byte for byte; the index is what cdxj-indexer writes
    warcs = sorted((demo_crawl / "warc").glob("*.warc.gz"))
    with zipfile.ZipFile(demo_wacz) as zf:
        for warc in warcs:
            assert hashlib.sha256(zf.read(f"archive/{warc.name}")).digest() == hashlib.sha256(warc.read_bytes()).digest()
        ours = index_lines(zf)
    theirs = subprocess.run([str(BIN / "cdxj-indexer"), "--sort", *map(str, warcs)], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    assert ours == theirs


def test_zipnum_index_for_large_packages(demo_crawl, tmp_path):
    from crawler.warc.wacz import WaczOptions, write_wacz
    from crawler.warc.wacz_inputs import local_inputs

    inputs, articles = local_inputs([str(demo_crawl)])
    out = tmp_path / "zipnum.wacz"
    summary = write_wacz(inputs, out, articles=articles, options=WaczOptions(zipnum_threshold=10, zipnum_block_lines=40))
    assert summary.zipnum and summary.index_lines > 80
    assert wacz_validate(out).returncode == 0
    check_wacz(out)
    with zipfile.ZipFile(out) as zf:
        data = zf.read("indexes/index.cdx.gz")
        idx = zf.read("indexes/index.idx").decode().splitlines()
        assert zf.getinfo("indexes/index.cdx.gz").compress_type == zipfile.ZIP_STORED
    assert idx[0].startswith("!meta 0 ") and json.loads(idx[0].split(" ", 2)[2])["format"] == "cdxj-gzip-1.0"
    blocks = idx[1:]
    assert len(blocks) == -(-summary.index_lines // 40)
    end = 0
    for line in blocks:
        key, meta = line.split(" {", 1)
        meta = json.loads("{" + meta)
        block = data[meta["offset"]:meta["offset"] + meta["length"]]
        assert meta["offset"] == end and meta["digest"] == "sha256:" + hashlib.sha256(block).hexdigest()
        first = gzip.decompress(block).decode().splitlines()[0]
        assert first.split(" {", 1)[0] == key  # one block per lookup
        end += meta["length"]
    assert end == len(data)


def test_pywb_serves_every_demo_article_from_the_wacz(demo_crawl, demo_wacz):
    rows = read_jsonl(demo_crawl)
    records = {(r.uri, r.get("WARC-Date")): r for r in (rec for w in sorted((demo_crawl / "warc").glob("*.warc.gz"))
                                              for rec in read_records(w)) if r.type == "response"}
    with zipfile.ZipFile(demo_wacz) as zf:
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()[1:]]
    before = set(Path(tempfile.gettempdir()).glob("newswarc-browse-*"))
    with Browse(demo_wacz) as browse:
        listing = browse.get(browse.list_url)
        assert listing.status == 200
        for row in rows:
            page = next(p for p in pages if p["url"] == row["url"])
            original = records[(page["url"], page["ts"])]
            got = browse.get(f"/newswarc/{_ts(page['ts'])}id_/{page['url']}")
            assert got.status == original.status == 200
            assert got.header("Content-Type") == original.header("Content-Type")[0]
            assert got.body == decoded_body(original)
            assert html.escape(row["title"]) in listing.body.decode()
    assert browse.returncode == 0, browse.stderr[-2000:]
    assert set(Path(tempfile.gettempdir()).glob("newswarc-browse-*")) == before  # its collection is removed


def test_browse_on_the_demo_output_lists_and_replays_each_article(demo_crawl):
    rows = read_jsonl(demo_crawl)
    with Browse(demo_crawl) as browse:
        listing = browse.get(browse.list_url)
        assert listing.status == 200 and "text/html" in listing.header("Content-Type")
        text = listing.body.decode()
        links = re.findall(r'<tr><td>([^<]*)</td><td>([^<]*)</td><td><a href="([^"]+)">([^<]*)</a>', text)
        articles = [link for link in links if link[0] == "demo"]
        assert len(articles) == len(rows)
        for site, date, href, title in articles:
            row = next(r for r in rows if html.escape(r["title"]) == title)
            assert site == row["site"] and date == row["published"][:10]
            assert href.endswith("/" + row["url"])
            got = browse.get(html.unescape(href))  # pywb's replay page with its banner ...
            assert got.status == 200 and b"replay_iframe" in got.body, (href, got.status)
            coll, ts, url = html.unescape(href).split("/", 3)[1:]
            framed = browse.get(f"/{coll}/{ts}mp_/{url}")  # ... and the archived page in its frame
            assert framed.status == 200 and html.escape(row["title"]).encode() in framed.body, href
    assert browse.returncode == 0, browse.stderr[-2000:]


def test_two_runs_of_revisits_replay_with_the_first_runs_bodies(tmp_path, fresh_demo_server):
    server = fresh_demo_server(n_articles=40)
    seed, out = write_seed(tmp_path, server.url, recheck_hours=24 * 365 * 10), tmp_path / "out"
    for _ in range(2):
        proc = newswarc("crawl", str(seed), "--out", str(out), "-q", *FAST, "-s", "NEWSWARC_ARCHIVE_WACZ=True")
        assert proc.returncode == 0, proc.stderr[-3000:]
    first, second = run_reports(out)[-2:]
    packages = sorted((out / "wacz").glob("*.wacz"))
    assert [p.name for p in packages] == sorted([Path(first["wacz"]["key"]).name, Path(second["wacz"]["key"]).name])
    assert second["wacz"]["requires"] == [Path(first["wacz"]["key"]).name] and second["wacz"]["unresolved_revisits"] == 0
    collection = json.loads((out / "wacz" / "collection.json").read_text())
    assert collection["profile"] == "multi-wacz-package" and len(collection["resources"]) == 2
    run2 = out / "wacz" / Path(second["wacz"]["key"]).name
    for package in packages:
        assert wacz_validate(package).returncode == 0
        check_wacz(package)
    # the second run's article captures are revisits that keep the pointers to the first run's
    with zipfile.ZipFile(run2) as zf:
        revisits = [r for name in zf.namelist() if name.startswith("archive/")
                    for r in _records_of(zf.read(name), tmp_path) if r.type == "revisit"]
    first_records = {(r.uri, r.get("WARC-Date")): r for p in packages if p != run2
                     for r in _package_records(p, tmp_path) if r.type == "response"}
    originals = []
    for rev in revisits:
        target = (rev.get("WARC-Refers-To-Target-URI"), rev.get("WARC-Refers-To-Date"))
        assert target in first_records, target
        originals.append((rev, first_records[target]))
    article_paths = {a.path for a in server.site.articles if not a.private}
    checked = [(r, o) for r, o in originals if urlsplit(r.uri).path in article_paths]
    assert len(checked) >= 10
    for whole in (False, True):  # the second run's package alone (requires), then one package of the archive
        if whole:
            target = tmp_path / "all.wacz"
            assert newswarc("wacz", str(out), "-o", str(target)).returncode == 0
            assert json.loads(zipfile.ZipFile(target).read("datapackage.json")).get("requires") is None
        with Browse(target if whole else run2) as browse:
            for rev, orig in checked:
                got = browse.get(f"/newswarc/{_ts(rev.get('WARC-Date'))}id_/{rev.uri}")
                assert got.status == 200 and got.body == decoded_body(orig), rev.uri
        assert browse.returncode == 0


def _records_of(data: bytes, tmp: Path):
    path = tmp / "member.warc.gz"
    path.write_bytes(data)
    return read_records(path)


def _package_records(package: Path, tmp: Path):
    with zipfile.ZipFile(package) as zf:
        return [r for name in zf.namelist() if name.startswith("archive/") for r in _records_of(zf.read(name), tmp)]


def test_filters_select_capture_groups_and_keep_the_package_valid(demo_crawl, tmp_path):
    warcs = sorted((demo_crawl / "warc").glob("*.warc.gz"))
    dates = sorted(r.get("WARC-Date") for w in warcs for r in read_records(w) if r.type == "response")
    middle = dates[len(dates) // 2]
    out = tmp_path / "half.wacz"
    proc = newswarc("wacz", str(demo_crawl), "-o", str(out), "--site", "demo", "--since", middle)
    assert proc.returncode == 0, proc.stderr
    assert wacz_validate(out).returncode == 0
    info = check_wacz(out)
    kept = [line for line in info["index"]]
    assert 0 < len(kept) < len(dates)
    with zipfile.ZipFile(out) as zf:
        records = [r for n in zf.namelist() if n.startswith("archive/") for r in _records_of(zf.read(n), tmp_path)]
    assert records[0].type == "warcinfo"
    responses = {r.id for r in records if r.type in ("response", "revisit")}
    for r in records:  # every request and metadata record comes with its response
        if r.type in ("request", "metadata"):
            assert r.get("WARC-Concurrent-To") in responses
    for r in records:
        if r.type == "response" and r.get("WARC-Date") < middle:  # older captures only as originals of revisits
            assert any(x.type == "revisit" and x.get("WARC-Refers-To-Target-URI") == r.uri for x in records)
    assert newswarc("wacz", str(demo_crawl), "-o", str(tmp_path / "x.wacz"), "--site", "nosuchsite").returncode == 1
    assert newswarc("wacz", str(demo_crawl), "-o", str(tmp_path / "x.wacz"), "--until", "2001-01-01").returncode == 1
    assert not (tmp_path / "x.wacz").exists()


def test_bad_arguments_are_one_line_errors(tmp_path, demo_crawl):
    for args, code in ((["wacz", str(tmp_path / "missing"), "-o", str(tmp_path / "a.wacz")], 2),
                       (["wacz", str(demo_crawl), "-o", str(tmp_path / "a.zip")], 2),
                       (["wacz", str(demo_crawl), "-o", str(tmp_path / "a.wacz"), "--since", "yesterday"], 2),
                       (["browse", str(tmp_path / "missing.wacz")], 1)):
        proc = newswarc(*args)
        assert proc.returncode == code, (args, proc.returncode, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not list(tmp_path.glob("*.wacz")) and not list(tmp_path.glob(".*.tmp"))


def test_replay_reads_the_package(demo_crawl, demo_wacz):
    proc = newswarc("replay", str(demo_wacz), "--jsonl", "-", "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    replayed = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(r["url"] for r in replayed) == sorted(r["url"] for r in read_jsonl(demo_crawl))
    texts = {r["url"]: r["text"] for r in read_jsonl(demo_crawl)}
    assert all(r["text"] == texts[r["url"]] for r in replayed)


def test_demo_prints_the_browse_command(tmp_path):
    out = tmp_path / "demo"
    proc = newswarc("demo", "--out", str(out), "--articles", "20", *FAST)  # not -q: it silences the summary
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == f"Look at it: newswarc browse {out}"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.chromium
def test_screenshot_of_an_archived_article_in_headless_chromium(demo_crawl, demo_wacz, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (make test installs Debian's chromium)")
    row = sorted(read_jsonl(demo_crawl), key=lambda r: r["url"])[0]
    shot = Path(os.environ.get("NEWSWARC_SCREENSHOT_DIR", tmp_path)) / "archived-article.png"
    with zipfile.ZipFile(demo_wacz) as zf:
        page = next(json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()[1:]
                    if json.loads(line)["url"] == row["url"])
    with Browse(demo_wacz) as browse:
        url = f"{browse.base}/newswarc/{_ts(page['ts'])}mp_/{page['url']}"
        proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync", "--no-first-run",
                               f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,900",
                               f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000  # a rendered page, not a blank one


def test_per_run_package_goes_to_s3_through_the_storage(tmp_path, s3_env, s3_bucket, fresh_demo_server):
    from tests.s3_server import ACCESS_KEY, SECRET_KEY, s3_client

    server = fresh_demo_server(n_articles=20)
    seed = write_seed(tmp_path, server.url)
    proc = newswarc("crawl", str(seed), "--out", f"s3://{s3_bucket}/news", "-s", f"NEWSWARC_SPOOL_DIR={tmp_path / 'spool'}",
                    "-q", *FAST, "-s", "NEWSWARC_ARCHIVE_WACZ=True", "-s", "NEWSWARC_ARCHIVE_WACZ_TEXT=True")
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = s3_client(s3_env, ACCESS_KEY, SECRET_KEY)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix="news/")["Contents"]]
    (wacz_key,) = [k for k in keys if k.startswith("news/wacz/") and k.endswith(".wacz")]
    report = json.loads(client.get_object(Bucket=s3_bucket, Key=next(k for k in keys if k.startswith("news/runs/")))
                        ["Body"].read())
    assert "news/" + report["wacz"]["key"] == wacz_key and report["wacz"]["pages"] == report["counts"]["articles"] + 1
    local = tmp_path / "run.wacz"
    client.download_file(s3_bucket, wacz_key, str(local))
    assert wacz_validate(local).returncode == 0
    info = check_wacz(local)
    assert all(p.get("text") for p in info["pages"] if p.get("route") != "start")
    assert not list((tmp_path / "spool").rglob("*.wacz"))  # uploaded, not left in the spool


def test_a_damaged_package_in_the_output_still_gives_the_run_its_package_and_report(tmp_path, fresh_demo_server):
    """collection.json lists every package of wacz/: a junk one is one ERROR line, not a lost run report."""
    server = fresh_demo_server(n_articles=20)
    seed, out = write_seed(tmp_path, server.url), tmp_path / "out"
    (out / "wacz").mkdir(parents=True)
    (out / "wacz" / "20200101T000000Z-old-1-demo.wacz").write_bytes(b"not a zip")
    proc = newswarc("crawl", str(seed), "--out", str(out), *FAST, "-s", "NEWSWARC_ARCHIVE_WACZ=True")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if "collection.json" in line], proc.stderr[-3000:]
    (report,) = run_reports(out)
    assert report["status"] == "completed" and report["wacz"]["pages"] == report["counts"]["articles"] + 1
    assert wacz_validate(out / report["wacz"]["key"]).returncode == 0
