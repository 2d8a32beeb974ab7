"""Smoke tests of the benchmark harness: static site servers, process measurement, ``python -m bench`` end to end."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness import ROOT, StaticSite, nginx_binary, read_rss_kib, run_measured


def _get(port: int, path: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("use_nginx", [
    pytest.param(True, marks=pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed")),
    False,
])
def test_static_site_serves_pages_feeds_and_sitemaps(tmp_path: Path, use_nginx: bool) -> None:
    with StaticSite(tmp_path, 20, use_nginx=use_nginx) as site:
        assert site.server.startswith("nginx" if use_nginx else "python")
        status, ctype, body = _get(site.port, "/")
        assert status == 200 and ctype.startswith("text/html")
        assert site.url.encode() in body  # absolute links point at this server
        assert _get(site.port, "/feed/")[1].startswith("application/rss+xml")
        assert _get(site.port, "/feed/atom/")[1].startswith("application/atom+xml")
        status, ctype, body = _get(site.port, "/sitemap_index.xml")
        assert (status, ctype.split(";")[0]) == (200, "application/xml") and b"<sitemapindex" in body
        assert _get(site.port, "/robots.txt")[0] == 200
        port = site.port
    with pytest.raises(OSError):
        _get(port, "/")  # the server is gone


def test_run_measured_counts_the_child_and_its_children(tmp_path: Path) -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
    parent = (f"import subprocess, sys\nblob = bytearray(80 * 2**20)\n"
              f"subprocess.run([sys.executable, '-c', {burn!r}], check=True)\nsys.exit(3)\n")
    m = run_measured([sys.executable, "-c", parent], log=tmp_path / "log")
    assert m.returncode == 3
    assert m.processes >= 2
    assert m.cpu_s >= 0.4 > m.main_cpu_s
    assert m.main_rss_kib >= 80 * 1024
    assert m.wall_s >= 0.4


def test_bench_runs_end_to_end_on_a_tiny_site(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("old\n<!-- hand-written notes below: kept when python -m bench rewrites this file -->\nMY NOTES\n")
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--articles", "40", "--only", "crawl",
                           "--no-variants", "--results", str(tmp_path / "results"), "--doc", str(doc)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    crawl = json.loads((tmp_path / "results" / "latest.json").read_text())["sections"]["crawl"]
    full, bare = crawl["full"], crawl["bare"]
    assert full["pages"] == bare["pages"] > 40  # same discovery with archive and extraction off
    assert full["articles"] >= 30 and bare["articles"] == 0
    assert full["warc_bytes"] > 0 and bare["warc_bytes"] == 0
    assert full["cpu_s"] > 0 and full["main_rss_kib"] > 20 * 1024
    assert crawl["ratios"]["full_over_bare_wall"] > 0
    text = doc.read_text()
    assert "| newswarc (WARC + extraction + text + JSONL) |" in text and text.rstrip().endswith("MY NOTES")
    assert "newswarc, archive + extraction off" in proc.stdout


def test_replay_bench_reports_the_median_round() -> None:
    from bench import bench_replay
    from crawler.demo.site import build_site

    res = bench_replay.run(articles=20, memory=False, rounds=3)
    public = sum(not a.private for a in build_site(20).articles)
    assert res["rounds"] == 3 and len(res["round_ratios"]) == 3
    assert res["ratio_vs_trafilatura"] == sorted(res["round_ratios"])[1]
    assert res["replay"]["articles"] == public and res["sequential_trafilatura"]["articles"] >= public
    assert res["time_ratio_vs_trafilatura"] > 0


def test_quality_section_skips_missing_data_sets_with_one_line_and_keeps_the_doc(tmp_path: Path) -> None:
    doc = tmp_path / "extraction.md"
    doc.write_text("# Extraction\n\nhand-written text\n", encoding="utf-8")
    missing = tmp_path / "nowhere"
    cmd = [sys.executable, "-m", "bench", "--only", "quality", "--wcxb", str(missing), "--extraction-dev", str(missing),
           "--scorers", str(missing), "--results", str(tmp_path / "results"), "--doc", str(tmp_path / "bench.md"),
           "--quality-doc", str(doc)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Extraction\n\nhand-written text\n")
    assert text.count("skipped") == 2 and "WCXB dev: skipped" in text and "extraction-dev: skipped" in text
    assert "quality: WCXB dev skipped" in proc.stderr
    # a second run replaces the table between its markers instead of appending another one
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    assert doc.read_text(encoding="utf-8").count("WCXB dev: skipped") == 1


BIG_PARENT = """
import subprocess, sys
from pathlib import Path
from bench.harness import read_rss_kib, via_fresh_parent
ballast = bytearray(300 * 2**20)
for i in range(0, len(ballast), 4096):
    ballast[i] = 1  # 300 MiB resident, as a long pytest run is
small = [sys.executable, "-c", "x = bytearray(20 * 2**20)"]
rss_file = Path(sys.argv[1])
direct = subprocess.run(small, capture_output=True)
assert subprocess.run(via_fresh_parent(small, rss_file)).returncode == 0
import resource
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, read_rss_kib(rss_file) // 1024)
"""


def test_a_commands_peak_rss_is_its_own_not_its_big_parents(tmp_path: Path) -> None:
    """A 20 MiB command run from a 300 MiB process: plain ``ru_maxrss`` says 300+, the fresh parent ~30."""
    proc = subprocess.run([sys.executable, "-c", BIG_PARENT, str(tmp_path / "rss")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    direct_mib, measured_mib = map(int, proc.stdout.split())
    assert direct_mib >= 300  # the kernel's carry-over this works around (if it ever goes, so can the parent)
    assert 20 <= measured_mib < 100
    assert read_rss_kib(tmp_path / "missing") == 0
