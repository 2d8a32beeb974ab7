"""Dataset features end to end: a real crawl of a demo site with syndicated copies and paywalls,
exported to Parquet and read back with pyarrow and DuckDB, provenance checked against the WARCs."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator

import duckdb
import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from bench.bench_export import measure_export, write_synthetic_archive
from crawler.dataset.schema import NAMES, SCHEMA
from crawler.demo._variants import add_paywalled, add_syndicated
from crawler.demo.server import DemoServer
from crawler.demo.site import build_site
from crawler.output.writer import article_id
from crawler.urls import canonicalize_url
from tests.crawl_helpers import FAST, newswarc, read_jsonl, write_seed

QUICK = [*FAST, "-s", "DOWNLOAD_DELAY=0"]


@pytest.fixture(scope="module")
def variant_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One crawl of a 60-article demo site with 6 syndicated copies and two paywalled articles."""
    site = build_site(60)
    syndicated = add_syndicated(site, 6)
    truncated = add_paywalled(site, "truncated")
    full = add_paywalled(site, "full")
    base = tmp_path_factory.mktemp("datasets")
    with DemoServer(site) as server:
        seed = write_seed(base, server.url, name="gazette")
        proc = newswarc("crawl", str(seed), "--out", str(base / "out"), "-q", *QUICK)
        assert proc.returncode == 0, proc.stderr[-2000:]
        yield {"out": base / "out", "site": site, "origin": server.url, "syndicated": syndicated,
               "truncated": truncated, "full": full, "base": base}


def _id(origin: str, path: str) -> str:
    return article_id(canonicalize_url(origin + path))


def test_export_parquet_reads_back_with_pyarrow_and_duckdb(variant_crawl):
    out, rows = variant_crawl["out"], read_jsonl(variant_crawl["out"])
    export_dir = variant_crawl["base"] / "parquet"
    proc = newswarc("export", str(out), "--out", str(export_dir))
    assert proc.returncode == 0, proc.stderr
    files = sorted(export_dir.rglob("*.parquet"))
    assert files and all(f.relative_to(export_dir).parts[0] == "gazette" for f in files)
    table = pq.read_table(export_dir)
    assert table.schema.equals(SCHEMA) and table.column_names == NAMES
    public = [a for a in variant_crawl["site"].articles if not a.private]
    assert table.num_rows == len(rows) == len(public)  # one row per article, every public demo article
    assert len(set(table.column("id").to_pylist())) == table.num_rows
    for f in files:  # partitions: site and publication month
        months = set(pq.read_table(f).column("published_month").to_pylist())
        assert months == {f.parent.name}
    con = duckdb.connect()
    got = con.execute(f"SELECT count(*), count(DISTINCT id), count(DISTINCT site) "
                      f"FROM read_parquet('{export_dir}/**/*.parquet')").fetchone()
    assert got == (len(rows), len(rows), 1)
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                             f"read_parquet('{export_dir}/**/*.parquet'))").fetchall())
    assert types["fetched_at"] == "TIMESTAMP WITH TIME ZONE" and types["authors"] == "VARCHAR[]"
    assert types["warc_offset"] == "BIGINT" and types["is_accessible_for_free"] == "BOOLEAN"
    run_ids = {p.stem for p in (out / "articles" / "gazette").glob("*.jsonl")}
    assert set(table.column("run_id").to_pylist()) == run_ids


def test_export_provenance_points_at_real_warc_records(variant_crawl):
    out = variant_crawl["out"]
    export_dir = variant_crawl["base"] / "provenance"
    assert newswarc("export", str(out), "--out", str(export_dir), "--fields",
                    "id,url,warc_file,warc_offset,warc_length,warc_record_id,fetched_at").returncode == 0
    table = pq.read_table(export_dir)
    assert table.column_names == ["id", "url", "fetched_at", "warc_file", "warc_offset", "warc_length",
                                  "warc_record_id"]
    for row in table.to_pylist():  # every one: seek to the offset, read that one gzip member
        with open(out / row["warc_file"], "rb") as fh:
            fh.seek(row["warc_offset"])
            member = fh.read(row["warc_length"])
        record = next(iter(ArchiveIterator(io.BytesIO(member))))
        assert record.rec_type == "response"
        assert record.rec_headers.get_header("WARC-Record-ID") == row["warc_record_id"]
        assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
        assert row["fetched_at"].tzinfo is not None


