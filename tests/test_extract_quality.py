"""Extraction on the shapes of real, modern pages (small pages written here, no shared data)."""

from __future__ import annotations

import json

import pytest

from crawler.discovery.links import extract_links
from crawler.errors import ConfigError
from crawler.extract import ExtractOptions, extract_article, extract_with_reason
from crawler.extract.authors import clean_authors, clean_one
from crawler.extract.timecap import PageTimeCap, time_cap
from crawler.extract.title import strip_site_name

URL = "https://news.example.org/2025/03/04/council-approves-harbour-plan"
SENTENCES = [
    "The council approved the harbour plan on Tuesday after a long debate about costs and timing.",
    "Residents who live near the water front asked for more details about the construction noise.",
    "The mayor said the first phase would begin in the spring and finish before the summer season.",
    "Engineers expect the new breakwater to protect the fishing fleet from the worst winter storms.",
    "Opponents argued that the money should go to schools and roads instead of the harbour works.",
    "A final vote on the second phase is expected next year, once the first contracts are signed.",
]
BODY = "".join(f"<p>{s} {s}</p>" for s in SENTENCES)


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head><title>Council approves harbour plan</title>{head}</head><body>{body}</body></html>"


def test_unclosed_button_does_not_swallow_the_article() -> None:
    html = page(f'<header><button class="menu-button"><span>Menu</span></header><main><article>{BODY}</article></main>')
    article = extract_article(html, URL)
    assert article is not None and "breakwater" in article.text and "second phase" in article.text


def test_share_class_on_the_content_wrapper_keeps_the_content() -> None:
    html = page(f'<article><div class="post-content share-btn">{BODY}</div></article>')
    article = extract_article(html, URL)
    assert article is not None and "breakwater" in article.text


def test_related_teaser_cards_are_still_pruned() -> None:
    card = ('<article class="teaser post-{n} category-x"><a href="/s/{n}">Story {n}</a><p>A teaser excerpt about another story that runs long '
            'enough to look like prose, number {n}, with more words to make it count here.</p></article>')
    related = '<div class="related-posts"><h3 class="related-title">Related</h3>' + "".join(
        card.format(n=n) for n in range(6)) + "</div>"
    article = extract_article(page(f"<article>{BODY}</article>{related}"), URL)
    assert article is not None and "teaser excerpt" not in article.text and "breakwater" in article.text


def test_react_streamed_segment_is_not_hidden_content() -> None:
    html = page(f'<main><template id="B:0"></template></main><div hidden id="S:0"><article>{BODY}</article></div>'
                '<script>$RC("B:0","S:0")</script>')
    article = extract_article(html, URL)
    assert article is not None and "breakwater" in article.text


def test_content_after_end_of_html_is_part_of_the_body() -> None:
    html = page("<p>Short intro.</p>") + f'<article>{BODY}</article><a href="/2025/03/05/next-story">next</a>'
    article = extract_article(html, URL)
    assert article is not None and "breakwater" in article.text
    assert "https://news.example.org/2025/03/05/next-story" in extract_links(html, URL)


def test_title_without_site_name_and_from_agreeing_h1() -> None:
    head = '<meta property="og:site_name" content="Harbour Herald">'
    html = page(f"<article>{BODY}</article>", head).replace(
        "<title>Council approves harbour plan</title>", "<title>Council approves harbour plan | Harbour Herald</title>")
    assert extract_article(html, URL).title == "Council approves harbour plan"
    with_h1 = html.replace("<article>", "<article><h1>Council approves the harbour plan after debate</h1>")
    assert extract_article(with_h1, URL).title == "Council approves the harbour plan after debate"
    # an <h1> that is only the logo does not replace the headline
    logo = html.replace("<body>", "<body><h1>Harbour Herald</h1>")
    assert extract_article(logo, URL).title == "Council approves harbour plan"


def test_strip_site_name() -> None:
    assert strip_site_name("What is Cloud Computing? | Example Cloud", ["Example Cloud"]) == "What is Cloud Computing?"
    assert strip_site_name("8 Trends in Photography - Flatworld Solutions", [], "https://www.flatworldsolutions.com/x") \
        == "8 Trends in Photography"
    assert strip_site_name("Plain headline", ["Site"]) == "Plain headline"
    assert strip_site_name("Rust 2025 - a retrospective", ["Blog"]) == "Rust 2025 - a retrospective"


def test_author_cleaning() -> None:
    assert clean_one("By Harry Rabinowitz Tech Reporter") == "Harry Rabinowitz"
    assert clean_one("Luke Kim December 3, 2025") == "Luke Kim"
    assert clean_one("Article by Cara Dumaplin RN") == "Cara Dumaplin"
    assert clean_one("Staff") is None
    assert clean_one("By Tom May") == "Tom May"
    assert clean_authors(["Tina Flint Huffman", "Tina Huffman", "Greenhouse Studio"], ["Greenhouse Studio"]) \
        == ["Tina Flint Huffman"]
    assert clean_authors(["Jane Roe, Staff Writer"]) == ["Jane Roe"]
    assert clean_authors(["Greenhouse Studio"], ["Greenhouse Studio"]) == ["Greenhouse Studio"]  # nobody else


def test_jsonld_author_by_id_reference() -> None:
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "NewsArticle", "headline": "Council approves harbour plan", "datePublished": "2025-03-04T10:00:00+01:00",
         "author": {"@id": "https://news.example.org/#/person/1"}},
        {"@type": "Person", "@id": "https://news.example.org/#/person/1", "name": "Jane Roe"}]}
    head = f'<script type="application/ld+json">{json.dumps(graph)}</script>'
    article = extract_article(page(f"<article>{BODY}</article>", head), URL)
    assert article.authors == ["Jane Roe"]
    assert article.published == "2025-03-04T10:00:00+01:00"


def test_a_person_named_by_id_reference_has_its_entities_decoded() -> None:
    graph = {"@graph": [{"@type": "NewsArticle", "headline": "Council approves harbour plan",
                         "author": {"@id": "#p1"}},
                        {"@type": "Person", "@id": "#p1", "name": "Ana&#239;s O&#8217;Neil"}]}
    head = f'<script type="application/ld+json">{json.dumps(graph)}</script>'
    assert extract_article(page(f"<article>{BODY}</article>", head), URL).authors == ["Ana\u00efs O\u2019Neil"]


def test_the_time_cap_is_not_swallowed_by_a_best_effort_except() -> None:
    """The cap can strike inside ``try: … except Exception`` (lxml's second parse, htmldate's search):
    the page is still cut off there, not run on uncapped (the timer fires once)."""
    with pytest.raises(PageTimeCap):
        with time_cap(0.005):
            try:
                while True:
                    pass
            except Exception:  # what a fallback in the extractor or a library does
                pass


def test_time_cap_cuts_off_a_page_and_says_so() -> None:
    big = page("<article>" + BODY * 200 + "</article>")
    article, reason = extract_with_reason(big, URL, options=ExtractOptions(time_cap=0.002))
    assert (article, reason) == (None, "time_cap")
    article, reason = extract_with_reason(big, URL)  # the default cap leaves an ordinary page alone
    assert reason is None and "breakwater" in article.text
    assert ExtractOptions.from_mapping({"time_cap": 0}, source="s.toml").time_cap == 0.0
    with pytest.raises(ConfigError):
        ExtractOptions.from_mapping({"time_cap": "soon"}, source="s.toml")
