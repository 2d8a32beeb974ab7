"""Discovery functions on small handwritten fixtures (tests/data/discovery/)."""

import gzip
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.discovery import (
    classify_page,
    extract_links,
    feed_links,
    looks_like_article_url,
    looks_like_feed,
    looks_like_sitemap,
    next_page_links,
    parse_date,
    parse_feed,
    parse_html,
    parse_sitemap,
    sitemaps_from_robots,
)
from crawler.discovery.pagekind_model import features
from crawler.urls import absolute_http

DATA = Path(__file__).parent / "data" / "discovery"
SITE = "https://news.example.com"


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- robots.txt ---------------------------------------------------------------------------


def test_sitemaps_from_robots() -> None:
    assert sitemaps_from_robots(data("robots.txt"), f"{SITE}/robots.txt") == [
        f"{SITE}/sitemap_index.xml",
        f"{SITE}/news-sitemap.xml",
        f"{SITE}/relative-sitemap.xml",
    ]


def test_sitemaps_from_robots_junk() -> None:
    assert sitemaps_from_robots(b"", f"{SITE}/robots.txt") == []
    assert sitemaps_from_robots(b"\xff\xfe\x00garbage\nUser-agent: *", f"{SITE}/robots.txt") == []
    body = "\ufeffSitemap: https://news.example.com/s.xml\r\n".encode()
    assert sitemaps_from_robots(body, f"{SITE}/robots.txt") == [f"{SITE}/s.xml"]


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", utc(2024, 1, 1)),
        ("2024-05", utc(2024, 5, 1)),
        ("2024-05-01", utc(2024, 5, 1)),
        ("2024-05-01T09:30Z", utc(2024, 5, 1, 9, 30)),
        ("2024-05-01T09:30:15+02:00", utc(2024, 5, 1, 7, 30, 15)),
        ("2024-05-01T09:30:15.5-0130", utc(2024, 5, 1, 11, 0, 15, 500000)),
        ("2024-05-01 09:30:15", utc(2024, 5, 1, 9, 30, 15)),
        ("Wed, 01 May 2024 09:30:00 +0200", utc(2024, 5, 1, 7, 30)),
        ("Wed, 01 May 2024 09:30:00 GMT", utc(2024, 5, 1, 9, 30)),
        ("yesterday", None),
        ("2024-13-01", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(text: str | None, expected: datetime | None) -> None:
    assert parse_date(text) == expected


# --- sitemaps -----------------------------------------------------------------------------


def test_sitemap_index_with_bom_whitespace_relative_and_duplicates() -> None:
    sitemap = parse_sitemap(data("sitemap_index.xml"), f"{SITE}/sitemap_index.xml")
    assert sitemap.kind == "sitemapindex" and sitemap.error is None
    assert [(e.loc, e.lastmod) for e in sitemap.entries] == [
        (f"{SITE}/post-sitemap.xml", utc(2024, 5, 1, 7, 30)),
        (f"{SITE}/page-sitemap.xml.gz", utc(2024, 4, 1)),
    ]


def test_sitemap_urlset_dates_and_no_image_locs() -> None:
    sitemap = parse_sitemap(data("sitemap_urlset.xml"), f"{SITE}/post-sitemap.xml")
    assert sitemap.kind == "urlset"
    locs = [e.loc for e in sitemap.entries]
    assert f"{SITE}/img/bridge.jpg" not in locs
    assert locs[-1] == f"{SITE}/search?q=a&b=c"
    lastmods = [e.lastmod for e in sitemap.entries]
    assert lastmods == [
        utc(2024, 5, 1, 9, 30),
        utc(2024, 4, 30, 13, 0, 0, 123456),
        utc(2024, 4, 29, 8, 0),
        None,
        utc(2024, 1, 1),
    ]
    assert all(d is None or d.tzinfo is UTC for d in lastmods)


def test_news_sitemap_fields() -> None:
    sitemap = parse_sitemap(data("sitemap_news.xml"), f"{SITE}/news-sitemap.xml")
    first, second = sitemap.entries
    assert first.news_publication_date == utc(2024, 5, 1, 7, 30)
    assert first.news_title == "Council approves new river bridge & more"
    assert first.news_language == "en"
    assert (second.news_language, second.news_title, second.news_publication_date) == (
        "de",
        "Zweite Meldung",
        utc(2024, 5, 1),
    )


def test_nested_index_then_gzip_child() -> None:
    """An index names a .gz child; the child is gzip by content, whatever its name says."""
    index = parse_sitemap(data("sitemap_index.xml"), f"{SITE}/sitemap_index.xml")
    child_url = index.entries[1].loc
    child = parse_sitemap(gzip.compress(data("sitemap_news.xml")), child_url)
    assert child.kind == "urlset" and len(child.entries) == 2
    # gzip without a .gz name, and gzip inside gzip (Content-Encoding on a .gz file)
    assert parse_sitemap(gzip.compress(data("sitemap_urlset.xml")), f"{SITE}/sitemap.xml").kind == "urlset"
    double = gzip.compress(gzip.compress(data("sitemap_urlset.xml")))
    assert len(parse_sitemap(double, f"{SITE}/s.xml.gz").entries) == 5
    assert looks_like_sitemap(gzip.compress(data("sitemap_index.xml")))


def test_sitemap_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * (51 * 1024 * 1024), compresslevel=1)
    assert len(bomb) < 1024 * 1024
    sitemap = parse_sitemap(bomb, f"{SITE}/bomb.xml.gz")
    assert sitemap.kind == "invalid" and "too large" in sitemap.error


