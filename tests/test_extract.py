"""Extraction on handwritten pages: exact bodies, metadata, encodings, and "not an article" reasons."""

from __future__ import annotations

import pickle
from copy import deepcopy
from pathlib import Path

import pytest
from lxml.html import HtmlElement

import crawler.extract.api as api
from crawler.config.extract import ExtractOptions
from crawler.errors import ConfigError
from crawler.extract.api import (
    Article,
    _parse,
    body_text,
    decode_html,
    extract_article,
    extract_with_reason,
    warm_up,
)
from crawler.extract.text import clean_lines, count_words, normalize_text

DATA = Path(__file__).parent / "data" / "extract"
CAFE_START = "Le café de la place Saint-Étienne a rouvert ses portes"
CAFE_QUOTE = "« Nous avons gardé le comptoir d’origine et les miroirs de 1925 »"


def page(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_wordpress_article_exact_body_without_boilerplate():
    article = extract_article(page("wordpress_article.html"),
                              "https://riverside.example/2024/03/14/harbour-bridge-reopens/")
    assert article is not None
    assert article.text.split("\n") == [
        "The harbour bridge reopened to traffic on Thursday morning, two years after engineers closed it when "
        "inspectors found deep corrosion in the steel cables that hold up the central span.",
        "More than four hundred workers replaced every cable, repainted the towers and laid a new road surface, "
        "the city's transport department said. The work cost about 85 million euros, slightly less than the "
        "budget approved by the council in 2022.",
        "\"It is a relief for everyone who had to take the long way around the bay,\" said Jonas Berg, who drives "
        "a delivery van across the bridge several times a day. \"I lost almost an hour every morning.\"",
        "Cyclists get their own lane",
        "The reopened bridge has a separate lane for bicycles on its western side, protected from cars by a low "
        "concrete barrier. Cycling groups had campaigned for the lane for more than a decade.",
        "The department expects about 30,000 vehicles and 4,000 cyclists to cross every day once the summer "
        "season begins, and it will publish traffic counts every month.",
    ]


def test_wordpress_article_metadata():
    url = "https://riverside.example/2024/03/14/harbour-bridge-reopens/"
    a = extract_article(page("wordpress_article.html"), url)
    assert a is not None
    assert a.title == "Harbour Bridge Reopens After Two-Year Repair"
    assert a.authors == ["Maria Lindqvist"]
    assert a.published == "2024-03-14T08:30:00+00:00"
    assert a.updated == "2024-03-14T10:05:00+00:00"
    assert a.site_name == "Riverside Chronicle"
    assert a.tags == ["Infrastructure", "Transport"]
    assert a.categories == ["Local News"]
    assert a.language == "en"
    assert a.image == "https://riverside.example/wp-content/uploads/2024/03/bridge.jpg"
    assert a.description == "The old harbour bridge carries traffic again after a long repair."
    # canonical link on the same site, tracking parameter removed by crawler.urls
    assert a.canonical_url == url
    assert a.word_count == count_words(a.text) == 175
    import hashlib
    assert a.text_sha256 == hashlib.sha256(a.text.encode()).hexdigest()


def test_canonical_link_to_another_site_is_ignored():
    a = extract_article(page("wordpress_article.html"), "https://mirror.example/copy?utm_medium=x#top")
    assert a is not None and a.canonical_url == "https://mirror.example/copy"


def test_jsonld_only_metadata():
    a = extract_article(page("jsonld_only.html"), "https://valley.example/2023/09/apples")
    assert a is not None
    assert a.title == "Valley Orchards Expect Record Apple Harvest"
    assert a.authors == ["Anna Keller", "Tom Weiss"]
    assert a.published == "2023-09-21T06:15:00+02:00"
    assert a.updated == "2023-09-21T09:00:00+02:00"
    assert a.site_name == "Valley Times"
    assert a.tags == ["agriculture", "apples"]
    assert a.categories == ["Economy"]
    assert a.image == "https://valley.example/img/apples.jpg"
    assert a.language == "en"  # no declaration: detected from the text
    assert a.text.startswith("Fruit growers in the valley expect the largest apple harvest")
    assert a.text.endswith("report good harvests this year.")


def test_opengraph_only_metadata():
    a = extract_article(page("og_only.html"), "https://rail.example/night-trains-return?utm_source=x")
    assert a is not None
    assert a.title == "Night Trains Return to the Northern Line"
    assert a.site_name == "Rail Review"
    assert a.authors == ["Lena Fischer"]
    assert a.published == "2022-11-02T18:00:00Z"
    assert a.tags == ["rail", "travel"]
    assert a.categories == ["Transport"]
    assert a.image == "https://rail.example/img/night-train.jpg"
    assert a.canonical_url == "https://rail.example/night-trains-return"
    assert len(a.text.split("\n")) == 3


@pytest.mark.parametrize("name,url,reason", [
    ("category.html", "https://riverside.example/sport/", {"no_text", "too_short"}),
    ("about.html", "https://riverside.example/about/", {"no_text", "too_short"}),
    ("binary.png", "https://riverside.example/logo", {"binary"}),
])
def test_not_articles(name, url, reason):
    article, why = extract_with_reason(page(name), url)
    assert article is None and why in reason


@pytest.mark.parametrize("html,reason", [
    (b"", "empty"), ("   \n ", "empty"), (b"\x00\x01\x02\x03" * 100, "binary"),
    (b"%PDF-1.7\n" + b"x" * 100, "binary"), ("just some plain text, no markup at all " * 20, "not_html"),
])
def test_reasons(html, reason):
    assert extract_with_reason(html, "https://x.example/a") == (None, reason)


def test_min_words_option():
    opts = ExtractOptions(min_words=500)
    assert extract_with_reason(page("og_only.html"), "https://rail.example/a", options=opts) == (None, "too_short")


def test_broken_html_still_extracts():
    a = extract_article(page("broken.html"), "https://news.example/storm")
    assert a is not None
    assert a.title == "Storm closes schools"
    assert a.text.startswith("All schools in the northern district stayed closed on Monday")
    assert "Parents were asked to keep children at home" in a.text


def test_latin1_declared_decodes_as_cp1252():
    a = extract_article(page("latin1_declared.html"), "https://cafe.example/a")
    assert a is not None and a.text.startswith(CAFE_START)
    assert CAFE_QUOTE in a.text and "2 €" in a.text and "œufs" in a.text  # € and œ exist only in cp1252
    assert a.language == "fr"


def test_cp1252_without_charset_is_detected():
    a = extract_article(page("cp1252_nocharset.html"), "https://cafe.example/b")
    assert a is not None and a.text.startswith(CAFE_START) and CAFE_QUOTE in a.text


def test_http_charset_hint_wins_over_meta():
    data = page("latin1_declared.html").replace(b"iso-8859-1", b"utf-8")
    a = extract_article(data, "https://cafe.example/c", charset="windows-1252")
    assert a is not None and CAFE_QUOTE in a.text


def test_shift_jis_with_meta_charset():
    a = extract_article(page("shift_jis.html"), "https://sakura.example/a")
    assert a is not None
    assert a.text.startswith("東京都内の公園で、今年も桜が満開を迎えました。")
    assert a.language == "ja" and a.title == "都内の桜が満開に"
    assert a.word_count > 100  # one word per CJK character


def test_decode_html():
    assert decode_html("already text") == "already text"
    assert decode_html("\ufeffcafé".encode("utf-8")) == "café"
    assert decode_html("café".encode("utf-16-le").join([b"\xff\xfe", b""])) == "café"
    assert decode_html("“x”".encode("cp1252"), "ISO-8859-1") == "“x”"
    assert decode_html("é".encode(), "no-such-charset") == "é"
    assert decode_html(b"\xff\xfe\xfd garbage \x81", "utf-8")  # never raises


def test_normalize_text():
    raw = "  Cafe\u0301  au\tlait \u200b\n\n\n Second\u00a0line  \r\n\n"
    assert normalize_text(raw) == "Café au lait\nSecond line"


def test_clean_lines_generic_boilerplate():
    long = "This is a real paragraph of the article with enough words to be taken as body text, clearly. " * 2
    lines = ["My Title", "By Jane Doe | March 3, 2024", long.strip(), "Related: Another story about things",
             "- First related link", "- Second related link", long.strip(), "Share this:",
             "Follow us on Twitter @example", "Subscribe to our newsletter"]
    assert clean_lines(lines, "My Title") == [long.strip(), long.strip()]


def test_a_related_heading_cuts_link_titles_not_the_prose_list_under_it():
    intro = "The guidance below covers what every gardener can do this season, and why it matters now. " * 2
    items = [f"- Principle {i}: each bed is mulched in autumn and left undug, so that the soil keeps its "
             f"structure and the worms that live in it through the winter months." for i in range(3)]
    lines = [intro.strip(), "More from the extension service on soil care:", *items]
    assert clean_lines(lines, None) == [intro.strip(), *items]  # long items are prose, kept
    teasers = ["- Ten plants for shade", "- How to start a compost heap"]
    assert clean_lines([intro.strip(), "More from the extension service:", *teasers], None) == [intro.strip()]


def test_seed_boilerplate_patterns_and_body_xpath():
    opts = ExtractOptions.from_mapping({"boilerplate_patterns": ["^The reopened bridge"],
                                        "body_xpath": "//div[@class='entry-content']"}, source="seed.toml")
    a = extract_article(page("wordpress_article.html"), "https://riverside.example/x", options=opts)
    assert a is not None
    assert "separate lane for bicycles" not in a.text and a.text.startswith("The harbour bridge reopened")


@pytest.mark.parametrize("data,key", [
    ({"nope": 1}, "extract.nope"),
    ({"body_xpath": "//div[@class="}, "extract.body_xpath"),
    ({"boilerplate_patterns": ["(unclosed"]}, "extract.boilerplate_patterns"),
    ({"boilerplate_patterns": "not-a-list"}, "extract.boilerplate_patterns"),
    ({"min_words": -1}, "extract.min_words"),
    ({"favor": "speed"}, "extract.favor"),
    ({"language": "english!"}, "extract.language"),
])
def test_options_validation(data, key):
    with pytest.raises(ConfigError) as err:
        ExtractOptions.from_mapping(data, source="seeds/x.toml")
    assert err.value.key == key and "seeds/x.toml" in str(err.value)


def test_options_from_mapping_and_declared_language():
    opts = ExtractOptions.from_mapping({"min_words": 10, "favor": "recall", "language": "de"}, source="s")
    assert (opts.min_words, opts.favor, opts.language) == (10, "recall", "de")
    a = extract_article(page("og_only.html"), "https://rail.example/a", options=opts)
    assert a is not None and a.language == "de"  # the seed's declaration wins


def test_article_pickles_and_to_dict():
    a = extract_article(page("og_only.html"), "https://rail.example/a")
    assert isinstance(a, Article) and pickle.loads(pickle.dumps(a)) == a
    d = a.to_dict()
    assert d["title"] == a.title and d["tags"] == a.tags and len(d) == 17  # with the two paywall fields


def test_body_text_matches_article_text():
    html = page("wordpress_article.html").decode("utf-8")
    a = extract_article(html, "https://riverside.example/a")
    assert a is not None and body_text(html, "https://riverside.example/a") == a.text
    assert body_text("<html><body></body></html>", None) == ""


PARAS = [
    "The city council approved the new tram line on Tuesday after a debate that lasted most of the afternoon, "
    "with twenty-one members voting in favour and six against the plan presented by the transport office.",
    "Construction is expected to begin next spring and to last about three years, during which buses will "
    "replace the trams on the affected streets, the transport office said in a statement after the vote.",
]


def _page(head: str = "", before: str = "", after: str = "", lang: str = ' lang="en"') -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAS)
    return (f"<html{lang}><head><title>Tram line approved</title>{head}</head><body><article>"
            f"<h1>Tram line approved</h1>{before}{body}{after}</article></body></html>")


