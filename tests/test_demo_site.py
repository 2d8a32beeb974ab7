"""The demo news site over real HTTP: discovery files, wire details, and its ground truth."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections import deque
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from crawler.demo.server import DemoServer
from crawler.demo.site import DemoSite, build_site

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"


class Fetched:
    def __init__(self, resp: http.client.HTTPResponse):
        self.status = resp.status
        self.msg = resp.msg
        self.body = resp.read()

    def header(self, name: str) -> str | None:
        return self.msg.get(name)


def fetch(server: DemoServer, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Fetched:
    """One request, redirects not followed (http.client never follows them)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        return Fetched(conn.getresponse())
    finally:
        conn.close()


def local_path(server: DemoServer, url: str) -> str:
    """The path of a same-site URL, with query and fragment dropped (what a canonicalizer would keep)."""
    parts = urlsplit(url)
    assert parts.netloc == f"{server.host}:{server.port}", url
    return parts.path


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.link_tags: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"] or "")
        elif tag == "link":
            self.link_tags.append(a)


def parse_links(body: bytes) -> Links:
    p = Links()
    p.feed(body.decode("utf-8"))
    return p


def xml_locs(body: bytes) -> tuple[str, list[str]]:
    root = ET.fromstring(body)
    return root.tag, [e.text or "" for e in root.iter(f"{SM}loc")]


def public(site: DemoSite, route: str) -> set[str]:
    return {a.path for a in site.articles if route in a.routes}


# ----- robots, sitemaps, feeds

def test_robots_txt(demo_server: DemoServer) -> None:
    r = fetch(demo_server, "/robots.txt")
    assert r.status == 200 and r.header("Content-Type").startswith("text/plain")
    lines = r.body.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /private/" in lines and "Disallow: /wp-admin/" in lines
    assert f"Sitemap: {demo_server.url}/sitemap_index.xml" in lines
    assert f"Sitemap: {demo_server.url}/news-sitemap.xml" in lines


def test_sitemaps_nest_gzip_and_hold_exactly_the_sitemap_articles(demo_server: DemoServer,
                                                                  demo_site: DemoSite) -> None:
    tag, children = xml_locs(fetch(demo_server, "/sitemap_index.xml").body)
    assert tag == f"{SM}sitemapindex"
    assert [local_path(demo_server, u) for u in children] == [
        "/post-sitemap1.xml", "/post-sitemap2.xml", "/archive-sitemap.xml.gz", "/page-sitemap.xml"]

    tag, nested = xml_locs(fetch(demo_server, "/post-sitemap2.xml").body)
    assert tag == f"{SM}sitemapindex" and [local_path(demo_server, u) for u in nested] == ["/post-sitemap2a.xml"]

    gz = fetch(demo_server, "/archive-sitemap.xml.gz", {"Accept-Encoding": "gzip"})
    assert gz.header("Content-Type") == "application/x-gzip" and gz.header("Content-Encoding") is None
    assert gz.body[:2] == b"\x1f\x8b"
    tag, archived = xml_locs(gzip.decompress(gz.body))
    assert tag == f"{SM}urlset" and archived

    found: list[str] = list(archived)
    for path in ("/post-sitemap1.xml", "/post-sitemap2a.xml"):
        body = fetch(demo_server, path).body
        tag, locs = xml_locs(body)
        assert tag == f"{SM}urlset" and locs
        assert len(ET.fromstring(body).findall(f"{SM}url/{SM}lastmod")) == len(locs)
        found += locs
    paths = [local_path(demo_server, u) for u in found]
    assert len(paths) == len(set(paths))  # each article in one file
    assert set(paths) == public(demo_site, "sitemap")
    assert not any(p.startswith("/private/") for p in paths)

    _, pages = xml_locs(fetch(demo_server, "/page-sitemap.xml").body)
    page_paths = {local_path(demo_server, u) for u in pages}
    assert {"/about/", "/contact/"} <= page_paths
    assert not page_paths & {a.path for a in demo_site.articles}


