"""Crawl state store: round trips, merge rules, durability after SIGKILL, threads, speed."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.errors import StorageError
from crawler.state import SCHEMA_VERSION, CrawlState, DigestReader

ROOT = Path(__file__).resolve().parents[1]
WARC = {"file": "a.warc.gz", "offset": 1234, "record_id": "<urn:uuid:1>", "date": "2024-05-01T10:00:00Z"}


def fetch(state: CrawlState, url: str, **kw) -> None:
    args = dict(status=200, etag=None, last_modified=None, payload_digest=None, kind="other") | kw
    state.record_fetch(url, **args)


@pytest.fixture
def state(tmp_path):
    with CrawlState(tmp_path / "state.sqlite") as st:
        yield st


def test_record_and_get_round_trip(state):
    assert state.get("https://e.com/a") is None
    fetch(
        state, "https://e.com/a", etag='"v1"', last_modified="Wed, 01 May 2024 10:00:00 GMT",
        payload_digest="sha1:AAA", kind="article", article_id="art1", warc=WARC,
        published="2024-05-01", sitemap_lastmod="2024-05-01T09:00:00Z",
    )  # fmt: skip
    got = state.get("https://e.com/a")
    assert (got.status, got.etag, got.payload_digest, got.kind, got.article_id) == (
        200, '"v1"', "sha1:AAA", "article", "art1",
    )  # fmt: skip
    assert (got.warc_file, got.warc_offset, got.warc_record_id, got.date) == (
        "a.warc.gz", 1234, "<urn:uuid:1>", "2024-05-01T10:00:00Z",
    )  # fmt: skip
    assert got.published == "2024-05-01" and got.sitemap_lastmod == "2024-05-01T09:00:00Z"
    assert got.first_seen == got.fetched_at and got.first_seen.endswith("Z")
    assert state.is_archived_article("https://e.com/a")
    assert not state.is_archived_article("https://e.com/other")


def test_later_fetches_keep_what_they_do_not_replace(state):
    url = "https://e.com/story"
    fetch(state, url, etag='"v1"', payload_digest="sha1:AAA", kind="article", article_id="art1", warc=WARC)
    first = state.get(url)
    # a 304 keeps the digest and the pointer to the full capture, even when given the 304's record
    other = dict(WARC, file="b.warc.gz", offset=9)
    fetch(state, url, status=304, payload_digest="sha1:ZZZ", kind="article", warc=other)
    got = state.get(url)
    assert (got.status, got.payload_digest, got.warc_file, got.warc_offset) == (
        304,
        "sha1:AAA",
        "a.warc.gz",
        1234,
    )
    assert got.etag == '"v1"' and got.first_seen == first.first_seen
    # a later failure never forgets the archived article
    fetch(state, url, status=500, kind="other")
    assert state.get(url).status == 500
    assert state.is_archived_article(url)
    # a changed page moves the pointer
    fetch(state, url, payload_digest="sha1:BBB", kind="article", article_id="art2", warc=other)
    got = state.get(url)
    assert (got.payload_digest, got.article_id, got.warc_file, got.warc_offset) == (
        "sha1:BBB",
        "art2",
        "b.warc.gz",
        9,
    )


def test_warc_location_may_be_an_object(state):
    class Location:
        file, offset, length, record_id, date = "c.warc.gz", 77, 10, "<urn:uuid:c>", "2024-01-01T00:00:00Z"

    fetch(state, "https://e.com/c", warc=Location())
    assert state.get("https://e.com/c").warc_offset == 77


def test_takes_the_archives_warc_location(state):
    from crawler.warc import WarcLocation

    loc = WarcLocation(
        "warc/x.warc.gz", 512, 300, "<urn:uuid:w>", "response", "sha1:W", "2024-05-01T10:00:00Z"
    )
    fetch(
        state, "https://e.com/w", payload_digest=loc.payload_digest, kind="article", article_id="w", warc=loc
    )
    got = state.get("https://e.com/w")
    assert (got.warc_file, got.warc_offset, got.warc_record_id, got.date) == (
        "warc/x.warc.gz", 512, "<urn:uuid:w>", "2024-05-01T10:00:00Z",
    )  # fmt: skip


def test_unknown_kind_is_refused(state):
    with pytest.raises(ValueError, match="unknown page kind 'blog'"):
        fetch(state, "https://e.com/x", kind="blog")


def test_seen_sitemap_entry(state):
    url = "https://e.com/s"
    t = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert not state.seen_sitemap_entry(url, t)  # never fetched
    fetch(state, url, kind="article", sitemap_lastmod="2024-05-01T09:00:00+00:00")
    assert state.seen_sitemap_entry(url, None)
    assert state.seen_sitemap_entry(url, t)
    assert state.seen_sitemap_entry(url, t - timedelta(days=1))
    assert not state.seen_sitemap_entry(url, t + timedelta(seconds=1))
    assert state.seen_sitemap_entry(url, datetime(2024, 5, 1, 9, 0))  # naive means UTC
    assert not state.seen_sitemap_entry(
        url, datetime(2024, 5, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    )
    # no stored lastmod: the fetch time is what we know
    fetch(state, "https://e.com/n", kind="article")
    assert state.seen_sitemap_entry("https://e.com/n", datetime.now(UTC) - timedelta(hours=1))
    assert not state.seen_sitemap_entry("https://e.com/n", datetime.now(UTC) + timedelta(hours=1))
    # a failed last fetch means fetch again
    fetch(state, "https://e.com/gone", status=503)
    assert not state.seen_sitemap_entry("https://e.com/gone", None)


def test_digest_reader_sees_committed_payloads_read_only(tmp_path):
    assert DigestReader(tmp_path / "missing.sqlite").lookup("sha1:X") is None  # no state yet: no earlier payloads
    state = CrawlState(tmp_path / "s.sqlite")
    state.add("sha1:X", "https://e.com/1", "2024-05-01T10:00:00Z")
    state.flush()
    reader = DigestReader(state.path)
    assert reader.lookup("sha1:X") == ("https://e.com/1", "2024-05-01T10:00:00Z")
    assert reader.lookup("sha1:Y") is None
    with pytest.raises(sqlite3.OperationalError):  # read-only: the writer process cannot touch the state
        reader._conn.execute("DELETE FROM digests")
    state.close()


def test_revisit_index_and_text_hashes(state):
    assert state.lookup("sha1:X") is None
    state.add("sha1:X", "https://e.com/1", "2024-05-01T10:00:00Z")
    state.add("sha1:X", "https://e.com/2", "2024-05-02T10:00:00Z")  # the first capture wins
    assert state.lookup("sha1:X") == ("https://e.com/1", "2024-05-01T10:00:00Z")
    assert state.has_text_hash("abc") is None
    state.add_text_hash("abc", "art1")
    state.add_text_hash("abc", "art2")
    assert state.has_text_hash("abc") == "art1"


def test_runs(state):
    assert state.last_run("demo") is None
    state.begin_run("r1", ["demo", "other"])
    run = state.last_run("demo")
    assert (run.run_id, run.status, run.ended_at, run.seeds) == ("r1", "running", None, ("demo", "other"))
    state.end_run("r1", "finished", {"articles": 3, "bytes": 10})
    state.begin_run("r2", ["demo"])
    assert state.last_run("demo").run_id == "r2"
    done = state.last_run("demo", finished=True)
    assert (done.run_id, done.status, done.counts) == ("r1", "finished", {"articles": 3, "bytes": 10})
    assert state.last_run("other").run_id == "r1"


def test_persists_across_reopen_with_schema_version(tmp_path):
    path = tmp_path / "deep" / "dir" / "s.sqlite"
    with CrawlState(path) as st:
        fetch(st, "https://e.com/a", kind="article", article_id="a1")
    with CrawlState(path) as st:
        assert st.is_archived_article("https://e.com/a")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_newer_schema_and_junk_files_are_user_errors(tmp_path):
    newer = tmp_path / "newer.sqlite"
    CrawlState(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StorageError, match="schema 99 is newer"):
        CrawlState(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"junk.sqlite: not a usable newswarc crawl state"):
        CrawlState(junk)


def test_from_settings(tmp_path):
    st = CrawlState.from_settings(Settings(), tmp_path)
    assert st.path == tmp_path / "state" / "crawl-state.sqlite" and st.path.exists()
    st.close()
    st = CrawlState.from_settings(Settings({"NEWSWARC_STATE_PATH": str(tmp_path / "x.db")}), tmp_path / "out")
    assert st.path == tmp_path / "x.db"
    st.close()


def test_batched_writes_become_visible_to_other_processes_within_a_second(tmp_path):
    path = tmp_path / "s.sqlite"
    with CrawlState(path, commit_every=10_000, commit_interval=0.2) as st:
        fetch(st, "https://e.com/a")
        with sqlite3.connect(path) as other:
            assert other.execute("SELECT count(*) FROM urls").fetchone() == (0,)  # still in the batch
            deadline = time.monotonic() + 5
            while other.execute("SELECT count(*) FROM urls").fetchone() != (1,):
                assert time.monotonic() < deadline, "the flusher never committed"
                time.sleep(0.05)
        for i in range(25):
            fetch(st, f"https://e.com/{i}")
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT count(*) FROM urls").fetchone() == (26,)  # close commits


CHILD = textwrap.dedent(
    """
    import sys, time
    from crawler.state import CrawlState
    st = CrawlState(sys.argv[1], commit_every=100_000, commit_interval=0.3)
    for i in range(500):
        st.record_fetch(f"https://e.com/old/{i}", status=200, etag=None, last_modified=None,
                        payload_digest=None, kind="article", article_id=f"a{i}")
    time.sleep(1.0)  # the flusher commits these
    for i in range(100_000):  # killed somewhere in here, mid-batch
        st.record_fetch(f"https://e.com/new/{i}", status=200, etag=None, last_modified=None,
                        payload_digest=None, kind="other")
        if i == 1000:
            print("ready", flush=True)
    """
)


def test_survives_sigkill(tmp_path):
    path = tmp_path / "s.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    with CrawlState(path) as st:  # a fresh process after the kill: opens, recovers the WAL
        assert all(st.is_archived_article(f"https://e.com/old/{i}") for i in range(500))
        assert st._conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        fetch(st, "https://e.com/after", kind="article", article_id="x")
    with CrawlState(path) as st:
        assert st.is_archived_article("https://e.com/after")


def test_threads_share_one_store(state):
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(500):
                fetch(state, f"https://e.com/{n}/{i}", kind="article", article_id=f"{n}-{i}")
                state.add(f"sha1:{n}:{i}", f"https://e.com/{n}/{i}", "2024")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    def reader() -> None:
        try:
            for i in range(2000):
                state.get(f"https://e.com/0/{i % 500}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + [
        threading.Thread(target=reader)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert state._conn.execute("SELECT count(*) FROM urls").fetchone() == (2000,)
    assert state.lookup("sha1:3:499") == ("https://e.com/3/499", "2024")


def test_lookups_are_cheap(state):
    for i in range(20_000):
        fetch(state, f"https://e.com/p/{i}", kind="article", article_id=str(i), warc=WARC)
    start = time.perf_counter()
    hits = sum(state.get(f"https://e.com/p/{i}") is not None for i in range(20_000))
    misses = sum(state.get(f"https://e.com/q/{i}") is None for i in range(20_000))
    elapsed = time.perf_counter() - start
    assert hits == misses == 20_000
    assert elapsed < 3.0, f"40k lookups took {elapsed:.2f} s"


def test_a_full_disk_is_told_to_the_crawls_once_per_failed_write(tmp_path):
    """SQLite's "database or disk is full" (here: max_page_count reached) calls on_disk_full, then raises."""
    from crawler.errors import is_disk_full

    store = CrawlState(tmp_path / "s.sqlite", commit_every=10**9, commit_interval=3600)
    told: list[str] = []
    store.on_disk_full.append(told.append)
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(sqlite3.OperationalError) as full:
        for i in range(5000):
            store.record_fetch(f"http://x.test/{i}/{'a' * 200}", status=200, etag=None, last_modified=None,
                               payload_digest=None, kind="article")
    assert is_disk_full(full.value)
    assert told == ["crawl state"]
