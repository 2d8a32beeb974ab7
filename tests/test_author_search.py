"""extract/_author_search.py gives trafilatura's extract_author answer without copying the page."""

from __future__ import annotations

import pytest
from lxml.html import fromstring

from crawler.extract import _author_search
from crawler.extract._author_search import EMULATED, author_search
from crawler.extract._trafilatura import extract_author
from crawler.extract.api import parse_page

PAGES = {
    "plain": '<div class="byline">By Jane Roe</div>',
    "second_expression": '<span class="posted-by">Posted by Ann Lee</span>',
    "last_resort": '<section class="post-writer">Tom Ford</section>',
    "first_expression_wins": '<p class="byline">By Ann Lee</p><span class="author-name">Jane Roe</span>',
    "in_comments": '<div id="comments"><span class="author">Troll Name</span></div><p class="byline">Ann Lee</p>',
    "inside_figure": '<figure><span class="author">Photo Agency</span></figure><div class="byline">Jane Roe</div>',
    # a deleted <time>'s tail joins the text before it: "By Jane Roe" then "Ann", no space added
    "tail_merge": '<div class="byline">By Jane<time>May 1</time>Roe, <span class="date">x</span>Ann</div>',
    "too_long": '<div class="byline">' + "word " * 40 + '</div><span class="author">Jane Roe</span>',
    "too_short": '<div class="byline">JR</div><div class="writer">Ann Lee</div>',
    "nothing": '<div class="content">No byline here.</div>',
    "nested_match": '<div class="author-box"><a rel="author">Jane Roe</a></div>',
    "email": '<span class="author">jane@example.com</span><div class="byline">Ann Lee</div>',
}


def _tree(body: str):
    return parse_page(f"<html><head><title>t</title></head><body><article><p>Text.</p>{body}</article></body></html>")[0]


def test_trafilatura_expressions_are_the_emulated_ones():
    assert EMULATED, "trafilatura changed its author expressions: _author_search falls back to extract_author"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_same_answer_as_trafilatura(name):
    tree = _tree(PAGES[name])
    assert author_search(tree) == extract_author(tree)


def test_pages_read_as_expected():
    assert author_search(_tree(PAGES["in_comments"])) == "Ann Lee"
    assert author_search(_tree(PAGES["inside_figure"])) == "Jane Roe"
    assert author_search(_tree(PAGES["nothing"])) is None


def test_tree_left_untouched():
    tree = _tree(PAGES["tail_merge"])
    before = tree.text_content()
    author_search(tree)
    assert tree.text_content() == before


def test_comment_nodes_fall_back_to_trafilatura(monkeypatch):
    calls = []
    monkeypatch.setattr(_author_search, "extract_author", lambda tree: calls.append(tree) or "X Y")
    tree = fromstring('<html><body><!-- note --><div class="byline">By Jane Roe</div></body></html>')
    assert author_search(tree) == "X Y" and calls == [tree]