def test_sitemap_without_namespace_relative_and_padded_locs() -> None:
    sitemap = parse_sitemap(data("sitemap_nons.xml"), f"{SITE}/sitemaps/s.xml")
    assert [e.loc for e in sitemap.entries] == [f"{SITE}/sitemaps/page-one.html", f"{SITE}/page-two.html"]
    assert sitemap.entries[0].lastmod == utc(2024, 2, 3, 4, 5)


def test_broken_sitemap_is_recovered() -> None:
    sitemap = parse_sitemap(data("sitemap_broken.xml"), f"{SITE}/s.xml")
    assert sitemap.kind == "urlset" and sitemap.recovered
    assert [e.loc for e in sitemap.entries][:2] == [f"{SITE}/a/", f"{SITE}/b/"]


def test_sitemap_entities_are_not_resolved() -> None:
    sitemap = parse_sitemap(data("sitemap_xxe.xml"), f"{SITE}/s.xml")
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "\0"
    assert sitemap.kind == "urlset"
    assert f"{SITE}/safe/" in [e.loc for e in sitemap.entries]
    assert not any(hostname in e.loc for e in sitemap.entries)


def test_plain_text_sitemap() -> None:
    sitemap = parse_sitemap(data("sitemap.txt"), f"{SITE}/sitemap.txt")
    assert sitemap.kind == "urlset"
    assert [e.loc for e in sitemap.entries] == [
        f"{SITE}/2024/05/01/council-approves-new-river-bridge/",
        f"{SITE}/2024/04/30/library-reopens/",
    ]
    assert looks_like_sitemap(b"https://a.example/1\nhttps://a.example/2\n")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<html><body>Not found</body></html>", "root element is <html>"),
        (b"<rss><channel></channel></rss>", "root element is <rss>"),
        (b"<<<>>>&&&", "not XML"),
        (b"\x1f\x8b\x08\x00garbage", "bad gzip"),
        (b"just some words\nand more", "not a sitemap"),
        (bytes(range(256)) * 4, None),
    ],
)
def test_invalid_sitemaps_never_raise(body: bytes, error: str | None) -> None:
    sitemap = parse_sitemap(body, f"{SITE}/s.xml")
    assert sitemap.kind == "invalid" and sitemap.entries == []
    assert sitemap.error and "\n" not in sitemap.error
    if error:
        assert error in sitemap.error


def test_looks_like_sitemap() -> None:
    assert looks_like_sitemap(data("sitemap_index.xml"))
    assert looks_like_sitemap(data("sitemap_nons.xml"))
    assert not looks_like_sitemap(data("rss2.xml"))
    assert not looks_like_sitemap(data("wp_article.html"))
    assert not looks_like_sitemap(b"")


# --- feeds --------------------------------------------------------------------------------


