"""URL canonicalization, host extraction and allowed-domain checks."""

import pytest

from crawler.urls import canonicalize_url, is_allowed_domain, is_tracking_param, url_host


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # fragments go, the rest stays
        ("https://news.example.com/a/b/#comments", "https://news.example.com/a/b/"),
        ("https://news.example.com/a#", "https://news.example.com/a"),
        # tracking parameters, any case, any position
        ("https://ex.com/story?utm_source=tw&utm_medium=social&id=7", "https://ex.com/story?id=7"),
        ("https://ex.com/story?fbclid=IwAR0&gclid=x&dclid=y&msclkid=z", "https://ex.com/story"),
        ("https://ex.com/s?mc_cid=1&mc_eid=2&igshid=3&yclid=4&_ga=5&ref_src=twsrc", "https://ex.com/s"),
        ("https://ex.com/s?UTM_Campaign=x&FBCLID=y&keep=1", "https://ex.com/s?keep=1"),
        ("https://ex.com/s?ref=home", "https://ex.com/s?ref=home"),
        # remaining parameters sorted, values kept (also blank ones)
        ("https://ex.com/s?b=2&a=1&c", "https://ex.com/s?a=1&b=2&c="),
        ("https://ex.com/s?tag=b&tag=a", "https://ex.com/s?tag=a&tag=b"),
        # scheme and host case, default ports
        ("HTTPS://News.Example.COM:443/Path/Case/", "https://news.example.com/Path/Case/"),
        ("http://ex.com:80/x", "http://ex.com/x"),
        ("http://ex.com:443/x", "http://ex.com:443/x"),
        ("https://ex.com:8443/x", "https://ex.com:8443/x"),
        ("http://127.0.0.1:8080/a?utm_source=x", "http://127.0.0.1:8080/a"),
        # empty path, trailing slash kept as given
        ("https://ex.com", "https://ex.com/"),
        ("https://ex.com/section", "https://ex.com/section"),
        ("https://ex.com/section/", "https://ex.com/section/"),
        # percent-encoding normalised
        ("https://ex.com/caf%c3%a9/%7Euser", "https://ex.com/caf%C3%A9/~user"),
        ("https://ex.com/café?q=ü", "https://ex.com/caf%C3%A9?q=%C3%BC"),
        ("https://ex.com/a b", "https://ex.com/a%20b"),
        # IDN host to punycode
        ("https://Bücher.example/x", "https://xn--bcher-kva.example/x"),
        # user info kept
        ("http://u:p@Ex.com:80/", "http://u:p@ex.com/"),
        # surrounding whitespace
        ("  https://ex.com/x  ", "https://ex.com/x"),
    ],
)
def test_canonicalize_url(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


def test_canonicalize_is_idempotent_and_merges_variants() -> None:
    variants = [
        "https://News.example.com:443/2024/05/01/story/?utm_source=rss&b=2&a=1#top",
        "https://news.example.com/2024/05/01/story/?a=1&b=2",
        "https://news.example.com/2024/05/01/story/?a=1&fbclid=abc&b=2",
    ]
    canon = {canonicalize_url(v) for v in variants}
    assert canon == {"https://news.example.com/2024/05/01/story/?a=1&b=2"}
    once = canon.pop()
    assert canonicalize_url(once) == once


def test_canonicalize_keep_query_false() -> None:
    assert canonicalize_url("https://ex.com/a?id=1&utm_source=x#f", keep_query=False) == "https://ex.com/a"


@pytest.mark.parametrize(
    "junk", ["", "   ", "not a url", "http://[::1", "mailto:desk@ex.com", "javascript:void(0)"]
)
def test_canonicalize_never_raises_on_junk(junk: str) -> None:
    assert canonicalize_url(junk) == junk.strip()


def test_is_tracking_param() -> None:
    assert is_tracking_param("utm_content") and is_tracking_param("Gclid")
    assert not is_tracking_param("page") and not is_tracking_param("id")


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://News.Example.com:8443/x", "news.example.com"),
        ("http://127.0.0.1:5000/", "127.0.0.1"),
        ("http://[::1]:80/", "::1"),
        ("http://example.com./", "example.com"),
        ("no host here", ""),
        ("http://[::1", ""),
    ],
)
def test_url_host(url: str, host: str) -> None:
    assert url_host(url) == host


@pytest.mark.parametrize(
    ("url", "domains", "allowed"),
    [
        ("https://example.com/a", ["example.com"], True),
        ("https://www.example.com/a", ["example.com"], True),
        ("https://news.example.com/a", ["example.com"], True),
        ("https://example.com/a", ["www.example.com"], True),
        ("https://www.example.com/a", ["www.example.com"], True),
        ("https://news.example.com/a", ["www.example.com"], False),
        ("https://badexample.com/a", ["example.com"], False),
        ("https://example.com.evil.net/a", ["example.com"], False),
        ("https://EXAMPLE.com:8443/a", ["Example.COM"], True),
        ("ftp://example.com/a", ["example.com"], False),
        ("mailto:x@example.com", ["example.com"], False),
        ("https://example.com/a", [], False),
        ("https://other.org/a", ["example.com", "other.org"], True),
        ("http://127.0.0.1:8123/a", ["127.0.0.1"], True),
        ("http://127.0.0.1:8123/a", ["127.0.0.1:8123"], True),
        ("https://xn--bcher-kva.example/", ["bücher.example"], True),
        ("https://bücher.example/", ["xn--bcher-kva.example"], True),
        ("http://[::1", ["example.com"], False),
    ],
)
def test_is_allowed_domain(url: str, domains: list[str], allowed: bool) -> None:
    assert is_allowed_domain(url, domains) is allowed


LINKS_TO_VET = [
    "https://Example.COM/news/2025/01/02/story.html", "https://example.com./a", "https://example.com:443/a",
    "https://www.example.com/a#top", "https://news.example.com/a?utm_source=x&b=1", "HTTPS://EXAMPLE.COM/A",
    "https://bücher.example/a", "https://xn--bcher-kva.example/b", "https://user@example.com/a",
    "https://example.com.evil.net/a", "https://badexample.com/a", "https://twitter.com/intent/tweet?url=x",
    "http://[::1]/a", "http://[::1", "ftp://example.com/a", "mailto:x@example.com", "  https://example.com/sp  ",
    "https://example.com:0/a", "https://exa mple.com/a",
]


def test_vetting_links_against_the_allowed_domains_gives_the_spiders_verdicts() -> None:
    """Offsite links are marked where the page is parsed, uncanonicalized: the verdict must be the one
    the spider reaches on the canonical URL, and every other link vetted as without the domains."""
    from crawler.crawl.analysis import vet_links

    domains = ("example.com", "bücher.example", "::1")
    plain, checked = vet_links(LINKS_TO_VET), vet_links(LINKS_TO_VET, domains)
    for url, before, after in zip(LINKS_TO_VET, plain, checked, strict=True):
        if before.problem is not None:
            assert after == before, url
        elif after.offsite:
            assert not is_allowed_domain(before.url, domains), url  # the canonical URL is offsite too
        else:
            assert after == before and is_allowed_domain(before.url, domains), url
    assert sum(link.offsite for link in checked) == 3, checked  # evil.net, badexample.com, twitter.com
