"""End-to-end crawls of the demo news site with the real command: discovery, robots, scope."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from urllib.parse import urlsplit

import pytest

from crawler.demo.server import DemoServer
from crawler.demo.site import build_site
from tests.crawl_helpers import FAST, ROOT, newswarc, read_jsonl, run_reports, write_seed


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One full crawl of a 120-article demo site; tests look at what it fetched and wrote."""
    site = build_site(120)
    tmp = tmp_path_factory.mktemp("crawl")
    with DemoServer(site) as server:
        seed = write_seed(tmp, server.url)
        out = tmp / "out"
        result = newswarc("crawl", str(seed), "--settings", str(ROOT / "settings/default.toml"),
                          "--out", str(out), *FAST)
        log = list(server.log)
        yield site, server.url, out, result, log


def paths(rows):
    return [urlsplit(r["url"]).path for r in rows]


def test_crawl_exits_zero_with_summary(crawled):
    _, _, out, result, _ = crawled
    assert result.returncode == 0, result.stderr[-3000:]
    assert "articles" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_public_article_exactly_once_and_nothing_else(crawled):
    site, _, out, _, _ = crawled
    rows = read_jsonl(out)
    got = Counter(paths(rows))
    assert all(n == 1 for n in got.values()), [p for p, n in got.items() if n > 1]
    public = {a.path for a in site.articles if not a.private}
    assert set(got) == public


@pytest.mark.parametrize("route", ["sitemap", "feed", "section"])
def test_articles_reachable_only_through_one_route_are_found(crawled, route):
    site, _, out, _, _ = crawled
    only = {a.path for a in site.articles if a.routes == {route}}
    assert len(only) >= 10
    assert only <= set(paths(read_jsonl(out)))


def test_atom_only_articles_are_found(crawled):
    site, _, out, _, _ = crawled
    atom_only = {a.path for a in site.articles if getattr(a, "atom_only", False)}
    assert atom_only and atom_only <= set(paths(read_jsonl(out)))


def test_robots_disallowed_area_is_never_fetched(crawled):
    site, _, out, _, log = crawled
    fetched = [path for _, path, _ in log]
    assert "/robots.txt" in fetched
    assert not [p for p in fetched if p.startswith(("/private/", "/wp-admin/"))]
    assert not {a.path for a in site.private} & set(paths(read_jsonl(out)))


def test_no_url_fetched_twice_and_no_tracking_parameters(crawled):
    _, _, _, _, log = crawled
    counts = Counter(path for method, path, _ in log if method == "GET")
    assert [p for p, n in counts.items() if n > 1] == []
    assert not [p for p in counts if "utm_" in p or "#" in p]


def test_requests_identify_the_crawler(crawled):
    _, _, _, _, log = crawled
    agents = {headers.get("User-Agent", "") for _, _, headers in log}
    assert len(agents) == 1 and "newswarc/" in agents.pop()
    encodings = {headers.get("Accept-Encoding", "") for _, _, headers in log}
    assert encodings == {"gzip, deflate, br"}


def test_pages_other_than_articles_are_crawled_not_emitted(crawled):
    _, _, out, _, log = crawled
    fetched = {path for _, path, _ in log}
    assert "/about/" in fetched or "/contact/" in fetched
    assert any(p.startswith("/category/") for p in fetched)
    assert any(p.startswith("/tag/") for p in fetched)
    emitted = set(paths(read_jsonl(out)))
    assert not [p for p in emitted if p.startswith(("/category/", "/tag/", "/author/", "/about", "/contact"))]


def test_run_report(crawled):
    site, _, out, _, _ = crawled
    (report,) = run_reports(out)
    public = sum(1 for a in site.articles if not a.private)
    assert report["status"] == "completed"
    assert report["counts"]["articles"] == public
    assert report["counts"]["robots_forbidden"] > 0
    assert report["counts"]["offsite"] > 0
    assert report["counts"]["errors"] == 0
    assert report["bytes"]["downloaded"] > 0
    assert report["started"] < report["finished"]


