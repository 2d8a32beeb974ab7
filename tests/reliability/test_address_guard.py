"""The private-address guard: after DNS and for IP literals, link-local/metadata never, loopback and
private addresses only for a seed's own start URLs or a profile's allow-list."""

from __future__ import annotations

from tests.crawl_helpers import read_jsonl, run_reports, write_seed
from tests.reliability.hostile import FAST, HostileServer, Reply, article_html, no_traceback, run_newswarc


def _crawl(tmp_path, *extra):
    # the site on 127.0.0.2; an "internal service" on 127.0.0.1 that only its DNS name or a literal reaches
    with HostileServer(host="127.0.0.2") as site, HostileServer(host="127.0.0.1") as internal:
        port = internal.url.rsplit(":", 1)[1]
        for path in ("/2026/10/01/internal-a/", "/2026/10/01/internal-b/"):
            internal.routes[path] = Reply(body=article_html(90 + len(internal.routes), internal.url + path))
        site.routes["/robots.txt"] = Reply(headers=[("Content-Type", "text/plain")], body=b"User-agent: *\n")
        site.routes["/2026/10/01/public/"] = Reply(body=article_html(1, site.url + "/2026/10/01/public/"))
        links = ["/2026/10/01/public/", f"http://localhost:{port}/2026/10/01/internal-a/",
                 f"http://127.0.0.1:{port}/2026/10/01/internal-b/", "http://169.254.169.254/latest/meta-data/"]
        site.routes["/"] = Reply(body=("<html><body>" + "".join(f'<a href="{u}">x</a>' for u in links)
                                       + "</body></html>").encode())
        seed = write_seed(tmp_path, site.url, allowed_domains=["127.0.0.2", "127.0.0.1", "localhost",
                                                               "169.254.169.254"])
        out = tmp_path / "out"
        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST, "-s", "RETRY_TIMES=0", *extra)
        return run, out, list(internal.hits)


def test_private_and_metadata_addresses_are_refused_counted_and_named_once(tmp_path):
    run, out, internal_hits = _crawl(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert no_traceback(run.stderr)
    assert internal_hits == []  # nothing reached the internal service
    assert [r["url"].rsplit("/", 2)[1] for r in read_jsonl(out, open_parts=True)] == ["public"]
    refused = [line for line in run.stderr.splitlines() if "Refused to connect" in line]
    assert len(refused) == 3, run.stderr[-3000:]  # each host named once
    assert sum("169.254.169.254" in line and "metadata" in line for line in refused) == 1
    assert sum("localhost is 127.0.0.1" in line for line in refused) == 1  # caught after DNS
    report = run_reports(out)[-1]
    assert report["counts"]["skipped"]["crawl/private_address"] == 3
    assert report["counts"]["errors"] == 0


def test_a_profile_allow_list_opens_a_private_range_but_never_metadata(tmp_path):
    run, out, internal_hits = _crawl(tmp_path, "-s", "NEWSWARC_CRAWL_ALLOW_NETWORKS=127.0.0.0/8,169.254.0.0/16")
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(internal_hits) == ["/2026/10/01/internal-a/", "/2026/10/01/internal-b/"]
    assert len(read_jsonl(out, open_parts=True)) == 3
    refused = [line for line in run.stderr.splitlines() if "Refused to connect" in line]
    assert len(refused) == 1 and "169.254.169.254" in refused[0]
