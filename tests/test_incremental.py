"""Incremental runs on the demo site: only what is new is fetched; a killed run resumes."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from tests.crawl_helpers import (
    FAST,
    count_jsonl_lines,
    newswarc,
    read_jsonl,
    run_reports,
    start_newswarc,
    write_seed,
)
from tests.warc_checks import PywbReplay, check_warc


def crawl(seed, out, *extra):
    result = newswarc("crawl", str(seed), "--out", str(out), *FAST, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_reports(out)[-1]


def article_fetches(server) -> list[str]:
    """Article pages the server was asked for (GET, 200 or 304)."""
    site = server.site if hasattr(server, "site") else None
    paths = [path for method, path, _ in server.log if method == "GET"]
    return [p for p in paths if site is None or site.article(urlsplit(p).path) is not None]


def test_second_run_fetches_no_article_and_reads_discovery_again(tmp_path, fresh_demo_server):
    server = fresh_demo_server(n_articles=60)
    seed, out = write_seed(tmp_path, server.url), tmp_path / "out"
    first = crawl(seed, out)
    assert first["counts"]["articles"] == 55
    server.reset_log()
    second = crawl(seed, out)
    fetched = [path for _, path, _ in server.log]
    assert article_fetches(server) == []
    assert "/feed/" in fetched and "/sitemap_index.xml" in fetched and "/news-sitemap.xml" in fetched
    assert second["counts"]["articles"] == 0 and second["counts"]["new_articles"] == 0
    assert second["counts"]["pages_by_kind"].get("article", 0) == 0
    assert second["counts"]["already_archived"] > 0 and second["counts"]["skipped_by_state"] > 0
    assert len(read_jsonl(out)) == 55


def test_next_run_archives_exactly_the_new_articles(tmp_path, fresh_demo_server):
    server = fresh_demo_server(n_articles=60)
    seed, out = write_seed(tmp_path, server.url), tmp_path / "out"
    crawl(seed, out)
    new = server.site.publish(5)
    report = crawl(seed, out)
    assert report["counts"]["articles"] == 5
    rows = read_jsonl(out)
    assert {urlsplit(r["url"]).path for r in rows[-5:]} == {a.path for a in new}
    assert len(rows) == 60 and len({r["id"] for r in rows}) == 60


def test_recheck_keeps_both_versions_and_archives_unchanged_as_revisit(tmp_path, fresh_demo_server):
    server = fresh_demo_server(n_articles=60)
    seed, out = write_seed(tmp_path, server.url, recheck_hours=24 * 365 * 10), tmp_path / "out"
    crawl(seed, out)
    changed = next(a for a in server.site.articles if not a.private and "section" in a.routes)
    server.site.change_article(changed.path, "A correction was added to this article on Friday evening.")
    report = crawl(seed, out)
    rows = read_jsonl(out)
    versions = [r for r in rows if urlsplit(r["url"]).path == changed.path]
    assert len(versions) == 2 and versions[1]["version_of"] == versions[0]["id"]
    assert "correction was added" in versions[1]["text"] and "correction" not in versions[0]["text"]
    assert (out / versions[0]["text_path"]).is_file() and (out / versions[1]["text_path"]).is_file()
    assert report["counts"]["changed"] == 1
    assert report["counts"]["already_archived"] > 0
    from warcio.archiveiterator import ArchiveIterator

    revisits = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        check_warc(path)
        with open(path, "rb") as fh:
            revisits += [r for r in ArchiveIterator(fh) if r.rec_type == "revisit"]
    assert revisits, "unchanged articles were not archived as revisit records"
    # pywb resolves a revisit of an unchanged article to the payload archived in the first run
    unchanged = next(a for a in server.site.articles if not a.private and a.path != changed.path
                     and any(r.rec_headers.get_header("WARC-Target-URI").endswith(a.path) for r in revisits))
    revisit = next(r for r in revisits if r.rec_headers.get_header("WARC-Target-URI").endswith(unchanged.path))
    stamp = "".join(ch for ch in revisit.rec_headers.get_header("WARC-Date") if ch.isdigit())[:14]
    with PywbReplay(tmp_path / "pywb", sorted((out / "warc").glob("*.warc.gz"))) as pywb:
        replayed = pywb.get(revisit.rec_headers.get_header("WARC-Target-URI"), mode=f"{stamp}id_")
    assert unchanged.title.encode() in replayed.body, (replayed.status, replayed.body[:300])


def test_killed_crawl_resumes_every_article_once(tmp_path, fresh_demo_server):
    server = fresh_demo_server(n_articles=120)
    seed, out = write_seed(tmp_path, server.url), tmp_path / "out"
    proc = start_newswarc("crawl", str(seed), "--out", str(out), "-q", "-s", "AUTOTHROTTLE_ENABLED=False",
                          "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "DOWNLOAD_DELAY=0.05", stdout=None, stderr=None)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and count_jsonl_lines(out) < 20:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = count_jsonl_lines(out)
    assert 0 < partial < 115, "the crawl was not killed in the middle"
    assert list((out / "warc").glob("*.open")), "a killed crawl leaves its WARC .open"
    crawl(seed, out)
    rows = read_jsonl(out)
    counts = Counter(urlsplit(r["url"]).path for r in rows)
    public = {a.path for a in server.site.articles if not a.private}
    assert set(counts) == public and set(counts.values()) == {1}
    assert not list(out.rglob("*.open"))
    for path in sorted((out / "warc").glob("*.warc.gz")):
        check_warc(path)


def test_schedule_exits_cleanly_on_sigterm(tmp_path, demo_server):
    """SIGTERM to a scheduler whose crawl has run: both end cleanly (the crawl gets the signal if still running)."""
    seed = write_seed(tmp_path, demo_server.url, schedule="* * * * *", max_pages=5)
    out = tmp_path / "o"
    proc = start_newswarc("schedule", str(seed), "--out", str(out), stdout=None)
    lines: list[str] = []

    def read_stderr() -> None:
        for line in proc.stderr:
            lines.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    deadline = time.monotonic() + 90  # "* * * * *": the first run starts within a minute
    while time.monotonic() < deadline and proc.poll() is None and not any("Run of demo started" in x for x in lines):
        time.sleep(0.2)
    while time.monotonic() < deadline and proc.poll() is None and not list(out.glob("warc/*")):
        time.sleep(0.1)  # the crawl is under way: it has a WARC file
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=90)
    reader.join(10)
    err = "".join(lines)
    assert proc.returncode == 0, err
    assert "Scheduled demo" in err
    assert "Run of demo started" in err and "Run of demo ended" in err, err  # a crawl ran, and was waited for
    assert list(out.glob("runs/*-demo.json")), "the scheduled crawl wrote no run report"