def test_output_layout(crawled):
    _, _, out, _, _ = crawled
    # (.newswarc-output.lock: the output's lock while a command writes it, docs/reliability.md)
    assert sorted(p.name for p in out.iterdir()) == [".newswarc-output.lock", "articles", "runs", "state", "text", "warc"]
    rows = read_jsonl(out)
    for row in rows[:20]:
        text = (out / row["text_path"]).read_text(encoding="utf-8")
        assert text.split("\n\n", 1)[1].strip() == row["text"].strip()
        assert row["warc_file"].startswith("warc/") and (out / row["warc_file"]).is_file()
    assert not list(out.rglob("*.open")) and not list(out.rglob("*.tmp"))


def test_max_pages_and_depth(tmp_path, demo_server):
    seed = write_seed(tmp_path, demo_server.url, max_depth=1)
    out = tmp_path / "out"
    result = newswarc("crawl", str(seed), "--out", str(out), "--max-pages", "15", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    (report,) = run_reports(out)
    # robots.txt (Scrapy's own request) comes on top of the 15 pages the spider asked for
    by_route = report["counts"]["requests_by_route"]
    assert sum(by_route.values()) == report["counts"]["requests"]
    assert sum(v for route, v in by_route.items() if route != "robots.txt") <= 15


def test_article_url_patterns_decide_what_is_an_article(tmp_path, demo_server):
    seed = write_seed(tmp_path, demo_server.url, article_url_patterns=["/2026/(08|09)/"], max_depth=1)
    out = tmp_path / "out"
    result = newswarc("crawl", str(seed), "--out", str(out), *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    got = paths(read_jsonl(out))
    assert got and all(p.startswith(("/2026/08/", "/2026/09/")) for p in got)


def test_scrapy_crawl_works_too(tmp_path, demo_server):
    import subprocess
    import sys

    seed = write_seed(tmp_path, demo_server.url, max_pages=10)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "news", "-a", f"seed={seed}",
                             "-s", f"NEWSWARC_OUTPUT_URI={out}", "-s", "AUTOTHROTTLE_ENABLED=False"],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Spider closed (finished)" in result.stderr
    assert list((out / "warc").glob("*.warc.gz"))


# --- CLI exit codes ------------------------------------------------------------------------

def test_help_and_version():
    result = newswarc("--help")
    assert result.returncode == 0 and "crawl" in result.stdout and "replay" in result.stdout
    assert newswarc("crawl", "--help").returncode == 0
    assert newswarc("--version").stdout.startswith("newswarc ")


def test_bad_seed_is_one_line_exit_2(tmp_path):
    seed = tmp_path / "bad.toml"
    seed.write_text('name = "bad"\nstart_urls = ["https://a.example/"]\narticle_url_patterns = ["(x"]\n')
    result = newswarc("crawl", str(seed), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"{seed}: article_url_patterns[0]: bad regex" in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_seed_exit_2(tmp_path):
    result = newswarc("crawl", "no-such-site", "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_unwritable_output_exit_3(tmp_path, demo_server):
    seed = write_seed(tmp_path, demo_server.url)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = newswarc("crawl", str(seed), "--out", str(blocker / "out"))
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


def test_dead_host_exit_1(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    seed = write_seed(tmp_path, f"http://127.0.0.1:{port}", name="dead")
    result = newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), "-s", "RETRY_TIMES=0", *FAST)
    assert result.returncode == 1, result.stderr
    assert "no page could be fetched" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_profile_key_exit_2(tmp_path, demo_server):
    seed = write_seed(tmp_path, demo_server.url)
    profile = tmp_path / "p.toml"
    profile.write_text("[crawl]\nobey_robots = \"yes\"\n")
    result = newswarc("crawl", str(seed), "--settings", str(profile))
    assert result.returncode == 2 and f"{profile}: crawl.obey_robots: expected bool" in result.stderr


def test_bad_pages_are_counted_skips_not_crashes(tmp_path, demo_server):
    """Errors, binary and huge bodies, wrong encodings, broken HTML: the crawl completes and counts them."""
    base = demo_server.url
    edges = ["500", "404-page", "big", "binary", "latin1", "cp1252-nocharset", "sjis", "broken", "empty"]
    seed = tmp_path / "edges.toml"
    urls = ", ".join(f'"{base}/_edge/{e}"' for e in edges)
    seed.write_text(f'name = "edges"\nstart_urls = [{urls}]\nmax_depth = 0\n'
                    'article_url_patterns = ["/_edge/"]\n', encoding="utf-8")
    out = tmp_path / "out"
    result = newswarc("crawl", str(seed), "--out", str(out), "-s", "NEWSWARC_ARCHIVE_MAX_BODY=200000", *FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    (report,) = run_reports(out)
    counts = report["counts"]
    assert counts["errors_by_kind"].get("http_500") == 1 and counts["errors_by_kind"].get("http_404") == 1
    assert counts["skipped"].get("crawl/truncated") == 1           # /_edge/big beyond the body limit
    assert counts["skipped"].get("extract/binary") == 1            # random bytes served as text/html
    assert any(k.startswith("extract/") for k in counts["skipped"])
    rows = {urlsplit(r["url"]).path: r for r in read_jsonl(out)}
    site = demo_server.site
    for path in ("/_edge/latin1", "/_edge/cp1252-nocharset", "/_edge/sjis", "/_edge/broken"):
        article = site.edge_articles[path]
        assert path in rows, (path, counts["skipped"])
        assert rows[path]["text"].splitlines()[0] == article.paragraphs[0], path
    assert "Zürich" in rows["/_edge/latin1"]["title"]
    assert "\u201c" in rows["/_edge/cp1252-nocharset"]["text"]
    from tests.warc_checks import check_warc, read_records

    (warc,) = sorted((out / "warc").glob("*.warc.gz"))
    check_warc(warc)
    truncated = [r for r in read_records(warc) if r.get("WARC-Truncated")]
    assert [r.uri.rsplit("/", 1)[1] for r in truncated] == ["big"]


def test_index_command_writes_pywb_cdxj(crawled, tmp_path):
    import json

    _, _, out, _, _ = crawled
    warcs = sorted(str(p) for p in (out / "warc").glob("*.warc.gz"))
    index = tmp_path / "index.cdxj"
    result = newswarc("index", *warcs, "-o", str(index))
    assert result.returncode == 0, result.stderr
    lines = index.read_text().splitlines()
    assert lines and lines == sorted(lines)
    key, stamp, fields = lines[0].split(" ", 2)
    assert len(stamp) == 14 and {"url", "offset", "length", "filename"} <= set(json.loads(fields))
    assert newswarc("index", str(tmp_path / "nope.warc.gz")).returncode == 2


def test_seeds_command_validates_shipped_seeds():
    result = newswarc("seeds")
    assert result.returncode == 0, result.stderr
    assert "italy24press" in result.stdout and "demo" in result.stdout


def test_crawl_jsonl_to_stdout_is_only_json(tmp_path, demo_server):
    import json

    seed = write_seed(tmp_path, demo_server.url, max_pages=25)
    result = newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), "--jsonl", "-", *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all(r["site"] == "demo" and r["text"] for r in rows)
    assert len(rows) == len(read_jsonl(tmp_path / "out"))


def test_progress_line_counts():
    from types import SimpleNamespace

    from crawler.cli.progress import CrawlProgress

    stats = {"downloader/response_count": 10, "newswarc/extract/articles": 4, "scheduler/enqueued": 30,
             "scheduler/dequeued": 27}
    spider = SimpleNamespace(_frontier=[1, 2])
    crawler = SimpleNamespace(stats=SimpleNamespace(get_stats=lambda: stats), spider=spider)
    meter = CrawlProgress([crawler, crawler], total_pages=50)
    assert meter.head(meter.totals()) == "pages 20/50  articles 8  queue 10"
    demo = CrawlProgress([crawler], total_articles=9)
    assert demo.head(demo.totals()) == "pages 10  articles 4/9  queue 5"


# Runs `newswarc crawl` in this process's child, counting the extraction pools and WARC writer
# processes it starts (the real ones: the constructors are only wrapped to note each start).
_COUNT_WORKERS = """
import json, sys
from crawler.cli.main import main
from crawler.extract.pool import ExtractionPool
from crawler.warc.writer_process import WriterHost

started = {"pools": [], "writers": []}
pool_init, host_init = ExtractionPool.__init__, WriterHost.__init__

def counting_pool(self, *args, **kwargs):
    pool_init(self, *args, **kwargs)
    started["pools"].append(self.workers)

def counting_host(self):
    host_init(self)
    started["writers"].append(self.process.pid)

ExtractionPool.__init__, WriterHost.__init__ = counting_pool, counting_host
code = main(sys.argv[1:])
print(json.dumps(started))
sys.exit(code)
"""


def test_two_seeds_in_one_command_share_one_pool_and_one_writer_process(tmp_path, demo_server, fresh_demo_server):
    other = fresh_demo_server(n_articles=30, seed=7)
    seed_a = write_seed(tmp_path, demo_server.url, name="gazette", max_pages=15)
    seed_b = write_seed(tmp_path, other.url.replace("127.0.0.1", "localhost"), name="other", max_pages=15)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", _COUNT_WORKERS, "crawl", str(seed_a), str(seed_b),
                             "--out", str(out), *FAST, "-s", "NEWSWARC_EXTRACT_WORKERS=2"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    started = json.loads(result.stdout.strip().splitlines()[-1])
    assert started["pools"] == [2], started  # one pool of 2 workers, not 2 x 2
    assert len(started["writers"]) == 1, started
    assert {r["site"] for r in read_jsonl(out)} == {"gazette", "other"}
    names = [p.name for p in (out / "warc").glob("*.warc.gz")]
    assert len(names) >= 2 and all(n.endswith(f"-{started['writers'][0]}.warc.gz") for n in names)  # one file each


def test_two_seeds_in_one_command(tmp_path, demo_server, fresh_demo_server):
    other = fresh_demo_server(n_articles=30, seed=7)
    seed_a = write_seed(tmp_path, demo_server.url, name="gazette", max_pages=20)
    seed_b = write_seed(tmp_path, other.url.replace("127.0.0.1", "localhost"), name="other", max_pages=20)
    out = tmp_path / "out"
    result = newswarc("crawl", str(seed_a), str(seed_b), "--out", str(out), *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = run_reports(out)
    assert sorted(r["seed"] for r in reports) == ["gazette", "other"]
    assert len({r["run_id"] for r in reports}) == 1
    sites = {r["site"] for r in read_jsonl(out)}
    assert sites == {"gazette", "other"}
    names = [p.name for p in (out / "warc").glob("*.warc.gz")]
    assert len(names) == len(set(names)) >= 2


ANALYSIS_THREADS = r"""
import json, sys, threading
import crawler.crawl.spider as spider
from crawler.cli.main import main

seen, running, most = set(), [0], [0]
lock = threading.Lock()
real = spider.analyse_page
def recording(*args, **kwargs):
    with lock:
        running[0] += 1
        most[0] = max(most[0], running[0])
        seen.add(threading.current_thread().name)
    try:
        return real(*args, **kwargs)
    finally:
        with lock:
            running[0] -= 1
spider.analyse_page = recording
code = main(sys.argv[1:])
print(json.dumps({"threads": sorted(seen), "most_at_once": most[0]}))
sys.exit(code)
"""


def test_pages_are_analysed_in_one_cpu_thread_off_the_reactor(tmp_path, demo_server):
    """Page analysis (parse, classify, vet links) is GIL-bound Python: it runs in the one CPU
    thread, never on the reactor thread and never in several threads at once (they would only take
    the GIL from the reactor in turns)."""
    seed = write_seed(tmp_path, demo_server.url)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", ANALYSIS_THREADS, "crawl", str(seed), "--out", str(out),
                           "--max-pages", "40", "-q", *FAST], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {"threads": ["PoolThread-newswarc-cpu-0"], "most_at_once": 1}, seen
