"""On S3 output the crawl state stays local during a run and is backed up to the bucket after it."""

from __future__ import annotations

import boto3

from tests.crawl_helpers import FAST, newswarc, write_seed


def test_state_backed_up_and_restored_on_a_new_machine(tmp_path, fresh_demo_server, s3_bucket):
    server = fresh_demo_server(n_articles=40)
    seed = write_seed(tmp_path, server.url)
    out = f"s3://{s3_bucket}/news"

    def crawl(spool):
        result = newswarc("crawl", str(seed), "--out", out, "-s", f"NEWSWARC_SPOOL_DIR={spool}", *FAST)
        assert result.returncode == 0, result.stderr[-3000:]

    crawl(tmp_path / "machine-a")
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert "news/state/crawl-state.sqlite" in keys
    assert not (tmp_path / "machine-a" / "state" / "crawl-state.sqlite").exists()  # uploaded, then removed
    server.reset_log()
    crawl(tmp_path / "machine-b")  # a fresh server: nothing local, the state comes from the bucket
    articles = [p for _, p, _ in server.log if server.site.article(p.split("?")[0]) is not None]
    assert articles == []