def test_rss2_links_guids_dates_and_origlink() -> None:
    feed = parse_feed(data("rss2.xml"), f"{SITE}/feed/")
    assert feed.kind == "rss" and feed.error is None
    assert [(e.url, e.published) for e in feed.entries] == [
        (f"{SITE}/2024/05/01/council-approves-new-river-bridge/", utc(2024, 5, 1, 7, 30)),
        (f"{SITE}/2024/04/30/library-reopens/", utc(2024, 4, 30, 8, 0)),
        (f"{SITE}/2024/04/29/market-day/", utc(2024, 4, 29, 8, 0)),
        (f"{SITE}/2024/04/28/school-fair/", None),
    ]
    assert feed.entries[0].title == "Council approves new river bridge"


def test_atom_xml_base_and_relative_links() -> None:
    feed = parse_feed(data("atom.xml"), "https://feeds.example.com/blog.atom")
    assert feed.kind == "atom"
    assert [e.url for e in feed.entries] == [
        "https://blog.example.com/news/2024/first-post.html",
        "https://blog.example.com/archive/second-post/",
        "https://blog.example.com/third/",
    ]
    first = feed.entries[0]
    assert (first.title, first.published, first.updated) == (
        "First <b>post</b>",
        utc(2024, 5, 1, 8, 0),
        utc(2024, 5, 2),
    )


def test_atom_relative_to_document_url() -> None:
    body = b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="p/1"/></entry></feed>'
    assert [e.url for e in parse_feed(body, "https://ex.com/blog/feed.atom").entries] == [
        "https://ex.com/blog/p/1"
    ]


def test_rdf_feed() -> None:
    feed = parse_feed(data("rdf.xml"), "https://old.example.com/index.rdf")
    assert feed.kind == "rdf"
    assert [(e.url, e.published) for e in feed.entries] == [
        ("https://old.example.com/story/1", utc(2024, 1, 15, 11, 0)),
        ("https://old.example.com/story/2", None),
    ]


def test_broken_feed_is_recovered() -> None:
    feed = parse_feed(data("feed_broken.xml"), f"{SITE}/feed/")
    assert feed.kind == "rss" and feed.recovered
    assert feed.entries[0].url == f"{SITE}/fine/"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>hi</body></html>",
        b"<<<",
        b"\x1f\x8b\x08junk",
        b"<rss><channel><item><title>x",
        b"\x00" * 64,
    ],
)
def test_invalid_feeds_never_raise(body: bytes) -> None:
    feed = parse_feed(body, f"{SITE}/feed/")
    assert feed.kind == "invalid" and feed.entries == [] and feed.error


def test_looks_like_feed() -> None:
    assert (
        looks_like_feed(data("rss2.xml"))
        and looks_like_feed(data("atom.xml"))
        and looks_like_feed(data("rdf.xml"))
    )
    assert looks_like_feed(b"{}", "application/atom+xml; charset=utf-8")
    assert not looks_like_feed(data("sitemap_urlset.xml"))
    assert not looks_like_feed(data("wp_article.html"), "text/html")
    assert not looks_like_feed(b"")


def test_feed_links_skip_comment_feeds() -> None:
    assert feed_links(data("wp_article.html"), f"{SITE}/2024/05/01/council-approves-new-river-bridge/") == [
        f"{SITE}/feed/"
    ]
    html = """<base href="https://cdn.example.com/x/">
    <link rel="Alternate feed" type="application/atom+xml" href="atom.xml">
    <link rel="alternate" type="application/rss+xml" title="All" href="/comments/rss">
    <link rel="alternate" type="application/rss+xml" title="Comments on this" href="/post/rss">
    <link rel="alternate" type="text/calendar" href="/events.ics">"""
    assert feed_links(html, f"{SITE}/") == ["https://cdn.example.com/x/atom.xml"]


# --- links --------------------------------------------------------------------------------


def test_extract_links_order_dedup_and_schemes() -> None:
    links = extract_links(data("wp_article.html"), f"{SITE}/2024/05/01/council-approves-new-river-bridge/")
    assert links == [
        f"{SITE}/",
        f"{SITE}/category/local/",
        f"{SITE}/about/",
        f"{SITE}/author/jane/",
        "https://other.example.org/report",  # rel=nofollow kept
        f"{SITE}/2024/04/30/previous-story/",
        f"{SITE}/privacy-policy/",
    ]