def test_news_sitemap(demo_server: DemoServer, demo_site: DemoSite) -> None:
    root = ET.fromstring(fetch(demo_server, "/news-sitemap.xml").body)
    urls = root.findall(f"{SM}url")
    assert len(urls) == 30
    newest = sorted((a for a in demo_site.articles if "sitemap" in a.routes), key=lambda a: a.published)[-30:]
    by_path = {a.path: a for a in newest}
    for url in urls:
        a = by_path[local_path(demo_server, url.findtext(f"{SM}loc"))]
        news = url.find(f"{NEWS}news")
        assert news.findtext(f"{NEWS}publication/{NEWS}name") == "The Demo Gazette"
        assert news.findtext(f"{NEWS}publication/{NEWS}language") == "en"
        assert news.findtext(f"{NEWS}title") == a.title
        assert news.findtext(f"{NEWS}publication_date") == a.published.isoformat()


def test_rss_and_atom_feeds(demo_server: DemoServer, demo_site: DemoSite) -> None:
    rss = fetch(demo_server, "/feed/")
    assert rss.header("Content-Type").startswith("application/rss+xml")
    channel = ET.fromstring(rss.body).find("channel")
    items = channel.findall("item")
    rss_paths = [local_path(demo_server, i.findtext("link")) for i in items]
    dates = [parsedate_to_datetime(i.findtext("pubDate")) for i in items]
    assert dates == sorted(dates, reverse=True)
    assert all(i.findtext("title") and i.findtext("guid") and i.findtext("category") and i.findtext("description")
               for i in items)
    assert any("utm_source=rss" in i.findtext("link") for i in items)

    atom = fetch(demo_server, "/feed/atom/")
    assert atom.header("Content-Type").startswith("application/atom+xml")
    entries = ET.fromstring(atom.body).findall(f"{ATOM}entry")
    atom_paths = [local_path(demo_server, e.find(f"{ATOM}link").get("href")) for e in entries]
    assert all(e.findtext(f"{ATOM}id") and e.findtext(f"{ATOM}published") for e in entries)

    assert len(atom_paths) == 50 and set(atom_paths) == public(demo_site, "feed")
    atom_only = {a.path for a in demo_site.articles if a.atom_only}
    assert len(atom_only) == 5
    assert set(atom_paths) - set(rss_paths) == atom_only and len(rss_paths) == 45
    # the feed window holds the newest articles
    newest = sorted((a for a in demo_site.articles if not a.private), key=lambda a: a.published)[-50:]
    assert set(atom_paths) == {a.path for a in newest}


def test_atom_feed_linked_only_from_home_head(demo_server: DemoServer, demo_site: DemoSite) -> None:
    home = parse_links(fetch(demo_server, "/").body)
    assert any(t.get("type") == "application/atom+xml" and t.get("href") == "/feed/atom/" for t in home.link_tags)
    assert "/feed/atom/" not in home.hrefs
    article = parse_links(fetch(demo_server, demo_site.index.listed[0].path).body)
    assert not any(t.get("type") == "application/atom+xml" for t in article.link_tags)
    assert any(t.get("type") == "application/rss+xml" and t.get("href") == "/feed/" for t in article.link_tags)


# ----- ground truth: reachability

def test_route_only_counts(demo_site: DemoSite) -> None:
    routes = [frozenset(a.routes) for a in demo_site.articles if not a.private]
    assert routes.count(frozenset({"sitemap"})) >= 10
    assert routes.count(frozenset({"feed"})) >= 10
    assert routes.count(frozenset({"section"})) >= 10
    assert sum(len(r) > 1 for r in routes) > len(routes) / 2
    private = [a for a in demo_site.articles if a.private]
    assert len(private) == 5 and all(a.path.startswith("/private/") and not a.routes for a in private)
    assert len(demo_site.articles) == 120
    bigger = build_site(1000)
    assert sum(a.routes == {"section"} for a in bigger.articles) >= 1000 // 25 - 1