def test_export_is_idempotent_and_jsonl_has_the_same_rows(variant_crawl):
    out, base = variant_crawl["out"], variant_crawl["base"]
    for name in ("again1", "again2"):
        assert newswarc("export", str(out), "--out", str(base / name), "-q").returncode == 0
    a = {p.relative_to(base / "again1"): p.read_bytes() for p in (base / "again1").rglob("*") if p.is_file()}
    b = {p.relative_to(base / "again2"): p.read_bytes() for p in (base / "again2").rglob("*") if p.is_file()}
    assert a == b and len(a) > 1
    # a second export into the same place writes the same bytes and nothing else
    assert newswarc("export", str(out), "--out", str(base / "again1"), "-q").returncode == 0
    assert {p.relative_to(base / "again1"): p.read_bytes() for p in (base / "again1").rglob("*") if p.is_file()} == a
    assert newswarc("export", str(out), "--out", str(base / "jsonl"), "--format", "jsonl").returncode == 0
    lines = [json.loads(line) for p in sorted((base / "jsonl").rglob("*.jsonl")) for line in p.open()]
    parquet = pq.read_table(base / "again1").to_pylist()
    assert [r["id"] for r in lines] == [r["id"] for r in parquet] and set(lines[0]) == set(NAMES)
    assert lines[0]["fetched_at"].endswith("Z")


def test_export_filters_fields_and_errors(variant_crawl):
    out, base = variant_crawl["out"], variant_crawl["base"]
    rows = read_jsonl(out)
    october = [r for r in rows if r["published"].startswith("2026-10")]
    proc = newswarc("export", str(out), "--out", str(base / "oct"), "--since", "2026-10-01",
                    "--until", "2026-10-31", "--fields", "id", "--fields", "published")
    assert proc.returncode == 0, proc.stderr
    table = pq.read_table(base / "oct")
    assert table.column_names == ["id", "published"] and sorted(table.column("id").to_pylist()) == sorted(
        r["id"] for r in october)
    assert newswarc("export", str(out), "--out", str(base / "none"), "--site", "elsewhere").returncode == 0
    assert not list((base / "none").rglob("*.parquet"))
    for bad in (["--fields", "nope"], ["--since", "yesterday"], ["--format", "csv"]):
        proc = newswarc("export", str(out), "--out", str(base / "bad"), *bad)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    proc = newswarc("export", str(base / "missing"), "--out", str(base / "bad"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no article JSONL" in proc.stderr


def test_export_versions_and_damaged_lines(tmp_path):
    archive = tmp_path / "archive"
    write_synthetic_archive(archive, 400)
    (archive / "articles" / "alpha" / "20261103T060000Z-bench-300.jsonl").write_text('{"id": "x"\nnot json\n')
    proc = newswarc("export", str(archive), "--out", str(tmp_path / "latest"))
    assert proc.returncode == 1 and proc.stderr.count(" skipped (") == 2, proc.stderr  # counted and logged
    latest = pq.read_table(tmp_path / "latest")
    assert latest.num_rows == 380 and len(set(latest.column("id").to_pylist())) == 380
    newer = [r for r in latest.to_pylist() if r["version_of"]]
    assert len(newer) == 20 and all(r["run_id"] == "20261102T060000Z-bench-200" for r in newer)
    assert newswarc("export", str(archive), "--out", str(tmp_path / "all"), "--versions").returncode == 1
    assert pq.read_table(tmp_path / "all").num_rows == 400


def test_export_memory_is_flat(tmp_path):
    """20,000 articles (60 MiB of JSONL) in the suite; bench/bench_export.py runs 200,000."""
    write_synthetic_archive(tmp_path / "archive", 20_000)
    result = measure_export(tmp_path / "archive", tmp_path / "out")
    assert result["returncode"] == 0, result["stderr"]
    print(f"export of 20,000 articles: peak RSS {result['peak_rss_mib']} MiB")
    assert result["peak_rss_mib"] < 300
    assert pq.read_metadata(next((tmp_path / "out").rglob("*.parquet"))).num_rows > 0


def test_syndicated_copies_are_grouped_and_distinct_articles_are_not(variant_crawl):
    origin, rows = variant_crawl["origin"], read_jsonl(variant_crawl["out"])
    by_id = {r["id"]: r for r in rows}
    truth = {frozenset({_id(origin, c), _id(origin, o)}) for c, o in variant_crawl["syndicated"].items()}
    assert len(truth) == 6 and all(i in by_id for pair in truth for i in pair)
    group = {r["id"]: r["near_duplicate_of"] or r["id"] for r in rows}
    predicted = {frozenset(p) for p in itertools.combinations(by_id, 2) if group[p[0]] == group[p[1]]}
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth)
    print(f"near-duplicate grouping on the demo: precision {precision:.3f}, recall {recall:.3f} "
          f"({len(predicted)} pairs predicted, {len(truth)} true, {len(rows)} articles)")
    assert precision == 1.0 and recall == 1.0
    for r in rows:
        if r["near_duplicate_of"]:
            assert r["near_duplicate_of"] in by_id and 0.7 <= r["near_duplicate_similarity"] <= 1
            assert by_id[r["near_duplicate_of"]]["near_duplicate_of"] is None  # the first copy of the group


def test_near_duplicates_found_across_runs_from_the_crawl_state(tmp_path):
    """The second run's copy is grouped with an original archived by the first run."""
    site = build_site(40)
    with DemoServer(site) as server:
        origin = server.url
        seed = write_seed(tmp_path, origin, name="gazette")
        assert newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), "-q", *QUICK).returncode == 0
        copies = add_syndicated(site, 2)
        proc = newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), "-q", *QUICK)
        assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in read_jsonl(tmp_path / "out")}
    for copy, original in copies.items():
        assert rows[_id(origin, copy)]["near_duplicate_of"] == _id(origin, original)