def test_extract_links_base_href_area_and_junk_hrefs() -> None:
    html = b"""<html><head><base href="/sub/"></head><body>
    <a href="a.html">a</a><a href=" b.html ">b</a><a href="a.html#x">a again</a>
    <map><area href="/map-target" alt="m"></map>
    <a href="javascript:void(0)">j</a><a href="tel:+123">t</a><a href="data:text/html,x">d</a>
    <a href="ftp://ex.com/f">f</a><a>no href</a><a href="//cdn.example.com/c">c</a><a href="http://[::1">bad</a>
    </body></html>"""
    assert extract_links(html, "https://ex.com/dir/page") == [
        "https://ex.com/sub/a.html",
        "https://ex.com/sub/b.html",
        "https://ex.com/sub/a.html#x",
        "https://ex.com/map-target",
        "https://cdn.example.com/c",
        "http://[::1",  # unresolvable, passed on as found: the spider counts it as a bad URL
    ]


def test_broken_http_links_are_passed_on_for_the_spider_to_count() -> None:
    base = "https://ex.com/dir/"
    assert absolute_http("http://[::1/x", base) is None
    assert absolute_http("http://[::1/x", base, keep_broken=True) == "http://[::1/x"
    assert absolute_http("//[::1/x", base, keep_broken=True) == "https://[::1/x"
    assert absolute_http("//[::1/x", "", keep_broken=True) is None  # no scheme to give it
    assert absolute_http("mailto:[x", base, keep_broken=True) is None
    rss = parse_feed(b'<rss version="2.0"><channel><item><link>http://[::1/a</link></item>'
                     b"<item><link>http://[::1/b</link><guid>https://ex.com/b</guid></item></channel></rss>", base)
    # a broken link is the entry's URL only when nothing else is: the good permalink guid wins
    assert [e.url for e in rss.entries] == ["http://[::1/a", "https://ex.com/b"]
    atom = parse_feed(b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="http://[::1/c"/></entry>'
                      b"</feed>", base)
    assert [e.url for e in atom.entries] == ["http://[::1/c"]


def test_extract_links_encodings() -> None:
    latin = '<meta charset="windows-1252"><a href="/caf\u00e9">caf\u00e9</a>'.encode("cp1252")
    assert extract_links(latin, "https://ex.com/") == ["https://ex.com/caf\u00e9"]
    broken = b'<a href="/ok">ok</a>\xff\xfe\x00<a href="/after">after</a>'
    assert extract_links(broken, "https://ex.com/") == ["https://ex.com/ok", "https://ex.com/after"]
    noncharacters = '<a href="/ok">o\x0bk\ufffe</a>\uffff<a href="/after">after</a>'
    assert extract_links(noncharacters, "https://ex.com/") == ["https://ex.com/ok", "https://ex.com/after"]
    xhtml = b'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><a href="/x">x</a></html>'
    assert extract_links(xhtml, "https://ex.com/") == ["https://ex.com/x"]
    assert extract_links(xhtml.decode(), "https://ex.com/") == ["https://ex.com/x"]
    assert extract_links(b"", "https://ex.com/") == [] and extract_links("   ", "https://ex.com/") == []


def test_next_page_links_wordpress() -> None:
    assert next_page_links(data("wp_category.html"), f"{SITE}/category/local/") == [
        f"{SITE}/category/local/page/2/"
    ]
    # page 2 links to 3 (not 4, not page 1, not another section's page 3)
    assert next_page_links(data("wp_category_page2.html"), f"{SITE}/category/local/page/2/") == [
        f"{SITE}/category/local/page/3/"
    ]
    assert next_page_links(data("wp_author.html"), f"{SITE}/author/jane/") == [f"{SITE}/author/jane/page/2/"]
    assert (
        next_page_links(data("wp_article.html"), f"{SITE}/2024/05/01/council-approves-new-river-bridge/")
        == []
    )


