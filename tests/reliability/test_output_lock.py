"""One writer per output: a second crawl, sync or replay into a live run's output exits 1 with one line
naming the holder; the first run is untouched (nothing renamed, no duplicate), the next run goes on."""

from __future__ import annotations

import os
import time
from collections import Counter

from tests.crawl_helpers import read_jsonl, run_reports, start_newswarc, write_seed
from tests.reliability.hostile import (
    FAST,
    HostileServer,
    Reply,
    news_site,
    no_traceback,
    run_newswarc,
    slow_reply,
)


def test_a_second_run_into_a_live_output_exits_1_naming_the_holder(tmp_path):
    with HostileServer() as srv:
        good = news_site(srv, 10, extra_links=["/slow"])
        srv.routes["/slow"] = slow_reply(15)
        srv.routes["/robots.txt"] = Reply(headers=[("Content-Type", "text/plain")], body=b"User-agent: *\n")
        seed = write_seed(tmp_path, srv.url)
        out = tmp_path / "out"
        first = start_newswarc("crawl", str(seed), "--out", str(out), *FAST,
                               stderr=open(tmp_path / "first.err", "w"))  # noqa: SIM115 - a file, not a pipe that fills
        try:
            deadline = time.monotonic() + 60
            while "/slow" not in srv.hits:  # the first run is under way
                assert first.poll() is None and time.monotonic() < deadline, (tmp_path / "first.err").read_text()
                time.sleep(0.1)
            second = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)
            replay = run_newswarc("replay", str(out / "warc"), "--out", str(out), "--workers", "1")
            assert first.poll() is None  # both were refused while the first was still running
            code = first.wait(120)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        for run in (second, replay):
            assert run.returncode == 1, run.stderr
            lines = run.stderr.strip().splitlines()
            assert len(lines) == 1 and "is in use by another newswarc run" in lines[0], lines
            assert f"pid {first.pid}" in lines[0] and "crawl" in lines[0], lines
            assert no_traceback(run.stderr)
        assert code == 0, (tmp_path / "first.err").read_text()[-3000:]
        third = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)  # the lock is free again
        assert third.returncode == 0, third.stderr[-3000:]
    rows = read_jsonl(out, open_parts=True)
    assert sorted(Counter(r["url"] for r in rows)) == sorted(good) and len(rows) == len(good)
    reports = run_reports(out)
    assert [r["status"] for r in reports] == ["completed", "completed"]
    assert not list(out.rglob("*.open"))


def test_sync_waits_for_no_one_and_is_refused_while_a_crawl_holds_the_spool(tmp_path):
    from crawler.storage.lock import lock_output

    spool = tmp_path / "spool"
    held = lock_output(spool, "the spool", "crawl test")
    try:
        env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
        run = run_newswarc("sync", "--out", "s3://b/p", "-s", f"NEWSWARC_SPOOL_DIR={spool}", env=env)
    finally:
        held.release()
    assert run.returncode == 1, run.stderr
    assert "is in use by another newswarc run" in run.stderr and f"pid {os.getpid()}" in run.stderr
    # (sync also shows botocore's two INFO lines about where credentials and endpoint come from)
    ours = [line for line in run.stderr.splitlines() if not line.startswith("INFO botocore")]
    assert len(ours) == 1 and no_traceback(run.stderr), ours


def test_an_s3_destination_is_leased_across_machines(tmp_path, s3_env, s3_bucket):
    import json

    from crawler.storage.s3.lease import LEASE_KEY, S3Lease
    from crawler.storage.s3.storage import S3Storage
    from tests.s3_server import s3_client

    other_machine = S3Storage.from_uri(f"s3://{s3_bucket}/p", {"NEWSWARC_SPOOL_DIR": str(tmp_path / "other")})
    lease = S3Lease(other_machine, holder="crawl elsewhere since then")
    lease.acquire()
    with HostileServer() as srv:
        good = news_site(srv, 3)
        srv.routes["/robots.txt"] = Reply(headers=[("Content-Type", "text/plain")], body=b"User-agent: *\n")
        seed = write_seed(tmp_path, srv.url)
        args = ["crawl", str(seed), "--out", f"s3://{s3_bucket}/p", "-s", f"NEWSWARC_SPOOL_DIR={tmp_path / 'spool'}", *FAST]
        try:
            busy = run_newswarc(*args)
        finally:
            lease.release()
        assert busy.returncode == 1, busy.stderr
        lines = busy.stderr.strip().splitlines()
        assert len(lines) == 1 and "crawl elsewhere since then" in lines[0] and "lease until" in lines[0], lines
        assert srv.hits == []  # refused before any fetch

        client = s3_client(s3_env)  # a killed holder's lease, expired
        client.put_object(Bucket=s3_bucket, Key=f"p/{LEASE_KEY}", Body=json.dumps(
            {"holder": "crawl killed", "host": "gone", "pid": 1, "expires": time.time() - 1}).encode())
        run = run_newswarc(*args)
    assert run.returncode == 0, run.stderr[-3000:]
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix="p/").get("Contents", [])]
    assert f"p/{LEASE_KEY}" not in keys  # released at exit
    assert len([k for k in keys if k.startswith("p/articles/")]) == 1 and len(good) == 3
