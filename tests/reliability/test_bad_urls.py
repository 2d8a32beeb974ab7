"""Malformed URLs on pages, in feeds, in sitemaps and in seeds.

A bad link is a counted skip (``skipped/bad_url``) and the rest of its page, feed or sitemap is
still followed; a seed with a bad URL is refused by ``newswarc seeds`` and ``newswarc crawl`` alike
with one line and exit 2.
"""

from __future__ import annotations

import pytest

from tests.crawl_helpers import read_jsonl, run_reports, write_seed
from tests.reliability.hostile import (
    FAST,
    HostileServer,
    Reply,
    article_html,
    news_site,
    no_traceback,
    run_newswarc,
)

BAD_PORTS = ["99999", "abc", "-1", "%31", "0"]


def bad_links(base_host: str) -> list[str]:
    return [f"http://{base_host}:{p}/2026/10/01/bad-{i}/" for i, p in enumerate(BAD_PORTS)] + [
        "http://[::1/2026/10/01/bad-v6/",
        f"http://{base_host}:99999",
    ]


def _add_articles(srv: HostileServer, prefix: str, n: int, first: int) -> list[str]:
    urls = []
    for i in range(n):
        path = f"/2026/10/02/{prefix}-{i}/"
        srv.routes[path] = Reply(body=article_html(first + i, srv.url + path))
        urls.append(srv.url + path)
    return urls


def test_bad_links_are_counted_skips_and_never_stop_their_page(tmp_path):
    with HostileServer() as srv:
        host = "127.0.0.1"
        bad = bad_links(host)
        # the start page: bad links first, between and after the good ones
        good = news_site(srv, 4, extra_links=bad)
        body = srv.routes["/"].body.replace(b"<h1>", b"".join(b'<a href="%s">x</a>' % u.encode() for u in bad) + b"<h1>")
        srv.routes["/"] = Reply(body=body)
        feed_articles = _add_articles(srv, "feed", 3, 100)
        items = [*bad[:3], feed_articles[0], *bad[3:], *feed_articles[1:]]
        srv.routes["/feed.xml"] = Reply(headers=[("Content-Type", "application/rss+xml")], body=(
            '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>' + "".join(
                f"<item><title>story {i}</title><link>{u}</link></item>" for i, u in enumerate(items))
            + "</channel></rss>").encode())
        sitemap_articles = _add_articles(srv, "sitemap", 3, 200)
        locs = [bad[0], *sitemap_articles[:1], *bad[1:], *sitemap_articles[1:]]
        srv.routes["/sitemap.xml"] = Reply(headers=[("Content-Type", "application/xml")], body=(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(
                f"<url><loc>{u}</loc></url>" for u in locs) + "</urlset>").encode())
        seed = write_seed(tmp_path, srv.url, feeds=[srv.url + "/feed.xml"], sitemaps=[srv.url + "/sitemap.xml"])
        out = tmp_path / "out"
        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)

    assert run.returncode == 0, run.stderr[-3000:]
    assert no_traceback(run.stderr) and "ValueError" not in run.stderr
    urls = sorted(r["url"] for r in read_jsonl(out, open_parts=True))
    assert urls == sorted(good + feed_articles + sitemap_articles)
    report = run_reports(out)[-1]
    # each bad URL once per document it is on, the broken IPv6 literal too: link and feed discovery
    # pass it on for the spider to count (absolute_http's keep_broken); the sitemap reader counts it
    assert report["counts"]["skipped"]["crawl/bad_url"] == len(bad) * 3
    assert report["counts"]["errors"] == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://127.0.0.1:abc/", "http://[::1/",
                                 "http://exa mple.com/"])
def test_a_seed_with_a_bad_url_is_refused_by_seeds_and_crawl(tmp_path, url):
    seed = tmp_path / "bad.toml"
    seed.write_text(f'name = "bad"\nstart_urls = ["{url}"]\n')
    for command in (["seeds", str(seed)], ["crawl", str(seed), "--out", str(tmp_path / "out")]):
        run = run_newswarc(*command)
        assert run.returncode == 2, (command, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "not an absolute http(s) URL" in lines[0] and "start_urls[0]" in lines[0], lines
        assert no_traceback(run.stderr)