def test_next_page_links_query_and_text() -> None:
    html = """<a href="?page=1">1</a><a href="?page=3">3</a><a href="/news?page=4">4</a>
    <a href="/other?page=3">other</a>"""
    assert next_page_links(html, "https://ex.com/news?page=2") == ["https://ex.com/news?page=3"]
    assert next_page_links('<a href="/news?paged=2">2</a>', "https://ex.com/news") == [
        "https://ex.com/news?paged=2"
    ]
    html = """<a href="/world/more-stories?offset=20">Load more</a>
    <a href="/sport/next">Next page</a><a href="https://elsewhere.example/world/x">Next</a>
    <a href="/world/next-article">Next article</a>"""
    assert next_page_links(html, "https://ex.com/world/") == ["https://ex.com/world/more-stories?offset=20"]
    assert next_page_links('<a rel="next" href="/x/2">2</a>', "https://ex.com/x") == ["https://ex.com/x/2"]
    assert next_page_links(b"", "https://ex.com/") == []


# --- page kind ----------------------------------------------------------------------------

ARTICLE_URL = f"{SITE}/2024/05/01/council-approves-new-river-bridge/"


@pytest.mark.parametrize(
    ("name", "url", "kind"),
    [
        ("wp_article.html", ARTICLE_URL, "article"),
        ("wp_category.html", f"{SITE}/category/local/", "index"),
        ("wp_category_page2.html", f"{SITE}/category/local/page/2/", "index"),
        ("wp_tag.html", f"{SITE}/tag/bridges/", "index"),
        ("wp_author.html", f"{SITE}/author/jane/", "index"),
        ("wp_about.html", f"{SITE}/about/", "other"),
        ("homepage.html", f"{SITE}/", "index"),
        ("jsonld_graph.html", "https://coast.example.net/s/storm", "article"),
        ("article_time_only.html", f"{SITE}/2024/03/04/mayor-opens-park", "article"),
    ],
)
def test_classify_wordpress_like_pages(name: str, url: str, kind: str) -> None:
    assert classify_page(data(name), url).kind == kind


def test_classify_dated_article_with_comment_cards() -> None:
    """WordPress wraps each comment in an <article>; they are not extra teasers."""
    comments = b'<article class="comment-body"><time datetime="2024-03-05">c</time></article>' * 4
    html = data("article_time_only.html").replace(b"</body>", comments + b"</body>")
    root = parse_html(html)
    assert features(root, f"{SITE}/parks/mayor-opens-park", [])["dated_article"] == 1.0
    undated = parse_html(html.replace(b'datetime="2024-03-04T12:00:00Z"', b""))
    assert features(undated, f"{SITE}/parks/mayor-opens-park", [])["dated_article"] == 0.0
    assert classify_page(html, f"{SITE}/2024/03/04/mayor-opens-park").kind == "article"


def test_classify_reasons() -> None:
    assert (
        classify_page(data("jsonld_graph.html"), "https://coast.example.net/s/storm").reason
        == "jsonld:NewsArticle"
    )
    assert classify_page(data("article_time_only.html"), f"{SITE}/2024/03/04/x-y").reason.startswith("model:")
    # a thin page with no declared type, no date, no byline and little prose is not called an article
    thin = b"<html><head><title>Park</title></head><body><div><p>The park opened.</p></div></body></html>"
    assert classify_page(thin, f"{SITE}/x").kind != "article"
    assert classify_page(data("wp_tag.html"), f"{SITE}/tag/bridges/").reason == "jsonld:CollectionPage"
    assert classify_page(data("wp_about.html"), f"{SITE}/about/").reason == "utility_page"
    # og:type=article on a category page full of teasers does not make it an article
    assert classify_page(data("wp_category.html"), f"{SITE}/category/local/").reason == "listing"


def test_classify_with_seed_patterns() -> None:
    pattern = [re.compile(r"/\d{4}/\d{2}/\d{2}/")]
    for body in (data("wp_about.html"), b""):
        kind = classify_page(body, f"{SITE}/2024/01/01/about-us-story/", article_patterns=pattern)
        assert (kind.kind, kind.reason) == ("article", "url_pattern")
    kind = classify_page(data("wp_article.html"), f"{SITE}/news/bridge", article_patterns=pattern)
    assert (kind.kind, kind.reason) == ("index", "no_url_pattern")
    deny = [re.compile(r"/2024/05/")]
    kind = classify_page(data("wp_article.html"), ARTICLE_URL, article_patterns=pattern, deny_patterns=deny)
    assert (kind.kind, kind.reason) == ("other", "deny_pattern")


