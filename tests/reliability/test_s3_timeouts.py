"""An S3 endpoint that accepts connections and never answers: every call times out in seconds.

At start-up the output check fails (exit 3, one line) within the connect and read timeouts; when S3
goes silent mid-crawl, the crawl ends on time with its files in the spool (exit 4), and
``newswarc sync`` uploads them all once S3 answers again.
"""

from __future__ import annotations

import time

from tests.crawl_helpers import read_jsonl, write_seed
from tests.reliability.hostile import FAST, HostileServer, Run, news_site, no_traceback, run_newswarc
from tests.s3_server import TcpProxy, s3_client


def _crawl_through(proxy: TcpProxy, tmp_path, bucket: str, timeout: float) -> tuple[Run, float]:
    """A crawl into ``s3://bucket/p`` with S3 reached through ``proxy`` (closed after), of a site it
    never gets to (the tests here end before any fetch); the run and how long it took."""
    try:
        seed = write_seed(tmp_path, "http://127.0.0.1:9/")
        started = time.monotonic()
        run = run_newswarc("crawl", str(seed), "--out", f"s3://{bucket}/p", "-s",
                           f"NEWSWARC_SPOOL_DIR={tmp_path / 'spool'}", env={"AWS_ENDPOINT_URL": proxy.url},
                           timeout=timeout)
        return run, time.monotonic() - started
    finally:
        proxy.down()


def test_a_silent_endpoint_fails_the_start_in_seconds(tmp_path, s3_env, s3_bucket):
    run, took = _crawl_through(TcpProxy().up(), tmp_path, s3_bucket, timeout=120)
    assert run.returncode == 3, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newswarc: s3://") and no_traceback(run.stderr), lines
    print(f"start-up check failed after {took:.1f}s: {lines[0]}")
    assert took < 30


def test_s3_going_silent_mid_crawl_spools_on_time_and_sync_uploads_all(tmp_path, s3_env, s3_bucket):
    proxy = TcpProxy(int(s3_env.rsplit(":", 1)[1])).up()
    spool = tmp_path / "spool"
    try:
        with HostileServer() as srv:
            good = news_site(srv, 20)
            seed = write_seed(tmp_path, srv.url)
            start_page = srv.routes["/"]

            def silence_then_serve(handler):  # S3 answered the start-up; it goes silent at the first fetch
                proxy.silence()
                srv.routes["/"] = start_page
                start_page.send(handler)

            srv.routes["/"] = silence_then_serve
            started = time.monotonic()
            run = run_newswarc("crawl", str(seed), "--out", f"s3://{s3_bucket}/p", "-s", f"NEWSWARC_SPOOL_DIR={spool}",
                               "-s", "DOWNLOAD_DELAY=0.2", *FAST, env={"AWS_ENDPOINT_URL": proxy.url}, timeout=300)
            took = time.monotonic() - started
        print(f"silent mid-crawl: exit {run.returncode} after {took:.1f}s")
        assert run.returncode == 4, run.stderr[-3000:]
        assert no_traceback(run.stderr) and "newswarc sync" in run.stderr
        assert took < 120
        proxy.speak()
        sync = run_newswarc("sync", "--out", f"s3://{s3_bucket}/p", "-s", f"NEWSWARC_SPOOL_DIR={spool}",
                            env={"AWS_ENDPOINT_URL": proxy.url})
        assert sync.returncode == 0, sync.stderr
    finally:
        proxy.down()
    client = s3_client(s3_env)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix="p/").get("Contents", [])]
    out = tmp_path / "mirror"
    for key in keys:
        path = out / key.removeprefix("p/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(client.get_object(Bucket=s3_bucket, Key=key)["Body"].read())
    assert sorted(r["url"] for r in read_jsonl(out, open_parts=True)) == sorted(good)


def test_s3_going_silent_between_the_check_and_the_state_restore_is_one_line(tmp_path, s3_env, s3_bucket):
    proxy = TcpProxy(int(s3_env.rsplit(":", 1)[1]), silence_on=b"state/crawl-state.sqlite").up()
    run, took = _crawl_through(proxy, tmp_path, s3_bucket, timeout=200)
    assert run.returncode == 3, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "crawl-state.sqlite: cannot reach endpoint" in lines[0], lines
    assert no_traceback(run.stderr)
    print(f"state restore failed after {took:.1f}s: {lines[0]}")
