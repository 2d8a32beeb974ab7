"""A SIGKILLed crawl leaves files behind: hidden temporaries of atomic writes, and (S3) finished files
its upload threads had not sent. The next run that takes the output's lock removes the temporaries no
live process writes, uploads what the killed run had finished, and ends like any other run: exit 0,
every article once, nothing left over."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from crawler.demo.server import DemoServer
from crawler.demo.site import build_site
from crawler.storage.base import ELSEWHERE_STALE_SECONDS, atomic_write, remove_stale_temporaries, temp_path
from crawler.storage.spool import spooled_keys
from tests.crawl_helpers import FAST, count_jsonl_lines, newswarc, read_jsonl, start_newswarc, write_seed
from tests.reliability.hostile import no_traceback
from tests.s3_server import TcpProxy, s3_client

SLOW = ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "DOWNLOAD_DELAY=0.05"]
HOST = temp_path(Path("x")).name.split(".")[2].split("-")[0]  # this machine, as temporary names spell it


def kill_mid_run(args: list[str], watch: Path, env: dict | None = None, before_kill=None) -> int:
    """Start ``newswarc ARGS``, SIGKILL it once ``watch`` holds 20 JSONL lines; returns its pid."""
    proc = start_newswarc(*args, env=env, stdout=None, stderr=None)
    try:
        deadline = time.monotonic() + 120
        while count_jsonl_lines(watch) < 20:
            assert proc.poll() is None and time.monotonic() < deadline, "the crawl ended before the kill"
            time.sleep(0.05)
        if before_kill is not None:
            before_kill()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.pid


def assert_every_article_once(out: Path, site) -> None:
    counts = Counter(urlsplit(r["url"]).path for r in read_jsonl(out))
    assert set(counts) == {a.path for a in site.articles if not a.private}
    assert set(counts.values()) == {1}


def plant(path: Path, age: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half a file")
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_rerun_after_sigkill_removes_dead_writers_temporaries_and_keeps_live_ones(tmp_path):
    site = build_site(60)
    out = tmp_path / "out"
    with DemoServer(site) as server:
        seed = write_seed(tmp_path, server.url)
        dead = kill_mid_run(["crawl", str(seed), "--out", str(out), *FAST, *SLOW], out)
        report = next((out / "runs").glob("*"), out / "runs" / "r.json")
        text = next((out / "text").rglob("*.txt"))
        stale = [plant(report.with_name(f".{report.name}.{HOST}-{dead}-139871.tmp")),  # the killed run's
                 plant(text.with_name(f".{text.name}.{HOST}-{dead}-7.tmp")),
                 plant(text.with_name(f".{text.name}.{dead}.139871.tmp")),  # older name forms, this machine
                 plant(out / "wacz" / f".x.wacz.{dead}.tmp"),
                 plant(out / "articles" / f".y.jsonl.otherhost-{dead}-1.tmp", age=ELSEWHERE_STALE_SECONDS + 60)]
        live = [plant(text.with_name(f".{text.name}.{HOST}-{os.getpid()}-1.tmp")),  # a live worker of this machine
                plant(out / "articles" / ".y.jsonl.otherhost-1-1.tmp")]  # one of another machine, just written
        # the kill may also have caught the run writing a file of its own: that one goes too
        own = [p for p in out.rglob("*.tmp") if p not in stale + live and f"-{dead}-" in p.name]
        log = tmp_path / "rerun.log"
        rerun = newswarc("crawl", str(seed), "--out", str(out), *FAST, "--log-file", str(log))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert no_traceback(rerun.stderr + log.read_text())
    assert log.read_text().count(f"removed {5 + len(own)} temporary files left by killed runs") == 1
    assert not any(p.exists() for p in stale)
    assert sorted(out.rglob("*.tmp")) == sorted(live)  # nothing else: the rerun's own writes are renamed
    assert not list(out.rglob("*.open"))
    assert_every_article_once(out, site)


def test_temporaries_of_this_process_pid_are_an_earlier_process_s(tmp_path):
    """The lock holder has written nothing yet: a temporary with its own pid is a dead process's (pid reuse);
    names that are not ours (``mkstemp``'s, a user's) are left alone."""
    ours = plant(temp_path(tmp_path / "a" / "x.json"))
    foreign = [plant(tmp_path / ".index.cdxj.k3j_x9.tmp"), plant(tmp_path / "notes.tmp")]
    atomic_write(tmp_path / "a" / "y.json", b"{}")
    assert remove_stale_temporaries(tmp_path) == 1
    assert not ours.exists() and all(p.exists() for p in foreign)
    assert (tmp_path / "a" / "y.json").read_bytes() == b"{}"


def test_rerun_after_sigkill_to_s3_uploads_what_the_killed_run_left_and_exits_0(tmp_path, s3_bucket):
    """The killed run's finished files (text, rotated WARCs) wait in the spool: S3 went away just before
    the kill, so its uploads could not finish. The rerun, S3 healthy, uploads them and exits 0."""
    site = build_site(80)
    spool = tmp_path / "spool"
    proxy = TcpProxy(int(os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])).up()
    env = {"AWS_ENDPOINT_URL": proxy.url}  # the spool belongs to this endpoint: both runs go through it
    args = ["--out", f"s3://{s3_bucket}/news", "-s", f"NEWSWARC_SPOOL_DIR={spool}", *FAST, *SLOW,
            "-s", "NEWSWARC_ARCHIVE_MAX_SIZE=100000", "-s", "NEWSWARC_S3_MAX_ATTEMPTS=1",
            "-s", "NEWSWARC_S3_UPLOAD_ATTEMPTS=1"]

    def s3_goes_away() -> None:
        proxy.down()
        end = count_jsonl_lines(spool) + 5  # some articles (text files) finished while S3 is away
        deadline = time.monotonic() + 30
        while count_jsonl_lines(spool) < end and time.monotonic() < deadline:
            time.sleep(0.05)

    try:
        with DemoServer(site) as server:
            seed = write_seed(tmp_path, server.url)
            kill_mid_run(["crawl", str(seed), *args], spool, env=env, before_kill=s3_goes_away)
            left = list(spooled_keys(spool))
            proxy.up()
            rerun = newswarc("crawl", str(seed), *args, "-v", env=env)
    finally:
        proxy.down()
    assert any(k.startswith("text/") for k in left), left  # finished files the killed run did not upload
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert no_traceback(rerun.stderr) and "wait in the local spool" not in rerun.stderr
    assert f"uploaded {len(left):,} files an earlier run left in the spool" in rerun.stderr
    assert list(spooled_keys(spool)) == []
    assert not [p for p in spool.rglob("*") if p.name.endswith((".tmp", ".open"))]
    client = s3_client(os.environ["AWS_ENDPOINT_URL"])
    mirror = tmp_path / "mirror"
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3_bucket, Prefix="news/"):
        for obj in page.get("Contents", ()):
            (mirror / obj["Key"]).parent.mkdir(parents=True, exist_ok=True)
            client.download_file(s3_bucket, obj["Key"], str(mirror / obj["Key"]))
    assert set(left) <= {p.relative_to(mirror / "news").as_posix() for p in mirror.rglob("*") if p.is_file()}
    assert_every_article_once(mirror / "news", site)
    assert {r["text_path"] for r in read_jsonl(mirror / "news")} <= {
        p.relative_to(mirror / "news").as_posix() for p in (mirror / "news" / "text").rglob("*")}