def test_classify_url_shape_needs_paragraph_text() -> None:
    para = "<p>" + "Residents gathered on the square to hear the announcement of the plan. " * 3 + "</p>"
    long_page = f"<html><body><div>{para * 4}</div></body></html>"
    short_page = "<html><body><div><p>Short.</p></div></body></html>"
    url = "https://ex.com/news/city-unveils-plan-for-new-square-123456"
    assert classify_page(long_page, url) == classify_page(long_page.encode(), url)
    assert classify_page(long_page, url).kind == "article"
    assert classify_page(long_page, url).reason.startswith("model:")
    assert classify_page(short_page, url).kind == "other"
    cards = "".join(f'<article class="card"><h2><a href="/news/s{i}">Story {i}</a></h2>{para}</article>' for i in range(4))
    assert classify_page(f"<html><body><main>{cards}</main></body></html>", "https://ex.com/news/").kind != "article"


def test_classify_accepts_parsed_tree_and_never_raises() -> None:
    tree = parse_html(data("jsonld_graph.html"))
    page = parse_html(data("wp_category.html"))
    url = f"{SITE}/category/local/"
    assert extract_links(page, url) == extract_links(data("wp_category.html"), url)
    assert next_page_links(page, url) == [f"{SITE}/category/local/page/2/"]
    assert feed_links(page, url) == [f"{SITE}/category/local/feed/"]
    assert classify_page(b"", "https://coast.example.net/s/storm", tree=tree).reason == "jsonld:NewsArticle"
    for junk in (
        b"",
        b"\x00\xff" * 100,
        "<html",
        b"<script type='application/ld+json'>[1, {\"@type\": 5}]</script>",
    ):
        assert classify_page(junk, "https://ex.com/x").kind in ("article", "index", "other")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (ARTICLE_URL, True),
        (f"{SITE}/2024/05/council-approves/", True),
        (f"{SITE}/news/20240501-council-approves", True),
        (f"{SITE}/world/europe-12345678", True),
        (f"{SITE}/article/987654/", True),
        (f"{SITE}/local/council-approves.html", True),
        (f"{SITE}/council-approves-new-river-bridge-after-long-debate/", True),
        (f"{SITE}/", False),
        (f"{SITE}/category/local/", False),
        (f"{SITE}/category/local/page/2/", False),
        (f"{SITE}/tag/bridges/", False),
        (f"{SITE}/author/jane/", False),
        (f"{SITE}/feed/", False),
        (f"{ARTICLE_URL}feed/", False),
        (f"{SITE}/2024/05/01/", False),
        (f"{SITE}/about/", False),
        (f"{SITE}/privacy-policy/", False),
        (f"{SITE}/wp-content/uploads/2024/05/bridge-photo-12345.jpg", False),
        (f"{SITE}/local/", False),
    ],
)
def test_looks_like_article_url(url: str, expected: bool) -> None:
    assert looks_like_article_url(url) is expected