def test_pruning_ignores_case_of_class_names():
    html = _page(after='<div class="RelatedPosts"><h3>More stories</h3><ul><li><a href="/a">Harbour bridge '
                       'reopens after a long repair</a></li></ul></div><div id="NewsLetter-Box"><p>Get the '
                       'morning briefing in your inbox every day, free of charge, by signing up below.</p></div>')
    a = extract_article(html, "https://city.example/tram")
    assert a is not None and a.text == "\n".join(PARAS)


def test_declared_publication_date_wins_over_the_url_and_text():
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
          '"headline": "Tram line approved", "datePublished": "2023-09-21T06:15:00+02:00"}</script>')
    a = extract_article(_page(ld, before="<p>Posted 2020-01-01</p>"), "https://city.example/2020/01/01/tram")
    assert a is not None and a.published == "2023-09-21T06:15:00+02:00"
    # no declaration: htmldate searches the page
    b = extract_article(_page(), "https://city.example/2021/05/17/tram")
    assert b is not None and b.published == "2021-05-17"


def test_authors_declared_person_then_byline_never_a_profile_url():
    url = "https://city.example/tram"
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
          '"headline": "Tram line approved", "author": [{"@type": "Person", "name": "Jane Roe"}, '
          '{"@type": "Organization", "name": "City Times"}]}</script>')
    byline = '<div class="byline"><span class="author">By Max Mustermann</span></div>'
    a = extract_article(_page(ld, before=byline), url)
    assert a is not None and a.authors == ["Jane Roe"]
    profile = '<meta property="article:author" content="https://www.facebook.com/someone">'
    b = extract_article(_page(profile, before=byline), url)
    assert b is not None and b.authors == ["Max Mustermann"]