def test_html_links_reach_exactly_the_section_articles(demo_server: DemoServer, demo_site: DemoSite) -> None:
    """Crawl the HTML as a polite crawler would (no sitemaps or feeds, robots obeyed)."""
    demo_server.reset_log()
    seen, queue, articles = {"/"}, deque(["/"]), set()
    paths = {a.path for a in demo_site.articles}
    private_linked: set[str] = set()
    while queue:
        path = queue.popleft()
        r = fetch(demo_server, path)
        if r.status in (301, 302):
            target = local_path(demo_server, r.header("Location"))
            if target not in seen:
                seen.add(target)
                queue.append(target)
            continue
        assert r.status == 200, path
        if path in paths:
            articles.add(path)
        if not r.header("Content-Type").startswith("text/html"):
            continue
        for href in parse_links(r.body).hrefs:
            url = urljoin(demo_server.url + path, href)
            parts = urlsplit(url)
            if parts.netloc != f"{demo_server.host}:{demo_server.port}":
                continue
            target = parts.path
            if target.startswith(("/private/", "/wp-admin")):
                private_linked.add(target)
                continue
            if target.startswith(("/feed/", "/newsletter")) or target.endswith(".xml"):
                continue
            if target not in seen:
                seen.add(target)
                queue.append(target)
    assert articles == public(demo_site, "section")
    assert {a.path for a in demo_site.private} <= private_linked
    assert not any(p.startswith("/private/") for p in demo_server.requests)
    assert len(seen) > 150


# ----- pages

def test_article_page_markup(demo_server: DemoServer, demo_site: DemoSite) -> None:
    a = demo_site.index.listed[3]
    r = fetch(demo_server, a.path)
    html = r.body.decode()
    assert '<html lang="en">' in html
    assert '<meta property="og:type" content="article">' in html
    assert f'<link rel="canonical" href="{demo_server.url}{a.path}">' in html
    assert f'<time class="entry-date published" datetime="{a.published.isoformat()}">' in html
    for p in a.paragraphs:
        assert f"<p>{p}</p>" in html.replace("&quot;", '"').replace("&#x27;", "'")
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html).group(1))
    assert ld["@type"] == "NewsArticle" and ld["headline"] == a.title
    assert ld["datePublished"] == a.published.isoformat() and ld["articleSection"] == a.section.capitalize()
    for marker in ("cookie-banner", "share-buttons", "Related articles", "Read also", "Follow us on",
                   "newsletter-box", "<footer"):
        assert marker in html
    assert r.header("ETag") and r.header("Last-Modified")


def test_static_pages_are_not_articles(demo_server: DemoServer) -> None:
    for path in ("/about/", "/contact/", "/privacy-policy/"):
        html = fetch(demo_server, path).body.decode()
        assert 'content="article"' not in html and '"@type": "WebPage"' in html


def test_home_page_link_variants(demo_server: DemoServer) -> None:
    links = parse_links(fetch(demo_server, "/").body).hrefs
    assert any("utm_source=home" in h for h in links)
    assert any(h.endswith("#comments") for h in links)
    assert any(h.startswith(demo_server.url + "/2026/") and "utm_campaign=x" in h for h in links)
    assert any(h.startswith("https://twitter.com/") for h in links)
    assert any(h.startswith("http://other-news.example/") for h in links)
    assert any(h.startswith("/old-news/") for h in links) and any(h.startswith("/go/") for h in links)