@pytest.mark.parametrize("wrap", [("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("", "")])
def test_classify_reads_wrapped_jsonld_with_raw_newlines(wrap: tuple[str, str]) -> None:
    ld = f'{wrap[0]}{{"@type": "NewsArticle", "headline": "Storm\nhits the coast"}}{wrap[1]}'
    page = f"<html><head><script type='application/ld+json'>{ld}</script></head><body><p>Hi</p></body></html>"
    assert classify_page(page, "https://ex.com/x").reason == "jsonld:NewsArticle"


def test_undeclared_non_utf8_page_keeps_its_non_ascii_hrefs() -> None:
    """No charset in the header or the page, not UTF-8: detected (as the extractor does), not U+FFFD."""
    text = ("<html><head><title>Café</title></head><body>"
            + "<p>Über den Fluss führt eine neue Brücke; die Straße bleibt während der Bauzeit geöffnet.</p>" * 5
            + '<a href="/café/müller-straße">Müller</a><a href="/über">Über</a></body></html>')
    body = text.encode("cp1252")
    want = ["https://ex.com/café/müller-straße", "https://ex.com/über"]
    assert extract_links(body, "https://ex.com/") == want
    assert extract_links(parse_html(body, "text/html"), "https://ex.com/") == want
    assert extract_links(parse_html(body, "text/html", charset="cp1252"), "https://ex.com/") == want


def test_a_techarticle_declaration_leaves_the_verdict_to_the_page_model() -> None:
    ld = '<script type="application/ld+json">{"@type": "TechArticle", "headline": "Configure the client"}</script>'
    docs = f"<html><head>{ld}</head><body><main><h1>Configure the client</h1><p>Set the option.</p></main></body></html>"
    assert classify_page(docs, "https://ex.com/client/configure").kind != "article"
    both = docs.replace('"TechArticle"', '["TechArticle", "NewsArticle"]')
    assert classify_page(both, "https://ex.com/client/configure").reason == "jsonld:NewsArticle"


def test_an_article_type_on_a_home_docs_or_services_page_leaves_the_verdict_to_the_page_model() -> None:
    """SEO plug-ins and docs platforms type every page ``Article``; a short brief elsewhere still is one."""
    ld = '<script type="application/ld+json">{"@type": "Article", "headline": "Tax advice"}</script>'
    page = (f"<html><head>{ld}<meta property='og:type' content='website'></head><body><main><h1>Tax advice</h1>"
            "<p>Book a call with our advisers.</p></main><a href='/contact'>Contact</a></body></html>")
    for url in ("https://ex.com/", "https://ex.com/services/tax-advice/", "https://ex.com/docs/tax-advice"):
        assert classify_page(page, url).kind != "article", url
    assert classify_page(page, "https://ex.com/tax-advice-for-small-firms").reason == "jsonld:Article"


def test_a_utility_word_heading_a_deeper_path_is_a_section_not_a_utility_page() -> None:
    assert classify_page("<html><body><p>x</p></body></html>", "https://ex.com/account/orders").reason == "utility_page"
    assert classify_page("<html><body><p>x</p></body></html>", "https://ex.com/en/contact").reason == "utility_page"
    body = "<p>" + "Index funds track a market index at low cost, and most investors hold them. " * 8 + "</p>"
    page = f"<html><head><title>Index funds</title></head><body><h1>Index funds</h1>{body * 4}</body></html>"
    for url in ("https://ex.com/terms/i/index-funds.asp", "https://ex.com/faq/what-are-index-funds-and-why-buy-them"):
        assert classify_page(page, url).reason != "utility_page", url


def test_a_blog_section_word_is_post_evidence_only_with_a_post_after_it() -> None:
    from crawler.discovery.pagekind_model import features

    root = parse_html("<html><body><p>x</p></body></html>")
    assert features(root, "https://ex.com/news/bridge-reopens", [])["blog_url"] == 1.0
    assert features(root, "https://ex.com/news/", [])["blog_url"] == 0.0
    assert features(root, "https://ex.com/terraform/language/resources", [])["blog_url"] == 0.0
    assert features(root, "https://ex.com/ShowTopic-g1-i2-k3-Tips.html", [])["forum_url"] == 1.0
    assert features(root, "https://ex.com/groups/fish/what-to-look-for-t17.html", [])["forum_url"] == 1.0


def test_text_and_class_features_ignore_case_and_count_as_the_regular_expressions_say():
    from lxml.html import fromstring

    from crawler.discovery.pagekind_model import features

    page = ('<html><body><div class="Product-Card">ADD TO CART for $ 12.50 or 9,99 €</div>'
            '<div class="COMMENT-list"><p>Replies: 3 · UPVOTE · votes · quotes · Joined 2021 · posts: 12</p></div>'
            '<span class="ByLine">Ann</span><p>nonreply quoted misvotes</p></body></html>')
    f = features(fromstring(page), "https://ex.com/a", [])
    assert f["cart"] == 1.0 and f["byline"] == 1.0 and f["post_blocks"] == 1.0 and f["card_share"] > 0
    assert f["price"] == 2.0  # "$ 12.50" and "9,99 €"
    # Replies, UPVOTE, votes, Joined; not quotes, nonreply, misvotes, nor "posts: " (the pattern's
    # boundary after "posts:" wants a word character next, as "posts:12" has)
    assert f["reply_words"] == 4.0
    # without a text that can end a price, a sign still starts one
    assert features(fromstring("<html><body><p>only $5 and 40 dollars</p></body></html>"), "https://ex.com/a",
                    [])["price"] == 1.0
