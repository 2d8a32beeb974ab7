"""Credentials in URLs, truncated responses, billion laughs, the Public Suffix List offline."""

from __future__ import annotations

import subprocess
import sys

from tests.crawl_helpers import ROOT, read_jsonl, run_reports, write_seed
from tests.reliability.hostile import FAST, HostileServer, Reply, article_html, no_traceback, run_newswarc
from tests.warc_checks import all_records


def test_passwords_in_urls_never_reach_the_terminal_or_the_log(tmp_path):
    with HostileServer() as srv:
        srv.routes["/"] = Reply(status=500, body=b"down")
        url = srv.url.replace("http://", "http://reader:s3cr3t-pw@")
        seed = write_seed(tmp_path, url)
        log = tmp_path / "crawl.log"
        runs = [run_newswarc("seeds", str(seed)),
                run_newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), *FAST, "-s", "RETRY_TIMES=0"),
                run_newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), *FAST, "-s", "RETRY_TIMES=0",
                             "-vv", "--log-file", str(log))]
    for run in runs:
        assert "s3cr3t-pw" not in run.stdout + run.stderr
        assert no_traceback(run.stderr)
    assert "***@127.0.0.1" in runs[0].stdout
    assert "s3cr3t-pw" not in log.read_text() and "***@" in log.read_text()


def _cut_off(handler) -> None:
    body = article_html(1, "x")
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body) + 5000))
    handler.end_headers()
    handler.wfile.write(body[: len(body) // 2])
    handler.wfile.flush()
    handler.close_connection = True
    handler.connection.close()


def test_a_response_cut_off_is_archived_truncated_and_counted(tmp_path):
    with HostileServer() as srv:
        srv.routes["/2026/10/01/cut/"] = _cut_off
        srv.routes["/2026/10/01/whole/"] = Reply(body=article_html(2, srv.url + "/2026/10/01/whole/"))
        srv.routes["/"] = Reply(body=b'<html><body><a href="/2026/10/01/cut/">a</a><a href="/2026/10/01/whole/">b</a></body></html>')
        srv.routes["/robots.txt"] = Reply(headers=[("Content-Type", "text/plain")], body=b"User-agent: *\n")
        seed = write_seed(tmp_path, srv.url)
        out = tmp_path / "out"
        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST, "-s", "RETRY_TIMES=0")
    assert run.returncode == 0, run.stderr[-3000:]
    assert no_traceback(run.stderr)
    cut = [r for r in all_records(sorted(out.glob("warc/*.warc.gz"))) if r.type == "response" and r.uri.endswith("/cut/")]
    assert len(cut) == 1 and cut[0].get("WARC-Truncated") == "disconnect"
    report = run_reports(out)[-1]
    assert report["counts"]["skipped"]["crawl/truncated"] == 1
    assert [r["url"].rsplit("/", 2)[1] for r in read_jsonl(out, open_parts=True)] == ["whole"]
    assert sum("/cut/" in line for line in run.stderr.splitlines()) <= 2  # "Truncated ..." and "Skipped ..."


def test_billion_laughs_in_a_sitemap_expands_nothing_and_keeps_the_entries():
    from crawler.discovery.sitemaps import parse_sitemap

    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    body = (f'<?xml version="1.0"?><!DOCTYPE urlset [{lol}]>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<url><loc>http://x.test/a{i}</loc><news>&lol9;</news></url>" for i in range(5))
            + "</urlset>").encode()
    result = parse_sitemap(body, "http://x.test/sitemap.xml")
    assert [e.loc for e in result.entries] == [f"http://x.test/a{i}" for i in range(5)]


def test_the_public_suffix_list_is_never_fetched():
    code = (
        "import sys\n"
        "seen = []\n"
        "sys.addaudithook(lambda ev, args: seen.append(args[0]) if ev == 'socket.getaddrinfo' else None)\n"
        "import crawler.crawl.spider\n"
        "from scrapy.downloadermiddlewares.cookies import _split_domain\n"
        "import surt\n"
        "print(_split_domain('news.example.co.uk').suffix, surt.surt('http://www.example.co.uk/x'))\n"
        "print(sorted(set(map(str, seen))))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": "/nonexistent"})
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert first.startswith("co.uk ")
    assert second == "[]"  # no name looked up: no download attempted