def test_language_detected_only_without_declaration():
    a = extract_article(_page(lang=' lang="de"'), "https://city.example/tram")
    assert a is not None and a.language == "de"  # the page's declaration, even if the text disagrees
    b = extract_article(_page(lang=""), "https://city.example/tram")
    assert b is not None and b.language == "en"


def test_warm_up_is_repeatable():
    """warm_up runs the whole extraction once; doing it twice changes nothing a page sees afterwards."""
    url = "https://city.example/tram"
    before = extract_article(_page(lang=""), url)
    assert warm_up() is None and warm_up() is None
    after = extract_article(_page(lang=""), url)
    assert before is not None and after == before
    assert after.language == "en"  # the language model that warm_up loads still answers
    assert extract_article(_page(), url, options=ExtractOptions(min_words=10_000)) is None  # options still apply


@pytest.mark.parametrize("wrap", [
    ("", ""), ("<!--", "-->"), ("//<![CDATA[", "//]]>"), ("<![CDATA[", "]]>"),
])
@pytest.mark.parametrize("headline", ["Tram line approved", "Tram line\napproved"])  # a raw newline in a string
def test_jsonld_read_when_wrapped_or_with_raw_newlines(wrap: tuple[str, str], headline: str):
    ld = (f'<script type="application/ld+json">{wrap[0]}{{"@context": "https://schema.org", "@type": '
          f'"NewsArticle", "headline": "{headline}", "datePublished": "2023-09-21T06:15:00+02:00"}}{wrap[1]}</script>')
    a = extract_article(_page(ld), "https://city.example/tram")
    assert a is not None and a.published == "2023-09-21T06:15:00+02:00"