def test_pagination(demo_server: DemoServer, demo_site: DemoSite) -> None:
    section = max(demo_site.sections, key=lambda s: len(demo_site.index.by_section[s]))
    n = len(demo_site.index.by_section[section])
    assert n > 12
    base = f"/category/{section}/"
    first = parse_links(fetch(demo_server, base).body)
    assert {"rel": "next", "href": f"{demo_server.url}{base}page/2/"} in first.link_tags
    assert f"{base}page/2/" in first.hrefs
    assert "Older posts" in fetch(demo_server, base).body.decode()
    last = -(-n // 12)
    final = parse_links(fetch(demo_server, f"{base}page/{last}/").body)
    assert not any(t.get("rel") == "next" for t in final.link_tags)
    assert any(t.get("rel") == "prev" for t in final.link_tags)
    assert fetch(demo_server, f"{base}page/{last + 1}/").status == 404
    assert fetch(demo_server, f"{base}page/1/").status == 301
    tag = next(iter(demo_site.index.by_tag))
    assert fetch(demo_server, f"/tag/{tag}/").status == 200


# ----- wire details

def read_raw(server: DemoServer, request: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_section_pages_are_chunked(demo_server: DemoServer, demo_site: DemoSite) -> None:
    raw = read_raw(demo_server, b"GET /category/world/ HTTP/1.1\r\nHost: " + demo_server.url[7:].encode()
                   + b"\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = head.decode().lower().split("\r\n")
    assert "transfer-encoding: chunked" in headers
    assert not any(h.startswith("content-length") for h in headers)
    assert body.endswith(b"0\r\n\r\n")
    decoded, n_chunks = b"", 0
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        decoded, body, n_chunks = decoded + body[:size], body[size + 2:], n_chunks + 1
    assert n_chunks > 1
    assert decoded == demo_site.response("/category/world/", {"Host": demo_server.url[7:]}).body
    article = fetch(demo_server, demo_site.index.listed[0].path)
    assert article.header("Content-Length") == str(len(article.body))
    assert article.header("Transfer-Encoding") is None


def test_gzip_when_asked(demo_server: DemoServer, demo_site: DemoSite) -> None:
    path = demo_site.index.listed[1].path
    plain = fetch(demo_server, path)
    zipped = fetch(demo_server, path, {"Accept-Encoding": "gzip, deflate"})
    assert plain.header("Content-Encoding") is None and plain.header("Vary") == "Accept-Encoding"
    assert zipped.header("Content-Encoding") == "gzip" and zipped.body[:2] == b"\x1f\x8b"
    assert gzip.decompress(zipped.body) == plain.body
    assert fetch(demo_server, path, {"Accept-Encoding": "gzip;q=0"}).header("Content-Encoding") is None
    home = fetch(demo_server, "/", {"Accept-Encoding": "gzip"})
    assert home.header("Content-Encoding") == "gzip"
    for r in (plain, zipped, home):
        assert r.header("Server") == "demo-gazette" and r.header("Date")


def test_conditional_requests(demo_server: DemoServer, demo_site: DemoSite) -> None:
    path = demo_site.index.listed[2].path
    r = fetch(demo_server, path)
    etag, last_modified = r.header("ETag"), r.header("Last-Modified")
    not_mod = fetch(demo_server, path, {"If-None-Match": etag})
    assert not_mod.status == 304 and not_mod.body == b"" and not_mod.header("ETag") == etag
    assert fetch(demo_server, path, {"If-None-Match": '"other"'}).status == 200
    assert fetch(demo_server, path, {"If-Modified-Since": last_modified}).status == 304
    assert fetch(demo_server, path, {"If-Modified-Since": "Mon, 01 Jun 2026 00:00:00 GMT"}).status == 200


def test_redirects(demo_server: DemoServer, demo_site: DemoSite) -> None:
    slug, target = next(iter(demo_site.old_news.items()))
    r = fetch(demo_server, f"/old-news/{slug}/")
    assert r.status == 301 and r.header("Location") == demo_server.url + target
    hop1 = fetch(demo_server, "/go/1")
    assert hop1.status == 302 and hop1.header("Location") == f"{demo_server.url}/go/1/2"
    hop2 = fetch(demo_server, "/go/1/2")
    assert hop2.status == 302 and hop2.header("Location") == demo_server.url + demo_site.go_links[1]
    a = demo_site.index.listed[0]
    no_slash = fetch(demo_server, a.path.rstrip("/") + "?utm_campaign=x")
    assert no_slash.status == 301 and no_slash.header("Location") == f"{demo_server.url}{a.path}?utm_campaign=x"
    by_id = fetch(demo_server, f"/?p={a.id}")
    assert by_id.status == 301 and by_id.header("Location") == demo_server.url + a.path
    assert fetch(demo_server, "/no/such/page/").status == 404


def test_repeated_headers(demo_server: DemoServer) -> None:
    home = fetch(demo_server, "/")
    assert len(home.msg.get_all("Set-Cookie")) == 2
    edge = fetch(demo_server, "/_edge/headers")
    assert edge.msg.get_all("X-Multi") == ["one", "two", "three"]
    assert len(edge.msg.get_all("Set-Cookie")) == 3


def test_edge_endpoints(demo_server: DemoServer, demo_site: DemoSite) -> None:
    assert fetch(demo_server, "/_edge/500").status == 500
    nf = fetch(demo_server, "/_edge/404-page")
    assert nf.status == 404 and b"<html" in nf.body
    big = fetch(demo_server, "/_edge/big")
    assert big.status == 200 and len(big.body) >= 5 * 1024 * 1024
    binary = fetch(demo_server, "/_edge/binary")
    assert binary.header("Content-Type") == "text/html" and b"\x00" in binary.body
    latin1 = fetch(demo_server, "/_edge/latin1")
    assert latin1.header("Content-Type") == "text/html; charset=ISO-8859-1"
    text = latin1.body.decode("iso-8859-1")
    assert "charset" not in text and all(p in text for p in demo_site.edge_articles["/_edge/latin1"].paragraphs)
    with pytest.raises(UnicodeDecodeError):
        latin1.body.decode("utf-8")
    cp = fetch(demo_server, "/_edge/cp1252-nocharset")
    assert cp.header("Content-Type") == "text/html" and b"charset" not in cp.body and b"\x93" in cp.body
    assert all(p in cp.body.decode("cp1252") for p in demo_site.edge_articles["/_edge/cp1252-nocharset"].paragraphs)
    sjis = fetch(demo_server, "/_edge/sjis")
    assert sjis.header("Content-Type") == "text/html" and b'<meta charset="Shift_JIS">' in sjis.body
    assert demo_site.edge_articles["/_edge/sjis"].paragraphs[0] in sjis.body.decode("shift_jis")
    broken = fetch(demo_server, "/_edge/broken").body
    assert b"</html>" not in broken and b"</p>" not in broken
    empty = fetch(demo_server, "/_edge/empty", {"Accept-Encoding": "gzip"})
    assert empty.status == 200 and empty.body == b"" and empty.header("Content-Length") == "0"
    assert fetch(demo_server, "/_edge/query?a=1&b=two").body == b"a=1&b=two"


# ----- server behaviour

def test_keep_alive_head_and_request_log(demo_server: DemoServer) -> None:
    demo_server.reset_log()
    conn = http.client.HTTPConnection(demo_server.host, demo_server.port, timeout=10)
    try:
        for path in ("/about/", "/about/?x=1", "/category/sport/"):
            conn.request("GET", path)
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read()
        conn.request("HEAD", "/contact/")
        resp = conn.getresponse()
        assert resp.status == 200 and int(resp.getheader("Content-Length")) > 0 and resp.read() == b""
        local_port = conn.sock.getsockname()[1]
        conn.request("GET", "/robots.txt")
        conn.getresponse().read()
        assert conn.sock.getsockname()[1] == local_port  # the same connection was reused
    finally:
        conn.close()
    assert demo_server.requests["/about/?x=1"] == 1 and demo_server.requests["/about/"] == 1
    assert [m for m, _, _ in demo_server.log] == ["GET", "GET", "GET", "HEAD", "GET"]
    assert demo_server.log[0][2]["Host"] == f"{demo_server.host}:{demo_server.port}"


def test_server_stops_and_frees_port(demo_site: DemoSite) -> None:
    server = DemoServer(demo_site).start()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    conn.request("GET", "/robots.txt")
    conn.getresponse().read()  # leave the keep-alive connection open
    server.stop()
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=2).close()
    conn.close()


# ----- determinism and changes

def test_same_seed_same_bytes() -> None:
    one, two = build_site(120, seed=7), build_site(120, seed=7)
    host = {"Host": "gazette.test"}
    a = one.articles[40].path
    for path in ("/", a, "/feed/", "/feed/atom/", "/sitemap_index.xml", "/post-sitemap1.xml",
                 "/archive-sitemap.xml.gz", "/category/economy/", "/_edge/latin1"):
        assert one.response(path, host).body == two.response(path, host).body, path
    assert one.response(a, {**host, "Accept-Encoding": "gzip"}).body == two.response(
        a, {**host, "Accept-Encoding": "gzip"}).body
    assert build_site(120, seed=8).response("/", host).body != one.response("/", host).body


def test_publish_and_change(fresh_demo_server) -> None:
    server = fresh_demo_server()
    site = server.site
    old_feed = {a.path for a in site.articles if "feed" in a.routes}
    new = site.publish(3)
    assert len(new) == 3 and all(a.routes == {"sitemap", "feed", "section"} for a in new)
    assert min(a.published for a in new) > max(a.published for a in site.articles if a not in new)
    items = ET.fromstring(fetch(server, "/feed/").body).find("channel").findall("item")
    assert [local_path(server, i.findtext("link")) for i in items[:3]] == [a.path for a in reversed(new)]
    assert len(public(site, "feed")) == 50 and len(old_feed - public(site, "feed")) == 3
    _, news = xml_locs(fetch(server, "/news-sitemap.xml").body)
    assert {a.path for a in new} <= {local_path(server, u) for u in news}
    _, recent = xml_locs(fetch(server, "/post-sitemap2a.xml").body)
    assert {a.path for a in new} <= {local_path(server, u) for u in recent}
    for a in new:
        assert a.path in fetch(server, f"/category/{a.section}/").body.decode()
        assert fetch(server, a.path).status == 200

    a = site.index.listed[5]
    before = fetch(server, a.path)
    site.change_article(a.path, "A correction was added to this article.")
    after = fetch(server, a.path, {"If-None-Match": before.header("ETag")})
    assert after.status == 200 and after.header("ETag") != before.header("ETag")
    assert after.header("Last-Modified") != before.header("Last-Modified")
    assert b"<p>A correction was added to this article.</p>" in after.body
    assert site.article(a.path).paragraphs[-1] == "A correction was added to this article."


def test_write_static(tmp_path) -> None:
    site = build_site(60, seed=3)
    site.write_static(tmp_path, base_url="http://static.test")
    assert (tmp_path / "index.html").read_bytes().startswith(b"<!DOCTYPE html>")
    assert b"http://static.test/sitemap_index.xml" in (tmp_path / "robots.txt").read_bytes()
    assert gzip.decompress((tmp_path / "archive-sitemap.xml.gz").read_bytes()).startswith(b"<?xml")
    assert (tmp_path / "feed" / "index.html").read_bytes().startswith(b"<?xml")
    for a in site.articles:
        assert (tmp_path / a.path.strip("/") / "index.html").is_file()
    assert (tmp_path / "category" / "politics" / "index.html").is_file()


def test_command_line_server_prints_its_url() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "crawler.demo.server", "--articles", "60", "--seed", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        with urllib.request.urlopen(url + "/robots.txt", timeout=10) as resp:
            assert b"Disallow: /private/" in resp.read()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and err == ""
