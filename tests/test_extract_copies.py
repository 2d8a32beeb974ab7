"""Pages that ship their article more than once (per-breakpoint layouts, gated copies, <noscript>)."""

from __future__ import annotations

from crawler.extract.api import extract_article
from crawler.extract.text import REPEAT_LINES, drop_repeated_blocks

URL = "https://harbour.example/2025/06/12/bridge-reopens/"
PARAGRAPHS = [f"Paragraph {i} of the harbour bridge story: engineers inspected cable {i} and found the "
              f"anchorage sound, the council said on Thursday, and traffic resumed at {i + 6} o'clock."
              for i in range(12)]


def _page(body: str) -> str:
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Bridge reopens</title>'
            '<meta property="og:title" content="Bridge reopens">'
            '<meta property="article:published_time" content="2025-06-12T09:00:00Z"></head>'
            f'<body><header><a href="/">Home</a></header><main>{body}</main>'
            '<footer><p>© Harbour Times</p></footer></body></html>')


def _article(cls: str = "") -> str:
    return f'<div class="{cls}"><h1>Bridge reopens</h1>' + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>"


def _once(text: str) -> None:
    for p in PARAGRAPHS:
        assert text.count(p) == 1, p


def test_a_layout_per_screen_width_gives_the_article_once():
    # three variants; CSS shows one per breakpoint, the HTML holds all of them
    body = _article("variant hidden-tablet hidden-phone") + _article("variant hidden-desktop hidden-phone") \
        + _article("variant hidden-desktop hidden-tablet")
    article = extract_article(_page(body), URL)
    assert article is not None
    _once(article.text)


def test_a_noscript_copy_beside_the_article_is_not_extracted_twice():
    article = extract_article(_page(_article("post") + f"<noscript>{_article('post')}</noscript>"), URL)
    assert article is not None
    _once(article.text)


def test_an_unclosed_noscript_holding_the_only_article_is_still_read():
    article = extract_article(_page("<noscript><p>Enable JavaScript.</p>" + _article("post")), URL)
    assert article is not None
    _once(article.text)


def test_repeated_lines_that_are_text_stay():
    refrain = "Rest day: walk for thirty minutes and stretch."
    lines = [line for week in range(8) for line in (f"Week {week}: run {week + 3} miles.", refrain)]
    assert drop_repeated_blocks(lines) == lines  # a refrain, however often
    short_run = PARAGRAPHS[:REPEAT_LINES - 1]
    lines = [*short_run, "Then the council met.", *short_run]
    assert drop_repeated_blocks(lines) == lines  # a run shorter than a copy of the article


def test_later_copies_of_a_long_block_go_and_the_first_stays_in_place():
    lines = ["Intro line.", *PARAGRAPHS, "Middle line.", *PARAGRAPHS, *PARAGRAPHS, "Last line."]
    assert drop_repeated_blocks(lines) == ["Intro line.", *PARAGRAPHS, "Middle line.", "Last line."]


def test_the_guard_removes_a_noscript_copy_and_unwraps_a_noscript_that_holds_the_page():
    from lxml.html import fromstring

    from crawler.extract.guard import PageProse, strip_tags_guarded

    copy = fromstring(f"<html><body>{_article('post')}<noscript>{_article('post')}</noscript></body></html>")
    strip_tags_guarded(copy, ("noscript",), PageProse(copy.find("body")))
    assert copy.text_content().count(PARAGRAPHS[0]) == 1
    only = fromstring(f"<html><body><noscript>{_article('post')}</noscript></body></html>")
    strip_tags_guarded(only, ("noscript",), PageProse(only.find("body")))
    assert only.text_content().count(PARAGRAPHS[0]) == 1


def test_a_collapsed_accordion_panel_is_read_and_a_hidden_block_without_a_control_is_not():
    panels = "".join(
        f'<h3><a role="button" aria-controls="step-{i}" id="step-{i}-head">Step {i}</a></h3>'
        f'<div id="step-{i}" style="display:none;" role="region"><p>{p}</p></div>'
        for i, p in enumerate(PARAGRAPHS))
    hidden = '<div style="display:none"><p>' + "A leftover draft paragraph nobody sees on the page. " * 4 + "</p></div>"
    article = extract_article(_page(f"<article><h1>Bridge reopens</h1>{panels}{hidden}</article>"), URL)
    assert article is not None
    _once(article.text)  # the panels open on a click: the reader's text
    assert "leftover draft" not in article.text


def test_pruning_unhides_the_panels_a_control_reveals_and_removes_other_hidden_blocks():
    from crawler.config.extract import ExtractOptions
    from crawler.extract.api import _parse, _prune

    tree = _parse(_page('<button aria-controls="faq-1 faq-2">FAQ</button>'
                        '<div id="faq-1" style="color: red; display:none !important;"><p>Answer one.</p></div>'
                        '<div id="faq-2" hidden><p>Answer two.</p></div>'
                        '<div id="draft" style="display:none"><p>Draft.</p></div>'))
    _prune(tree, ExtractOptions())
    assert tree.get_element_by_id("faq-1").get("style").strip() == "color: red;"
    assert tree.get_element_by_id("faq-2").get("hidden") is None
    assert tree.get_element_by_id("draft", None) is None


def test_two_noscript_copies_and_no_article_beside_them_give_the_article_once():
    noscripts = f"<noscript>{_article('post')}</noscript>" * 2
    article = extract_article(_page(noscripts), URL)
    assert article is not None
    _once(article.text)


def test_a_pattern_of_a_few_lines_over_and_over_is_text():
    rows = ["Yes", "No", "Included in the plan, with no extra fee for members of the club"] * 400
    assert drop_repeated_blocks(rows) == rows  # a table's repeating cells, not a copy of the article
    comments = [line for i in range(500) for line in (f"Comment {i}: thanks for the clear write-up.", "Reply")]
    assert drop_repeated_blocks(comments) == comments