def test_paywalled_articles_are_flagged(variant_crawl):
    origin, rows = variant_crawl["origin"], read_jsonl(variant_crawl["out"])
    by_id = {r["id"]: r for r in rows}
    [truncated], [full] = variant_crawl["truncated"], variant_crawl["full"]
    cut, whole = by_id[_id(origin, truncated)], by_id[_id(origin, full)]
    assert cut["is_accessible_for_free"] is False and cut["truncated_by_paywall"] is True
    assert whole["is_accessible_for_free"] is False and whole["truncated_by_paywall"] is False
    assert whole["word_count"] > 2 * cut["word_count"]
    others = [r for r in rows if r["id"] not in (cut["id"], whole["id"])]
    assert all(r["is_accessible_for_free"] is None and r["truncated_by_paywall"] is False for r in others)


def test_run_report_has_a_quality_table_per_site(variant_crawl):
    [report] = [json.loads(p.read_text()) for p in (variant_crawl["out"] / "runs").glob("*.json")]
    q = report["quality"]["sites"]["gazette"]
    assert q["articles"] == report["counts"]["articles"] == len(read_jsonl(variant_crawl["out"]))
    assert q["share_dated"] == q["share_title"] == q["share_author"] == q["share_language"] == 1.0
    assert q["paywalled"] == 2 and q["truncated_by_paywall"] == 1 and q["near_duplicates"] == 6
    assert q["median_words"] > 200 and q["page_kinds"]["article"] >= q["articles"]
    assert sum(q["articles_by_day"].values()) == q["articles"]


def test_export_from_and_to_s3(variant_crawl, s3_bucket, tmp_path):
    """ARCHIVE and --out on a real S3 API (moto's server over HTTP): the same rows as on disk."""
    import boto3

    out, base = variant_crawl["out"], variant_crawl["base"]
    s3 = boto3.client("s3")
    for path in (out / "articles").rglob("*.jsonl"):
        s3.upload_file(str(path), s3_bucket, f"arch/{path.relative_to(out).as_posix()}")
    spool = ["-s", f"NEWSWARC_SPOOL_DIR={tmp_path / 'spool'}"]
    proc = newswarc("export", f"s3://{s3_bucket}/arch", "--out", f"s3://{s3_bucket}/ds", *spool)
    assert proc.returncode == 0, proc.stderr
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix="ds/")["Contents"])
    assert "ds/_export.json" in keys and not [k for k in keys if k.endswith((".tmp", ".spill"))]
    (tmp_path / "down").mkdir()
    for key in keys:
        if key.endswith(".parquet"):
            s3.download_file(s3_bucket, key, str(tmp_path / "down" / key.replace("/", "_")))
    assert newswarc("export", str(out), "--out", str(base / "local-for-s3"), "-q").returncode == 0
    local = pq.read_table(base / "local-for-s3")
    remote = pq.read_table(tmp_path / "down")
    assert sorted(remote.column("id").to_pylist()) == sorted(local.column("id").to_pylist())
    assert remote.schema.equals(SCHEMA)


def test_report_of_replay_reports_only_exits_2(tmp_path):
    """A replay's report has an empty quality table ({"sites": {}}): nothing to compare, exit 2."""
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "20261101T060000Z-replay-1.json").write_text(json.dumps({"quality": {"sites": {}}}))
    proc = newswarc("report", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no run reports" in proc.stderr


def test_export_date_errors_name_their_option(tmp_path):
    write_synthetic_archive(tmp_path / "archive", 20)
    for flag in ("--since", "--until"):
        proc = newswarc("export", str(tmp_path / "archive"), "--out", str(tmp_path / "out"), flag, "junk")
        assert proc.returncode == 2 and proc.stderr.startswith(f"newswarc: {flag} 'junk'"), proc.stderr
