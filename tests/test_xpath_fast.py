"""extract/_xpath_fast.py: trafilatura's class/id XPath expressions, translated, select the same elements."""

from __future__ import annotations

import random

import pytest
import trafilatura.xpaths as xpaths
from lxml import etree
from lxml.html import fromstring

from crawler.extract import _trafilatura as adapter
from crawler.extract._xpath_fast import FastXPath, fast_xpaths, install, translate_xpath

_TAGS = ("div", "section", "p", "span", "article", "main", "aside", "list", "item", "ul", "ol", "details", "header",
         "h1", "a")
_ATTRS = ("id", "class", "style", "role", "aria-hidden", "itemprop", "data-component", "data-lp-replacement-content")
_VALUES = ("", "share-buttons", "shared", "comment-list", "Comments", "commentary", "comments-title", "hidden",
           "display: none", "display:none", "border: 1px", "post-content", "post", "entry", "articleBody", "related",
           "main-content", "MainContent", "Page-Content", "caption", "teaser", "Teaser", "bottom", "page bottom-bar",
           "link", "permalink", "reply-to", "cookie", "nav", "NAVIGATION", "Nav", "mvp-post-add-box",
           "infinite-scroll", "ad-top", "x ad y", "true", "FullText", "story", "content", "main", "article x",
           "elementor-share-buttons", "navigation", "MostPopularStories", "a-reply-b", " hidden", "disqus_thread")


def _random_page(seed: int, size: int = 400) -> etree._Element:
    """Nested elements with attribute values that trafilatura's expressions test, in random order."""
    rng = random.Random(seed)
    root = fromstring("<html><body><div id='root'></div></body></html>")
    nodes = [root.find(".//div")]
    for i in range(size):
        el = etree.SubElement(rng.choice(nodes[-30:] + nodes[:3]), rng.choice(_TAGS))
        for name in rng.sample(_ATTRS, rng.randint(0, 4)):
            el.set(name, rng.choice(_VALUES))
        el.text = f"text {i}"
        nodes.append(el)
    return root


def _translated() -> list[tuple[str, FastXPath]]:
    return [(f"{name}[{i}]", expr) for name in adapter.FAST_XPATH_LISTS
            for i, expr in enumerate(getattr(xpaths, name)) if isinstance(expr, FastXPath)]


def test_the_costly_expressions_are_translated():
    names = {name for name, _ in _translated()}
    assert {"OVERALL_DISCARD_XPATH[0]", "OVERALL_DISCARD_XPATH[1]", "BODY_XPATH[0]",
            "REMOVE_COMMENTS_AND_LISTS_XPATH[0]"} <= names, names


@pytest.mark.parametrize("seed", range(12))
def test_translation_selects_the_same_elements_in_the_same_order(seed):
    tree = _random_page(seed)
    for name, expr in _translated():
        for context in (tree, tree.find("body"), tree.find(".//div")):
            want = expr.original(context)
            got = expr.fast(context)
            assert [id(e) for e in got] == [id(e) for e in want], name
    assert any(expr.original(tree) for _, expr in _translated())  # the page exercises the expressions


def test_attribute_order_decides_which_of_two_is_tested():
    # XPath's string value of @id|@class is the first of the two on the element
    path = ".//*[re:test(@id|@class, '^x')]"
    original = etree.XPath(path, namespaces={"re": xpaths.REGEXP_NS})
    fast, _ = translate_xpath(path)
    tree = fromstring('<div><p id="x1" class="y">a</p><p class="y" id="x2">b</p><p class="x3">c</p></div>')
    assert [e.text for e in fast(tree)] == [e.text for e in original(tree)] == ["a", "c"]


def test_first_child_per_parent_and_first_in_document():
    tree = fromstring("<div><section><p class='k'>1</p><p class='k'>2</p></section><p class='k'>3</p></div>")
    for path in (".//*[re:test(@class, 'k')][1]", "(.//*[re:test(@class, 'k')])[1]"):
        original = etree.XPath(path, namespaces={"re": xpaths.REGEXP_NS})
        fast, _ = translate_xpath(path)
        assert [e.text for e in fast(tree)] == [e.text for e in original(tree)]


@pytest.mark.parametrize("path", [".//div[position()=2]", "//p[re:match(@class, 'x')]", ".//*[count(p) > 1]",
                                  "(.//article)[1]", ".//*[@class='a'] | .//main", ".//*[re:test(@id, 'a', 'x')]"])
def test_an_expression_outside_the_subset_is_not_translated(path):
    assert translate_xpath(path) is None
    exprs = [etree.XPath(path, namespaces={"re": xpaths.REGEXP_NS})]
    assert install([exprs]) == 0 and isinstance(exprs[0], etree.XPath)  # trafilatura's own stays


def test_other_callers_get_trafilaturas_own_xpath():
    calls = []
    exprs = [etree.XPath(".//*[re:test(@class, 'k')]", namespaces={"re": xpaths.REGEXP_NS})]
    assert install([exprs]) == 1
    stand_in = exprs[0]
    fast = stand_in.fast
    stand_in.fast = lambda tree: calls.append(tree) or fast(tree)
    tree = fromstring("<div><p class='k'>x</p></div>")
    assert len(stand_in(tree)) == 1 and not calls
    with fast_xpaths():
        assert len(stand_in(tree)) == 1 and calls == [tree]
    assert len(stand_in(tree)) == 1 and len(calls) == 1
