"""Output writers on real local storage: layout, atomic text files, JSONL lines, rollover, repair."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
from datetime import UTC, datetime, timedelta, timezone

from crawler.extract.api import Article
from crawler.output.writer import OutputWriter, article_id, jsonl_row, render_text, repair_jsonl, text_key
from crawler.storage.local import LocalStorage

FETCHED = datetime(2024, 5, 2, 23, 30, tzinfo=timezone(timedelta(hours=-2)))  # 2024-05-03 01:30 UTC


def make_article(n: int = 0, published: str | None = "2024-03-14T08:30:00+00:00") -> Article:
    text = f"First paragraph number {n}.\nSecond paragraph, with ünïcödé."
    return Article(url=f"https://news.example/a/{n}?utm_source=x", canonical_url=f"https://news.example/a/{n}",
                   title=f"Title {n}\nwith a newline", text=text, authors=["Ann Lee"], published=published,
                   updated=None, language="en", site_name="News", description=None, categories=["World"],
                   tags=["t1"], image=None, word_count=9, text_sha256="0" * 64)


def test_article_id_is_stable():
    assert article_id("https://news.example/a/1") == "8953a661872edfc785b2"  # pinned: IDs must never change
    assert article_id("x") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"[:20]
    assert article_id("https://news.example/a/1") != article_id("https://news.example/a/2")


def test_render_text_format():
    assert render_text(make_article(1)) == (
        "title: Title 1 with a newline\nurl: https://news.example/a/1?utm_source=x\n"
        "published: 2024-03-14T08:30:00+00:00\n\nFirst paragraph number 1.\nSecond paragraph, with ünïcödé.\n")
    assert "published: \n\n" in render_text(make_article(1, published=None))


def test_text_key_uses_published_else_fetch_day_utc():
    aid = article_id("https://news.example/a/1")
    assert text_key("news.example", make_article(1), FETCHED) == f"text/news.example/2024/03/14/{aid}.txt"
    assert text_key("news.example", make_article(1, None), FETCHED) == f"text/news.example/2024/05/03/{aid}.txt"
    assert text_key("../evil/site", make_article(1), FETCHED).startswith("text/evil_site/")


def test_jsonl_row_fields():
    a = make_article(1)
    row = jsonl_row(a, site="news.example", fetched_at=FETCHED,
                    warc={"file": "warc/x.warc.gz", "offset": 10, "length": 99, "record_id": "<urn:uuid:1>"})
    assert {f.name for f in dataclasses.fields(Article)} <= set(row)
    assert row["id"] == article_id(a.canonical_url) and row["site"] == "news.example"
    assert row["fetched_at"] == "2024-05-03T01:30:00Z"
    assert row["text_path"] == text_key("news.example", a, FETCHED)
    assert (row["warc_file"], row["warc_offset"], row["warc_length"], row["warc_record_id"]) == (
        "warc/x.warc.gz", 10, 99, "<urn:uuid:1>")
    bare = jsonl_row(a, site="s", fetched_at=datetime(2024, 1, 1), warc=None)
    assert bare["warc_file"] is None and bare["warc_record_id"] is None and bare["fetched_at"] == "2024-01-01T00:00:00Z"
    json.dumps(row)


def test_writer_layout_and_lines(tmp_path):
    storage = LocalStorage(tmp_path)
    out = io.StringIO()
    writer = OutputWriter(storage, run_id="20240503T013000Z", jsonl_stdout=out)
    rows = []
    for n in range(3):
        a = make_article(n)
        rows.append(jsonl_row(a, site="news.example", fetched_at=FETCHED, warc=None))
        writer.write(rows[-1], render_text(a))
    writer.close()
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted([r["text_path"] for r in rows] + ["articles/news.example/20240503T013000Z.jsonl"])
    assert not list(tmp_path.rglob("*.tmp"))
    lines = (tmp_path / "articles/news.example/20240503T013000Z.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert out.getvalue().splitlines() == lines
    assert (tmp_path / rows[0]["text_path"]).read_text("utf-8") == render_text(make_article(0))


def test_writer_rollover_commits_parts(tmp_path):
    committed: list[str] = []

    class Recording(LocalStorage):
        def commit(self, key: str) -> None:
            super().commit(key)
            committed.append(key)

    writer = OutputWriter(Recording(tmp_path), run_id="run1", jsonl_max_bytes=1000)
    for n in range(10):
        a = make_article(n)
        writer.write(jsonl_row(a, site="s", fetched_at=FETCHED, warc=None), render_text(a))
    assert committed and all(k.startswith("articles/s/run1") for k in committed)
    writer.close()
    parts = sorted(p.name for p in (tmp_path / "articles/s").iterdir())
    assert parts[0] == "run1-001.jsonl" and "run1.jsonl" in parts and len(parts) > 2
    assert sorted(committed) == sorted(f"articles/s/{p}" for p in parts)
    total = []
    for p in (tmp_path / "articles/s").iterdir():
        assert p.stat().st_size <= 1000
        total += [json.loads(line)["id"] for line in p.read_text().splitlines()]
    assert len(total) == 10


def test_writer_is_thread_safe(tmp_path):
    writer = OutputWriter(LocalStorage(tmp_path), run_id="r", jsonl_max_bytes=5000)

    def work(base: int) -> None:
        for n in range(base, base + 25):
            a = make_article(n)
            writer.write(jsonl_row(a, site="s", fetched_at=FETCHED, warc=None), render_text(a))

    threads = [threading.Thread(target=work, args=(i * 100,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    ids = [json.loads(line)["id"] for p in (tmp_path / "articles/s").iterdir() for line in p.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 100


def test_repair_jsonl(tmp_path):
    path = tmp_path / "part.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":2}\n{"c":')
    repair_jsonl(path)
    assert path.read_bytes() == b'{"a":1}\n{"b":2}\n'
    repair_jsonl(path)
    assert path.read_bytes() == b'{"a":1}\n{"b":2}\n'
    path.write_bytes(b'{"partial only')
    repair_jsonl(path)
    assert path.read_bytes() == b""
    big = tmp_path / "big.jsonl"
    big.write_bytes(b'{"x":1}\n' + b"y" * 200_000)  # the partial line spans several read chunks
    repair_jsonl(big)
    assert big.read_bytes() == b'{"x":1}\n'


def test_writer_appends_after_repair_on_resume(tmp_path):
    part = tmp_path / "articles/s/run9.jsonl"
    part.parent.mkdir(parents=True)
    part.write_bytes(b'{"id":"old"}\n{"id":"half')
    writer = OutputWriter(LocalStorage(tmp_path), run_id="run9")
    a = make_article(1)
    writer.write(jsonl_row(a, site="s", fetched_at=datetime.now(UTC), warc=None), render_text(a))
    writer.close()
    lines = part.read_text().splitlines()
    assert json.loads(lines[0]) == {"id": "old"} and json.loads(lines[1])["id"] == article_id(a.canonical_url)


def test_dedup_is_one_article_per_canonical_url_and_per_text(tmp_path):
    from crawler.output.dedup import Dedup
    from crawler.state import CrawlState

    def art(n: int) -> Article:
        return dataclasses.replace(make_article(n), text_sha256=f"{n:064d}")

    dedup = Dedup()
    assert dedup.duplicate_of(art(1)) is None
    assert dedup.duplicate_of(dataclasses.replace(art(1), text_sha256="other")) == "canonical_url"
    assert dedup.duplicate_of(dataclasses.replace(art(1), canonical_url="https://b.example/x")) == "text_hash"
    assert dedup.duplicate_of(art(2)) is None
    with CrawlState(tmp_path / "state.sqlite") as state:  # an earlier run archived this text as another article
        state.add_text_hash(art(3).text_sha256, "someone-else")
        assert Dedup(state).duplicate_of(art(3)) == "text_hash_earlier_run"
        state.add_text_hash(art(4).text_sha256, article_id(art(4).canonical_url))
        assert Dedup(state).duplicate_of(art(4)) is None  # the same article again: a new version, not a copy


def test_revisits_find_the_first_original_of_their_payload():
    from crawler.warc.reader import WarcRecord
    from crawler.warc.revisits import OriginalIndex

    def rec(offset: int, digest: str | None, uri: str = "http://a.test/") -> WarcRecord:
        headers = {"warc-type": "response", "warc-target-uri": uri, "warc-date": f"2026-10-01T10:00:{offset % 60:02d}Z",
                   "warc-record-id": f"<urn:uuid:{offset}>"}
        if digest:
            headers["warc-payload-digest"] = digest
        return WarcRecord("a.warc", offset, 10, headers)

    originals = OriginalIndex()
    originals.add(0, rec(100, "sha1:A"))
    originals.add(1, rec(5, "sha1:A", "http://b.test/"))  # a later copy: the first stays the original
    originals.add(2, rec(0, None, "http://c.test/"))
    revisit = WarcRecord("b.warc", 0, 10, {"warc-type": "revisit", "warc-payload-digest": "sha1:A"})
    assert originals.find(revisit)[:2] == (0, 100)
    unknown = WarcRecord("b.warc", 0, 10, {"warc-type": "revisit", "warc-payload-digest": "sha1:B"})
    assert originals.find(unknown) is None


def test_a_runs_parts_are_its_own_not_those_of_a_run_whose_id_starts_alike(tmp_path):
    """Recovery after a kill reads the killed run's parts only: ``run1`` is not ``run10``."""
    from crawler.output.writer import run_parts

    site = tmp_path / "articles" / "demo"
    site.mkdir(parents=True)
    names = ["run1.jsonl", "run1-001.jsonl", "run1-002.jsonl.open", "run10.jsonl", "run1-x.jsonl", "run1.jsonl.tmp",
             "run[1].jsonl"]
    for name in names:
        (site / name).write_text("")
    assert [p.name for p in run_parts(tmp_path / "articles", "demo", "run1")] == [
        "run1-001.jsonl", "run1-002.jsonl.open", "run1.jsonl"]
    assert [p.name for p in run_parts(tmp_path / "articles", "demo", "run[1]")] == ["run[1].jsonl"]
