"""End to end: a crawl to ``s3://bucket/prefix`` (moto server over HTTP) behaves like a crawl to disk.

Real crawls of the demo site run ``newswarc`` in a subprocess; S3 is a moto server on loopback,
sometimes behind a :class:`~tests.s3_server.TcpProxy` that goes down mid-crawl. Objects are
read back with a plain boto3 client into a local mirror and compared with a disk crawl.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import logging
import re
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from crawler.cli import crawl as cli
from crawler.demo.server import DemoServer
from crawler.demo.site import build_site
from crawler.output.writer import OutputWriter, jsonl_row, render_text
from crawler.storage.s3.storage import S3Storage
from crawler.storage.spool import spooled_keys
from tests.crawl_helpers import FAST, newswarc, read_jsonl, run_reports, start_newswarc, write_seed
from tests.s3_server import TcpProxy, aws_env, new_bucket, s3_client
from tests.warc_checks import check_warc, read_at, read_records

ACCESS_KEY = "AKIANEWSWARCE2E00042"
SECRET_KEY = "e2e-S3cret-never-in-any-output-5e1f"
MiB = 1024 * 1024
PREFIX = "news/run"
N_ARTICLES = 60
# Expected exit code of a crawl that completed with files left in the spool: see docs/storage.md.
EXIT_SPOOLED = getattr(cli, "EXIT_SPOOLED", cli.EXIT_OK)
SIGNED = re.compile(r"X-Amz-Signature|X-Amz-Credential|Signature=|Credential=|Signature:\s*[0-9a-f]{64}", re.I)
WARC_NAME = re.compile(r"^warc/newswarc-\d{17}-\d{5}-[A-Za-z0-9._]+-\d+\.warc\.gz$")


# --- helpers -------------------------------------------------------------------------------

def mirror(endpoint: str, bucket: str, prefix: str, dest: Path) -> list[str]:
    """Download every object under ``prefix`` to ``dest`` (relative keys); returns the keys."""
    client = s3_client(endpoint, ACCESS_KEY, SECRET_KEY)
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", ()):
            rel = obj["Key"][len(prefix) + 1:]
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, obj["Key"], str(dest / rel))
            keys.append(rel)
    return sorted(keys)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def files(root: Path, under: str = "") -> list[str]:
    base = root / under if under else root
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file())


def spool_leftovers(spool: Path) -> list[str]:
    """Files in the spool other than its marker, its output lock and the local crawl state."""
    return [k for k in files(spool) if k not in (".newswarc-spool", ".newswarc-output.lock")
            and not k.startswith("state/")]


def responses(paths: list[Path]) -> Counter:
    """Target URIs of response records over all files (a Counter: duplicates show)."""
    return Counter(r.uri for p in paths for r in read_records(p) if r.type == "response")


def stable(row: dict) -> dict:
    """What a JSONL row says about the article: not the fetch (time, WARC pointer, discovery route)."""
    from crawler.extract.api import Article

    keep = {f.name for f in dataclasses.fields(Article)} | {"id", "site", "text_path"}
    return {k: v for k, v in row.items() if k in keep}


def all_text(paths: list[Path]) -> str:
    """Everything a user could read: plain files, and WARC files decompressed."""
    out = []
    for p in paths:
        data = p.read_bytes()
        if p.name.endswith(".gz"):
            data = gzip.decompress(data)  # every member: warcinfo, requests, responses, metadata
        out.append(data.decode("utf-8", "replace"))
    return "\n".join(out)


def assert_no_secrets(text: str, where: str) -> None:
    assert SECRET_KEY not in text, f"secret key in {where}"
    assert ACCESS_KEY not in text, f"access key id in {where}"
    assert not SIGNED.search(text), f"signature in {where}: {SIGNED.search(text).group(0)}"


def s3_args(bucket: str, spool: Path, *extra: str) -> list[str]:
    return ["--out", f"s3://{bucket}/{PREFIX}", "-s", f"NEWSWARC_SPOOL_DIR={spool}", *FAST, *extra]


# --- one crawl to S3 and the same crawl to disk --------------------------------------------

@pytest.fixture(scope="module")
def site():
    return build_site(N_ARTICLES)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, s3_server, site):
    """The demo site crawled to S3 (DEBUG log file) and to disk; the bucket mirrored locally."""
    tmp = tmp_path_factory.mktemp("s3crawl")
    with DemoServer(site) as server, pytest.MonkeyPatch.context() as mp:
        aws_env(mp, s3_server, ACCESS_KEY, SECRET_KEY)
        bucket = new_bucket(s3_server)
        seed = write_seed(tmp, server.url)
        log = tmp / "s3.log"
        s3 = newswarc("crawl", str(seed), *s3_args(bucket, tmp / "spool"), "--log-file", str(log), "-vv")
        disk = newswarc("crawl", str(seed), "--out", str(tmp / "disk"), *FAST)
        keys = mirror(s3_server, bucket, PREFIX, tmp / "s3")
    return {"tmp": tmp, "s3": s3, "disk": disk, "keys": keys, "log": log, "bucket": bucket,
            "mirror": tmp / "s3", "disk_dir": tmp / "disk", "spool": tmp / "spool"}


def test_both_crawls_complete(crawled):
    for name in ("s3", "disk"):
        result = crawled[name]
        assert result.returncode == 0, f"{name}: {result.stderr[-3000:]}"
        assert "Traceback" not in result.stderr
    assert f"-> s3://{crawled['bucket']}/{PREFIX}" in crawled["s3"].stderr


def test_same_objects_as_disk(crawled):
    s3, disk = crawled["mirror"], crawled["disk_dir"]
    assert files(s3, "text") == files(disk, "text") and len(files(s3, "text")) >= N_ARTICLES * 0.8
    for key in files(disk, "text"):
        assert (s3 / key).read_bytes() == (disk / key).read_bytes(), key
    for area, pattern in (("warc", WARC_NAME), ("articles", re.compile(r"^articles/demo/\d{8}T\d{6}Z-[^/]+\.jsonl$")),
                          ("runs", re.compile(r"^runs/\d{8}T\d{6}Z-[^/]+-demo\.json$"))):
        got, want = files(s3, area), files(disk, area)
        assert len(got) == len(want) == 1, (got, want)
        assert all(pattern.match(k) for k in got + want), (got, want)
    # the same areas (state/ is working data: backed up or not, it is not compared)
    areas = {k.split("/", 1)[0] for k in crawled["keys"]} - {"state"}
    # (.newswarc-output.lock: the lock of the output while a command writes it, never uploaded)
    assert areas == {p.name for p in disk.iterdir() if p.name != ".newswarc-output.lock"} - {"state"} \
        == {"warc", "text", "articles", "runs"}
    # nothing else in the bucket: no check markers, nothing unfinished
    assert not [k for k in crawled["keys"] if k.endswith((".open", ".tmp")) or "/." in f"/{k}"]


def test_same_articles_as_disk(crawled):
    rows, disk_rows = read_jsonl(crawled["mirror"]), read_jsonl(crawled["disk_dir"])
    assert len(rows) == len({r["id"] for r in rows})
    assert {r["id"] for r in rows} == {r["id"] for r in disk_rows}
    assert {r["text_sha256"] for r in rows} == {r["text_sha256"] for r in disk_rows}
    by_id = {r["id"]: stable(r) for r in disk_rows}
    assert all(stable(r) == by_id[r["id"]] for r in rows)
    assert {r["text_path"] for r in rows} == set(files(crawled["mirror"], "text"))


def test_warcs_read_back_from_s3_pass_checks(crawled):
    s3, disk = crawled["mirror"], crawled["disk_dir"]
    warcs = [s3 / k for k in files(s3, "warc")]
    for path in warcs:
        check_warc(path)
    assert responses(warcs) == responses([disk / k for k in files(disk, "warc")])
    # every JSONL pointer resolves in the object read back from S3
    for row in read_jsonl(s3):
        rec = read_at(s3 / row["warc_file"], row["warc_offset"], row["warc_length"])
        assert rec.type == "response" and rec.id == row["warc_record_id"]


def test_run_report_in_runs(crawled):
    (report,) = run_reports(crawled["mirror"])
    (disk_report,) = run_reports(crawled["disk_dir"])
    assert report["status"] == "completed" and report["output"] == f"s3://{crawled['bucket']}/{PREFIX}"
    for key in ("articles", "pages", "errors", "warc_files", "warc_records"):
        assert report["counts"][key] == disk_report["counts"][key], key
    assert report["storage"]["failed"] == 0
    assert report["counts"]["articles"] == len(read_jsonl(crawled["mirror"]))


def test_nothing_left_in_spool(crawled):
    spool = crawled["spool"]
    assert list(spooled_keys(spool)) == []
    assert spool_leftovers(spool) == []


def test_no_credentials_or_signatures_in_any_output(crawled):
    log = crawled["log"].read_text(encoding="utf-8")
    assert "uploaded s3://" in log and "DEBUG" in log  # the log is the detailed one
    for name in ("s3", "disk"):
        assert_no_secrets(crawled[name].stdout + crawled[name].stderr, f"{name} crawl output")
    assert_no_secrets(log, "the log file")
    assert_no_secrets(all_text([crawled["mirror"] / k for k in crawled["keys"]]), "the objects in S3")
    warcinfo = read_records(crawled["mirror"] / files(crawled["mirror"], "warc")[0])[0]
    assert warcinfo.type == "warcinfo" and b"newswarc/" in warcinfo.body


# --- multipart upload of a big WARC --------------------------------------------------------

def test_big_warc_goes_up_in_parts_and_reads_back_identical(tmp_path, s3_env, s3_bucket, site):
    """A WARC over the multipart threshold (the 5 MiB ``/_edge/big`` page, stored uncompressed)."""
    profile = tmp_path / "big-warc.toml"  # bodies as sent, stored as they are: no compression at all
    profile.write_text('[archive]\ngzip_level = 0\n\n[scrapy]\n'
                       'DEFAULT_REQUEST_HEADERS = {Accept = "text/html", Accept-Encoding = "identity"}\n')
    with DemoServer(site) as server:
        seed = tmp_path / "big.toml"
        seed.write_text(f'name = "big"\nstart_urls = ["{server.url}/_edge/big", "{server.url}/"]\n'
                        'article_url_patterns = ["/20[0-9][0-9]/[0-9][0-9]/"]\nmax_depth = 1\n')
        result = newswarc("crawl", str(seed), "--settings", str(profile), *s3_args(s3_bucket, tmp_path / "spool"),
                          "-s", f"NEWSWARC_S3_MULTIPART_THRESHOLD={5 * MiB}",
                          "-s", f"NEWSWARC_S3_MULTIPART_CHUNKSIZE={5 * MiB}")
        big = _fetch(server.url + "/_edge/big")
    assert result.returncode == 0, result.stderr[-3000:]
    client = s3_client(s3_env, ACCESS_KEY, SECRET_KEY)
    (key,) = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix=f"{PREFIX}/warc/")["Contents"]]
    head = client.head_object(Bucket=s3_bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ContentLength"] > len(big) > 5 * MiB
    parts = int(head["ETag"].strip('"').rsplit("-", 1)[1])  # a multipart ETag ends in -N
    assert parts == -(-head["ContentLength"] // (5 * MiB)) >= 2
    local = tmp_path / key.rsplit("/", 1)[1]
    client.download_file(s3_bucket, key, str(local))
    # the checksum S3 computed from the parts it received == the one of the parts read back
    digests = []
    with open(local, "rb") as fh:
        while block := fh.read(5 * MiB):
            digests.append(hashlib.sha256(block).digest())
    if head.get("ChecksumSHA256"):
        assert head["ChecksumSHA256"].split("-")[0] == base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode()
    check_warc(local)
    (record,) = [r for r in read_records(local) if r.type == "response" and r.uri.endswith("/_edge/big")]
    assert record.body == big  # 5 MiB of payload, byte for byte
    assert list(spooled_keys(tmp_path / "spool")) == []


def _fetch(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": "identity"})) as resp:
        return resp.read()


# --- S3 goes away mid-crawl ----------------------------------------------------------------

def test_outage_mid_crawl_spools_then_sync_uploads_everything(tmp_path, s3_env, s3_bucket, site):
    proxy = TcpProxy(int(s3_env.rsplit(":", 1)[1])).up()
    watcher = s3_client(s3_env, ACCESS_KEY, SECRET_KEY)  # straight to moto, not through the proxy
    spool = tmp_path / "spool"
    options = [*s3_args(s3_bucket, spool), "-s", "NEWSWARC_ARCHIVE_MAX_SIZE=100000",
               "-s", "NEWSWARC_S3_MAX_ATTEMPTS=2", "-s", "NEWSWARC_S3_UPLOAD_ATTEMPTS=2",
               "-s", "NEWSWARC_S3_RETRY_BACKOFF=0.05", "-s", "DOWNLOAD_DELAY=0.01"]
    try:
        with DemoServer(site) as server:
            seed = write_seed(tmp_path, server.url)
            with open(tmp_path / "stderr", "w") as err:
                proc = start_newswarc("crawl", str(seed), *options, env={"AWS_ENDPOINT_URL": proxy.url}, stderr=err)
                try:
                    deadline = time.monotonic() + 60
                    while not watcher.list_objects_v2(Bucket=s3_bucket, Prefix=f"{PREFIX}/warc/").get("KeyCount"):
                        assert proc.poll() is None and time.monotonic() < deadline, "no WARC was uploaded"
                        time.sleep(0.02)
                    proxy.down()  # after the first WARC rollover; down until the crawl has ended
                    fetched_when_down = len(server.log)
                    code = proc.wait(120)
                finally:
                    if proc.poll() is None:
                        proc.kill()
            fetched = len(server.log)
        stderr = (tmp_path / "stderr").read_text()
        assert code == EXIT_SPOOLED, stderr[-3000:]
        assert "Traceback" not in stderr and "newswarc sync" in stderr
        assert fetched_when_down < fetched * 0.9  # most of the crawl happened during the outage
        spooled = {k: sha256(spool / k) for k in spooled_keys(spool)}
        uploaded = [k for k in mirror(s3_env, s3_bucket, PREFIX, tmp_path / "before")
                    if not k.startswith("state/locks/")]  # the crawl's output lease: not output
        for area in ("warc/", "text/", "articles/", "runs/"):
            assert any(k.startswith(area) for k in spooled), f"nothing spooled under {area}"
        # (an upload whose answer was lost in the outage is kept too: sync puts the same bytes again)

        proxy.up()
        sync = newswarc("sync", *s3_args(s3_bucket, spool), env={"AWS_ENDPOINT_URL": proxy.url})
        assert sync.returncode == 0, sync.stderr
        assert f"{len(spooled)} files uploaded" in sync.stderr
    finally:
        proxy.down()
    assert spool_leftovers(spool) == [] and list(spooled_keys(spool)) == []
    out = tmp_path / "after"
    # the crawl ended with S3 down: its output lease (state/locks/) stays until it expires
    keys = [k for k in mirror(s3_env, s3_bucket, PREFIX, out) if not k.startswith("state/locks/")]
    assert keys == sorted(set(spooled) | set(uploaded))  # nothing missing, nothing extra
    for key in uploaded:
        assert (out / key).read_bytes() == (tmp_path / "before" / key).read_bytes(), key
    (report,) = run_reports(out)
    assert report["status"] == "completed" and report["storage"]["failed"] > 0
    rows = read_jsonl(out)
    assert len(rows) == len({r["id"] for r in rows}) == report["counts"]["articles"] >= N_ARTICLES * 0.8
    assert {r["text_path"] for r in rows} == set(files(out, "text"))
    warcs = files(out, "warc")
    assert len(warcs) == report["counts"]["warc_files"] >= 3
    assert all(sha256(out / k) == digest for k, digest in spooled.items())  # byte for byte
    check_warc(out / min(k for k in spooled if k.startswith("warc/")))  # one written during the outage
    got = responses([out / k for k in warcs])
    assert max(got.values()) == 1 and sum(got.values()) == report["counts"]["warc_records"]["response"]
    assert {r["url"] for r in rows} <= set(got)
    for row in rows:
        assert read_at(out / row["warc_file"], row["warc_offset"], row["warc_length"]).id == row["warc_record_id"]
    assert_no_secrets(stderr + sync.stderr, "outage run output")


# --- unusable destinations -----------------------------------------------------------------



@pytest.mark.parametrize("problem", ["wrong_secret", "missing_bucket"])
def test_unusable_destination_is_one_line_exit_3_before_any_fetch(tmp_path, auth_server, problem, site,
                                                                  monkeypatch):
    url, access_key, secret = auth_server
    if problem == "wrong_secret":  # the user exists; this secret is not theirs
        secret, bucket = SECRET_KEY, "authed"
    else:
        bucket = "no-such-bucket"
    aws_env(monkeypatch, url, access_key, secret)
    with DemoServer(site) as server:
        seed = write_seed(tmp_path, server.url)
        result = newswarc("crawl", str(seed), *s3_args(bucket, tmp_path / "spool"))
        fetched = list(server.log)
    expected = {"wrong_secret": "access denied (check credentials)", "missing_bucket": "bucket does not exist"}
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip() == f"newswarc: s3://{bucket}/{PREFIX}: {expected[problem]}"
    assert fetched == []
    assert not [k for k in files(tmp_path / "spool") if k != ".newswarc-spool"]
    assert secret not in result.stderr + result.stdout and not SIGNED.search(result.stderr)


# --- pieces the crawl relies on ------------------------------------------------------------

def test_sync_skips_jsonl_part_being_written_and_local_state(tmp_path, s3_bucket):
    """A JSONL part is built as ``KEY.open``: a ``sync`` meanwhile uploads finished files only."""
    from crawler.extract.api import Article

    storage = S3Storage(s3_bucket, PREFIX, spool_dir=tmp_path / "spool", upload_attempts=1, max_attempts=1)
    state = storage.local_path("state/crawl-state.sqlite")
    state.write_bytes(b"SQLite format 3\x00")
    writer = OutputWriter(storage, run_id="run1")
    article = Article(url="https://n.example/a", canonical_url="https://n.example/a", title="T", text="Body.",
                      authors=[], published="2026-01-02", updated=None, language="en", site_name=None,
                      description=None, categories=[], tags=[], image=None, word_count=1, text_sha256="0" * 64)
    row = jsonl_row(article, site="n.example", fetched_at=datetime(2026, 1, 2), warc=None)
    writer.write(row, render_text(article))
    storage.wait()
    assert storage.sync() == 0  # neither the part being written nor the state store goes up
    assert list(storage.list()) == [row["text_path"]]
    assert (storage.work_dir / "articles/n.example/run1.jsonl.open").is_file()
    writer.close()
    storage.close()
    assert list(storage.list()) == ["articles/n.example/run1.jsonl", row["text_path"]]
    assert state.read_bytes() == b"SQLite format 3\x00"  # never uploaded, never deleted
    assert storage.spooled() == 0 and list(spooled_keys(storage.work_dir)) == []


def test_sdk_debug_logs_are_redacted(tmp_path, s3_bucket, caplog, monkeypatch):
    """Even with botocore's DEBUG logging switched on, no signature or session token is logged."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", "SeSsIoNtOkEn-e2e-never-logged")  # moto ignores it
    for name in ("botocore", "urllib3"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    storage = S3Storage(s3_bucket, PREFIX, spool_dir=tmp_path / "spool")
    storage.check()
    storage.write_bytes("text/x.txt", b"x")
    storage.close()
    assert storage.uploaded == 1
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "botocore.endpoint" in {r.name for r in caplog.records}  # botocore did log its requests
    assert "Authorization" in text and "SeSsIoNtOkEn" not in text
    assert not SIGNED.search(text.replace("Credential=***", "").replace("Signature=***", "")), \
        SIGNED.search(text).group(0)


def test_outage_pauses_uploads_instead_of_retrying_every_file(tmp_path, s3_env, s3_bucket):
    """While S3 is down each file would wait through its own retries; after one failed upload the rest
    are spooled at once, the crawl's end is not delayed, and uploads resume once the pause is over."""
    proxy = TcpProxy(int(s3_env.rsplit(":", 1)[1]))  # down
    storage = S3Storage(s3_bucket, PREFIX, spool_dir=tmp_path / "spool", endpoint_url=proxy.url, workers=2,
                        max_attempts=1, upload_attempts=3, retry_backoff=0.3, outage_pause=1.0)
    started = time.monotonic()
    for i in range(20):
        storage.write_bytes(f"text/t/{i:02d}.txt", b"%d" % i)  # 20 x 0.9 s of retries on 2 workers: 9 s
    storage.wait()
    assert time.monotonic() - started < 4
    assert (storage.uploaded, storage.failed, storage.spooled()) == (0, 20, 20)
    proxy.up()
    try:
        storage.write_bytes("text/t/during-pause.txt", b"p")
        storage.wait()
        assert storage.uploaded == 0  # still paused: not even tried
        time.sleep(1.0)
        storage.write_bytes("text/t/after-pause.txt", b"a")
        storage.wait()
        assert storage.uploaded == 1  # tried again once the pause is over
        assert storage.sync() == 21
        storage.close()
        assert storage.spooled() == 0 and len(list(storage.list("text/t"))) == 22
    finally:
        proxy.down()
