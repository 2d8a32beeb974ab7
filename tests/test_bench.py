"""Smoke tests of the benchmark harness: static site servers, process measurement, ``python -m bench`` end to end."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench import bench_quality, realsite, report
from bench.harness import ROOT, StaticSite, nginx_binary, read_rss_kib, run_measured
from crawler.discovery.pagekind import looks_like_article_url


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


def _real_pages(directory: Path, n: int) -> Path:
    """A tiny data set in the WCXB layout: ``n`` articles (some with relative links and a relative <base>), 2 others."""
    index = {}
    (directory / "html").mkdir(parents=True)
    for i in range(1, n + 3):
        ident, kind = f"{i:04d}", "article" if i <= n else "forum"
        index[ident] = {"url": f"https://publisher{i % 3}.example/news/story-number-{i}.html", "page_type": kind,
                        "domain": f"publisher{i % 3}.example"}
        base = '<base href="/">' if i % 4 == 0 else ""
        html = (f"<!DOCTYPE html><html><head>{base}<title>Story &amp; number {i}</title></head><body><article>"
                f"<h1>Story {i}</h1><p>{'Words of a real page. ' * 40}</p><a href='/about/'>about</a>"
                f"<a href='related-{i}.html'>related</a></article></body></html>")
        (directory / "html" / f"{ident}.html.gz").write_bytes(gzip.compress(html.encode()))
    (directory / "pages.json").write_text(json.dumps(index), encoding="utf-8")
    return directory


def _locs(body: bytes, tag: str = "loc") -> list[str]:
    return [x.decode() for x in re.findall(rf"<{tag}>([^<]+)</{tag}>".encode(), body)]


def _links(body: bytes, pattern: str) -> list[str]:
    return [x.decode() for x in re.findall(rf'<a [^>]*href="([^"]+)"[^>]*{pattern}'.encode(), body)]


@pytest.mark.parametrize("use_nginx", [
    pytest.param(True, marks=pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed")),
    False,
])
def test_real_page_site_is_crawlable_through_sitemaps_feed_and_pagination(tmp_path: Path, use_nginx: bool) -> None:
    data = _real_pages(tmp_path / "data", 23)
    assert realsite.available(data) and not realsite.available(tmp_path / "nowhere")

    def build(www: Path, base_url: str) -> int:
        return realsite.write_site(data, www, base_url)

    with StaticSite(tmp_path / "site", use_nginx=use_nginx, build=build, label="real pages") as site:
        assert site.n_articles == 23  # the forum pages are not articles

        def get(url: str) -> tuple[int, str, bytes]:
            parts = urlsplit(url)
            assert f"{parts.scheme}://{parts.netloc}" == site.url  # every link of the site points at this server
            return _get(site.port, parts.path + (f"?{parts.query}" if parts.query else ""))

        robots = _get(site.port, "/robots.txt")[2].decode()
        sitemaps = re.findall(r"^Sitemap: (\S+)$", robots, re.M)
        assert sitemaps == [f"{site.url}/sitemap_index.xml", f"{site.url}/news-sitemap.xml"]
        post_sitemaps = _locs(get(sitemaps[0])[2])
        news = get(sitemaps[1])
        assert news[1].startswith("application/xml") and b"<news:publication_date>" in news[2]
        articles = set(_locs(news[2]))
        assert len(articles) == 23 and all(looks_like_article_url(u) for u in articles)
        assert {u for sm in post_sitemaps for u in _locs(get(sm)[2])} == articles
        status, ctype, feed = get(f"{site.url}/feed/")
        assert (status, ctype.split(";")[0]) == (200, "application/rss+xml")
        links = _locs(feed, "link")  # the channel's, then the 20 newest items' (some with utm_ parameters)
        assert len(links) == 21 and {u.split("?")[0] for u in links[1:]} <= articles
        for url in articles:  # the original page, with its original URL as the first <base>
            status, ctype, body = get(url)
            assert status == 200 and ctype.startswith("text/html")
            assert re.search(rb"<head><base href=\"https://publisher\d\.example/news/story-number-\d+\.html\">", body)
            assert b"Words of a real page." in body
        # the home page and each section page through its numbered pagination reach every article
        listings = [f"{site.url}/", *(f"{site.url}/category/{s}/" for s in realsite.SECTIONS)]
        found: dict[str, set[str]] = {}
        for start in listings:
            url, seen = start, set()
            while url:
                status, _, body = get(url)
                assert status == 200 and f'href="{site.url}/feed/"'.encode() in body
                seen.update(_links(body, 'rel="bookmark"'))
                url = next(iter(_links(body, ">Next<")), None)
            found[start] = seen
        assert found[f"{site.url}/"] == articles
        assert set().union(*(found[u] for u in listings[1:])) == articles
        assert not any(looks_like_article_url(u) for u in listings)
        assert _get(site.port, "/page/3/")[0] == 200 and _get(site.port, "/page/4/")[0] == 404  # 10 a page


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
                           "--no-variants", "--sites", "demo", "--results", str(tmp_path / "results"), "--doc", str(doc)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    crawl = json.loads((tmp_path / "results" / "latest.json").read_text())["sections"]["crawl"]
    full, bare = crawl["full"], crawl["bare"]
    assert full["pages"] == bare["pages"] > 40  # same discovery with archive and extraction off
    assert full["articles"] >= 30 and bare["articles"] == 0
    assert full["warc_bytes"] > 0 and bare["warc_bytes"] == 0
    assert full["cpu_s"] > 0 and full["main_rss_kib"] > 20 * 1024
    assert crawl["ratios"]["full_over_bare_wall"] > 0
    floor = crawl["floor"]  # bare crawl + a plain trafilatura loop over the full crawl's HTML, same run
    assert floor["cpu_s"] == floor["bare_cpu_s"] + floor["loop_cpu_s"] and floor["loop_cpu_s"] > 0
    assert crawl["ratios"]["full_wall_over_floor_cpu"] == full["wall_s"] / floor["cpu_s"]
    by_kind = full["process_cpu_s"]  # where the CPU went: the reactor, the WARC writer, the extraction workers
    assert by_kind["main"] > 0 and by_kind["spawned"] > 0 and by_kind["forkserver"] > 0, by_kind
    assert sum(by_kind.values()) <= full["cpu_s"] + 0.01, (by_kind, full["cpu_s"])
    text = doc.read_text()
    assert "| newswarc (WARC + extraction + text + JSONL) |" in text and text.rstrip().endswith("MY NOTES")
    assert "newswarc, archive + extraction off" in proc.stdout
    assert "the floor (bare crawl's CPU" in text and "section crawl: done in" in proc.stderr
    assert "the full crawl's CPU by process: " in text and "extraction workers" in text


def test_replay_bench_reports_the_median_round() -> None:
    from bench import bench_replay
    from crawler.demo.site import build_site

    res = bench_replay.run(articles=20, memory=False, rounds=3)
    public = sum(not a.private for a in build_site(20).articles)
    assert res["rounds"] == 3 and len(res["round_ratios"]) == 3
    assert res["time_ratio_vs_trafilatura"] == sorted(res["round_ratios"])[1]
    assert res["replay"]["articles"] == public and res["sequential_trafilatura"]["articles"] >= public
    assert res["ratio_vs_trafilatura"] > 0


def test_quality_section_skips_missing_data_sets_with_one_line_and_keeps_the_doc(tmp_path: Path) -> None:
    """Without the data sets nothing is measured: the doc keeps its last measured table."""
    doc = tmp_path / "extraction.md"
    measured = f"# Extraction\n\nhand-written text\n\n{bench_quality.BEGIN}\n\nbody 0.9\n\n{bench_quality.END}\n"
    doc.write_text(measured, encoding="utf-8")
    missing = tmp_path / "nowhere"
    cmd = [sys.executable, "-m", "bench", "--only", "quality", "--wcxb", str(missing), "--extraction-dev", str(missing),
           "--scorers", str(missing), "--results", str(tmp_path / "results"), "--doc", str(tmp_path / "bench.md"),
           "--quality-doc", str(doc)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert doc.read_text(encoding="utf-8") == measured
    assert "quality: WCXB dev skipped" in proc.stderr and "quality: extraction-dev skipped" in proc.stderr
    assert "left as it was" in proc.stderr
    assert "quality" not in json.loads((tmp_path / "results" / "latest.json").read_text())["sections"]


def test_quality_table_is_replaced_between_its_markers(tmp_path: Path) -> None:
    doc = tmp_path / "extraction.md"
    doc.write_text("# Extraction\n\nhand-written text\n", encoding="utf-8")
    section = {"wcxb": {"skipped": "no data"}, "extraction_dev": {"skipped": "no data"}, "measured_at": "now"}
    bench_quality.write_doc(doc, section)
    bench_quality.write_doc(doc, section)  # a second run replaces the table instead of appending another one
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Extraction\n\nhand-written text\n")
    assert text.count("WCXB dev: skipped") == 1 and text.count(bench_quality.BEGIN) == 1


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


def test_real_page_sections_skip_with_one_line_without_the_data_set(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "--only", "crawl,replay", "--sites", "real", "--real-pages",
                           str(tmp_path / "nowhere"), "--results", str(tmp_path / "results"), "--doc",
                           str(tmp_path / "bench.md")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    skipped = [line for line in proc.stderr.splitlines() if "skipped" in line]
    assert len(skipped) == 1 and "real-page site skipped: no data set at" in skipped[0]
    sections = json.loads((tmp_path / "results" / "latest.json").read_text())["sections"]
    assert set(sections) == {"crawl_real", "replay_real"} and all("skipped" in s for s in sections.values())
    text = (tmp_path / "bench.md").read_text()
    assert "### Crawl (real-page site)" in text and "### Replay (real-page site)" in text


def test_doc_rewrite_keeps_the_sections_not_measured_again() -> None:
    old = report.markdown({"machine": report.machine_info(), "sections": {}}, "MY NOTES",
                          {"memory": "### Memory growth\n\nmeasured last week\n", "replay_real": "### Replay\n\nold\n"})
    assert report.old_blocks(old) == {"replay_real": "### Replay\n\nold\n\n",
                                      "memory": "### Memory growth\n\nmeasured last week\n\n"}
    new = report.markdown({"machine": report.machine_info(), "sections": {"replay_real": {"skipped": "no pages"}}},
                          report.existing_notes(old), report.old_blocks(old))
    assert "measured last week" in new and "old\n" not in new and "skipped: no pages" in new
    assert new.index("<!-- section: replay_real -->") < new.index("<!-- section: memory -->")
    assert new.rstrip().endswith("MY NOTES")