@pytest.mark.parametrize("head", [
    '<link rel="canonical" href="http://[oops">', '<meta property="og:url" content="http://[oops">',
    '<meta property="og:image" content="http://[oops">',
    '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Tram line approved", '
    '"image": "http://[oops"}</script>',
])
def test_malformed_metadata_url_keeps_the_article(head: str):
    a = extract_article(_page(head), "https://city.example/tram")  # urljoin raises on an unclosed IPv6 host
    assert a is not None and a.text == "\n".join(PARAS)
    assert a.canonical_url == "https://city.example/tram" and a.image is None


def test_parsed_tree_uses_the_c_class_lookup_with_html_elements() -> None:
    """Every element of the parsed page is a plain HtmlElement (lxml's C lookup, no Python call per proxy).

    lxml.html's own lookup is a Python method run for every element proxy (about 6 % of a page's
    extraction); copies of the tree (trafilatura's passes) keep the parser, so they gain too.
    """
    tree = _parse("<html><body><form action='/s'><label>Q</label><input name='q'></form>"
                  "<p>Text <b>bold</b></p></body></html>")
    assert tree is not None
    for el in [*tree.iter(), *deepcopy(tree).iter()]:
        assert type(el) is HtmlElement, el.tag
    assert tree.find(".//p").text_content() == "Text bold"


def test_body_text_skips_the_metadata_the_body_does_not_depend_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """body_text computes the title (its repeated line is dropped), not dates, paywall, authors or language."""
    html = page("wordpress_article.html").decode("utf-8")
    expected = extract_article(html, "https://riverside.example/a")
    assert expected is not None

    def unused(*args: object, **kwargs: object) -> None:
        raise AssertionError("body_text ran a step whose result it does not use")

    for name in ("_published", "detect_paywall", "_page_metadata", "_detect_language", "_declared_language"):
        monkeypatch.setattr(api, name, unused)
    assert body_text(html, "https://riverside.example/a") == expected.text
