"""What a run tells its user: a status and reason that are true, counts that agree, summaries in plain
words, one report schema for crawl and replay, no third-party log line at the default level."""

from __future__ import annotations

import json
import re
import signal
import socket
import time

from tests.crawl_helpers import (
    FAST,
    count_jsonl_lines,
    free_port,
    newswarc,
    run_reports,
    start_newswarc,
    write_seed,
)
from tests.s3_server import s3_client

PLURAL_SLIPS = re.compile(r"\b1 (WARC files|errors|sources|pages|articles|records|files|URLs)\b")
RAW_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d|\[?[a-z_]+(\.[a-z_]+)+\]?|INFO|DEBUG|ERROR|WARNING|"
                          r"CRITICAL)\b", re.M)


def _no_noise(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert not RAW_LOG_LINE.search(stderr), f"raw log line at the default level:\n{stderr}"
    for name in ("scrapy", "botocore", "tldextract", "twisted", "Public Suffix"):
        assert name not in stderr, f"{name!r} at the default level:\n{stderr}"
    assert not PLURAL_SLIPS.search(stderr), PLURAL_SLIPS.search(stderr).group(0)


def test_an_unresolvable_host_fails_fast_named_and_reported_as_failed(tmp_path):
    seed = write_seed(tmp_path, "http://no-such-host.invalid/", name="nowhere")
    out = tmp_path / "out"
    proc = newswarc("crawl", str(seed), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    _no_noise(proc.stderr)
    assert "DNS lookup failed for no-such-host.invalid" in proc.stderr
    (report,) = run_reports(out)
    assert report["status"] == "failed"
    assert report["reason"] == "DNS lookup failed for no-such-host.invalid"
    counts = report["counts"]
    assert counts["pages"] == 0 and counts["errors"] >= 1
    assert counts["requests"] == sum(counts["requests_by_route"].values()), counts
    assert counts["requests_by_route"].get("retry", 0) == 0, "a DNS failure was retried"


def test_counts_of_a_report_agree(demo_crawl):
    (report,) = run_reports(demo_crawl)
    c = report["counts"]
    assert report["status"] == "completed" and report["reason"] is None
    assert c["requests"] == sum(c["requests_by_route"].values()), c
    assert c["pages"] == sum(c["pages_by_status"].values()), c
    assert c["articles"] == c["new_articles"] + c["changed"], c
    assert c["archived"] == c["new_articles"] + c["changed"] + c["already_archived"], c
    assert c["errors"] == sum(c["errors_by_kind"].values()), c


def test_a_second_run_says_what_is_already_archived(tmp_path, fresh_demo_server):
    server = fresh_demo_server(40)
    seed = write_seed(tmp_path, server.url, name="gazette")
    out = tmp_path / "out"
    first = newswarc("crawl", str(seed), "--out", str(out), *FAST, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    _no_noise(first.stderr)
    n = run_reports(out)[0]["counts"]["archived"]
    assert n > 0 and f"{n} articles archived ({n} new, 0 already archived)" in first.stderr, first.stderr
    second = newswarc("crawl", str(seed), "--out", str(out), *FAST, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    _no_noise(second.stderr)
    assert f"{n} articles archived (0 new, {n} already archived)" in second.stderr, second.stderr
    assert "0 failed" in second.stderr
    report = run_reports(out)[-1]
    assert report["counts"]["archived"] == n and report["counts"]["already_archived"] == n


def test_the_demo_says_how_many_of_its_articles_are_archived(tmp_path):
    out = tmp_path / "out"
    port = str(free_port())  # one port for both runs, whoever holds the seed's: the same URLs
    runs = [newswarc("demo", "--out", str(out), "--articles", "30", "--port", port, *FAST, cwd=tmp_path)
            for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
        _no_noise(proc.stderr)
    total = int(re.search(r"of (\d+) public demo articles", runs[0].stderr).group(1))
    assert f"Demo crawl: {total} of {total} public demo articles archived ({total} new" in runs[0].stderr
    ports = [re.search(r"serving at http://127.0.0.1:(\d+)", p.stderr).group(1) for p in runs]
    assert ports == [port, port]
    assert (f"Demo crawl: {total} of {total} public demo articles archived (0 new, {total} already archived)"
            in runs[1].stderr), runs[1].stderr


def test_a_crawl_with_extraction_off_says_its_pages_are_archived_not_lost(tmp_path):
    """With extraction off no article is written; "0 articles archived" would read as pages lost."""
    out = tmp_path / "out"
    proc = newswarc("demo", "--out", str(out), "--articles", "20", *FAST,
                    "-s", "NEWSWARC_EXTRACT_ENABLED=False", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _no_noise(proc.stderr)
    (report,) = run_reports(out)
    pages = report["counts"]["pages_by_kind"]["article"]
    assert pages > 0 and report["counts"]["archived"] == 0, report["counts"]
    assert f"{pages} article pages archived, not extracted" in proc.stderr, proc.stderr
    assert "0 articles archived" not in proc.stderr and "newswarc replay" in proc.stderr, proc.stderr
    assert re.search(rf"Demo crawl: {pages} article pages of \d+ public demo articles archived, not extracted",
                     proc.stderr), proc.stderr


def test_components_switched_off_by_settings_print_no_warning_and_the_summary_says_what_was_kept(tmp_path):
    """Archiving, extraction and the crawl state off are choices: no "Disabled ..." WARNING line for each,
    and the summary does not claim that pages were archived."""
    out = tmp_path / "out"
    proc = newswarc("demo", "--out", str(out), "--articles", "20", *FAST, "-s", "NEWSWARC_EXTRACT_ENABLED=False",
                    "-s", "NEWSWARC_ARCHIVE_ENABLED=False", "-s", "NEWSWARC_STATE_ENABLED=False", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _no_noise(proc.stderr)
    assert "Disabled" not in proc.stderr and " is off" not in proc.stderr, proc.stderr
    (report,) = run_reports(out)
    pages = report["counts"]["pages_by_kind"]["article"]
    assert pages > 0 and report["counts"]["warc_files"] == 0, report["counts"]
    assert f"{pages} article pages fetched, not archived or extracted" in proc.stderr, proc.stderr
    assert "archived, not extracted" not in proc.stderr, proc.stderr


def test_the_demo_on_a_busy_port_is_one_line(tmp_path):
    """``--port`` is the port asked for, or an error: never another site at another address."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        proc = newswarc("demo", "--out", str(tmp_path / "out"), "--port", str(held.getsockname()[1]), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newswarc: --port ") and "Traceback" not in proc.stderr, lines
    proc = newswarc("demo", "--port", "70000", cwd=tmp_path)
    assert proc.returncode == 2 and "<= 65535" in proc.stderr, proc.stderr


def test_replay_report_has_the_crawl_report_schema(demo_crawl, tmp_path):
    out = tmp_path / "out"
    proc = newswarc("replay", str(demo_crawl / "warc"), "--out", str(out), "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _no_noise(proc.stderr)
    (crawl,) = run_reports(demo_crawl)
    (replay,) = run_reports(out)
    assert set(replay) == set(crawl)
    assert set(replay["counts"]) == set(crawl["counts"]) and set(replay["bytes"]) == set(crawl["bytes"])
    assert (crawl["command"], replay["command"]) == ("crawl", "replay")
    assert replay["status"] == "completed" and replay["reason"] is None
    assert replay["counts"]["articles"] == crawl["counts"]["articles"]
    assert replay["sources"] == [str(demo_crawl / "warc")]
    assert "damaged" in proc.stderr and "corrupt" not in proc.stderr


def test_replay_jsonl_without_out_points_at_no_text_file(demo_crawl, tmp_path):
    proc = newswarc("replay", str(demo_crawl / "warc"), "--jsonl", "-", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows and all(row["text_path"] is None for row in rows)


def test_replay_since_takes_the_seed_duration_form(demo_crawl, tmp_path):
    recent = newswarc("replay", str(demo_crawl / "warc"), "--jsonl", "-", "--since", "3d", "--workers", "1",
                      cwd=tmp_path)
    assert recent.returncode == 0 and recent.stdout.count("\n") > 0, recent.stderr
    old = newswarc("replay", str(demo_crawl / "warc"), "--jsonl", "-", "--until", "3d", "--workers", "1",
                   cwd=tmp_path)
    assert old.returncode == 0 and old.stdout == "", old.stderr


def test_public_suffix_list_comes_from_the_bundled_snapshot(tmp_path, fresh_demo_server):
    """tldextract (Scrapy's cookie middleware) never tries the network: nothing about it even with -v."""
    server = fresh_demo_server(20)
    seed = write_seed(tmp_path, server.url, name="psl")
    env = {"TLDEXTRACT_CACHE": str(tmp_path / "empty-cache"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    proc = newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), "-v", *FAST, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[scrapy" in proc.stderr  # -v shows Scrapy's own lines...
    assert "Public Suffix" not in proc.stderr and "tldextract" not in proc.stderr  # ...and no PSL fetch


def test_s3_replay_shows_no_botocore_lines(demo_crawl, s3_bucket, s3_env, tmp_path):
    warc = next(demo_crawl.glob("warc/*.warc.gz"))
    s3_client(s3_env).upload_file(str(warc), s3_bucket, f"c/warc/{warc.name}")
    proc = newswarc("replay", f"s3://{s3_bucket}/c/warc/", "--out", f"s3://{s3_bucket}/re", "--workers", "1",
                    cwd=tmp_path, env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    _no_noise(proc.stderr)
    assert "Found credentials" not in proc.stderr


def test_a_resumed_demo_counts_what_the_interrupted_run_archived(tmp_path):
    """Ctrl-C, then the same command: the summary counts every public article once (new + already archived)."""
    out = tmp_path / "out"
    args = ["demo", "--out", str(out), "--articles", "60", "--port", str(free_port()), *FAST, "-s", "DOWNLOAD_DELAY=0.2"]
    proc = start_newswarc(*args, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while count_jsonl_lines(out) < 10 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, first = proc.communicate(timeout=120)
    assert proc.returncode == 130, first
    assert "interrupted" in first and "Traceback" not in first, first
    second = newswarc(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    _no_noise(second.stderr)
    total = int(re.search(r"of (\d+) public demo articles", second.stderr).group(1))
    ports = [re.search(r"serving at http://127.0.0.1:(\d+)", p).group(1) for p in (first, second.stderr)]
    assert ports[0] == ports[1]  # --port: the same site, the same URLs
    done = re.search(r"Demo crawl: (\d+) of (\d+) public demo articles archived \((\d+) new, (\d+) already",
                     second.stderr)
    assert done and int(done.group(1)) == total, second.stderr
    assert int(done.group(3)) + int(done.group(4)) == total and int(done.group(4)) >= 10


def test_the_report_file_of_a_run_whose_report_was_not_written(tmp_path, s3_bucket):
    """A full disk leaves no report key (""): the summary says so, for S3 (whose spool dir exists) too."""
    from crawler.crawl.report import NOT_WRITTEN, report_file
    from crawler.storage.local import LocalStorage
    from crawler.storage.s3.storage import S3Storage

    s3 = S3Storage(s3_bucket, "p", spool_dir=tmp_path / "spool", upload_attempts=1, max_attempts=1)
    assert s3.work_dir.is_dir()
    assert report_file(s3, "") == NOT_WRITTEN
    assert report_file(s3, "runs/r-site.json") == s3.display("runs/r-site.json")  # uploaded
    s3.local_path("runs/r-site.json").write_text("{}")  # its upload failed: still in the spool
    assert report_file(s3, "runs/r-site.json") == str(s3.work_dir / "runs/r-site.json")
    local = LocalStorage(tmp_path / "out")
    assert report_file(local, "") == NOT_WRITTEN
    assert report_file(local, "runs/r-site.json") == local.display("runs/r-site.json")
