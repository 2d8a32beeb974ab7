"""trafilatura's private helpers that newswarc uses (crawler/extract/_trafilatura.py) are still there, as used.

A trafilatura upgrade that renames one or changes its parameters fails here, naming it, rather
than somewhere inside an extraction.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from lxml.html import HTMLParser, fromstring

from crawler.extract import _trafilatura as adapter

SOURCES = {"trafilatura.utils": ("DOCTYPE_TAG", "FAULTY_HTML", "HTML_PARSER", "INVALID_XML_CHARS", "line_processing",
                                 "trim"),
           "trafilatura.xpaths": ("AUTHOR_XPATHS", "AUTHOR_DISCARD_XPATHS"),
           "trafilatura.json_metadata": ("normalize_authors",),
           "trafilatura.metadata": ("META_URL", "examine_meta", "extract_author", "extract_catstags",
                                    "extract_meta_json", "extract_sitename", "extract_title", "extract_url")}


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, names in SOURCES.items() for n in names])
def test_private_helper_still_exists(module, name):
    assert hasattr(importlib.import_module(module), name), f"trafilatura changed: {module}.{name} is gone"


@pytest.mark.parametrize("name", sorted(adapter.PRIVATE_FUNCTIONS))
def test_private_function_keeps_its_parameters(name):
    func = getattr(adapter, name)
    params = tuple(inspect.signature(inspect.unwrap(func)).parameters)
    assert params[:len(adapter.PRIVATE_FUNCTIONS[name])] == adapter.PRIVATE_FUNCTIONS[name], (
        f"trafilatura changed the parameters of {name}: {params}")


def test_private_constants_keep_their_kind():
    for name in adapter.PRIVATE_PATTERNS:
        assert isinstance(getattr(adapter, name), re.Pattern), f"trafilatura changed {name}: not a regex any more"
    assert isinstance(adapter.HTML_PARSER, HTMLParser)


def test_private_helpers_still_do_what_newswarc_relies_on():
    tree = fromstring('<html><head><title>Tram line | City</title><meta name="author" content="Jane Roe">'
                      '<meta property="og:site_name" content="City News"></head><body><p>x</p></body></html>')
    doc = adapter.examine_meta(tree)
    assert isinstance(doc, adapter.Document) and doc.author == "Jane Roe" and doc.sitename == "City News"
    assert adapter.line_processing("  two   words \u200b ") == "two words"
    assert adapter.extract_url(tree, "https://city.example/tram") == "https://city.example/tram"
    # load_html's repairs: a doctype with a "/" (libxml2 chokes on some), a self-closing <html/>
    assert adapter.DOCTYPE_TAG.sub("", '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN"><html>') == "<html>"
    assert adapter.FAULTY_HTML.sub(r"\1>", '<html lang="en"/><body>') == '<html lang="en"><body>'
    assert adapter.INVALID_XML_CHARS.sub("", "a\x0bb") == "ab"


def _page(extra: str = "") -> str:
    paras = "".join(f"<p>Paragraph {i} of the council's report on the new tram line, which opens next spring and "
                    "links the station to the hospital, the university and the northern suburbs.</p>" for i in range(8))
    return f"<html><head><title>Tram</title></head><body><article><h1>Tram line</h1>{paras}</article>{extra}</body></html>"


def _run(html: str, bound: bool, monkeypatch) -> tuple[str, int]:
    """trafilatura's text for ``html`` in precision mode, and how often its comparison really ran."""
    calls = []
    real = adapter.compare_extraction
    counted = lambda *a: calls.append(1) or real(*a)  # noqa: E731
    monkeypatch.setattr(adapter, "compare_extraction", counted)  # the bounded path's call
    monkeypatch.setattr(importlib.import_module("trafilatura.core"), "compare_extraction", counted)  # trafilatura's
    cls = adapter.BoundedExtractor if bound else adapter.Extractor
    opts = cls(output_format="python", with_metadata=False, comments=False, precision=True)
    tree = fromstring(html)
    if bound:
        opts.text_bound = adapter.text_bound(tree)
    return adapter.bare_extraction(tree, options=opts).text, len(calls)


def test_trafilatura_looks_up_its_extraction_step_at_each_call():
    core = importlib.import_module("trafilatura.core")
    names = adapter._extract_and_compare.__code__.co_names  # the replaced step: extraction, then comparison
    assert {"extract_content", "compare_extraction"} <= set(names), (
        "trafilatura changed: _extract_and_compare no longer calls extract_content and compare_extraction")
    assert "_extract_and_compare" in core.trafilatura_sequence.__code__.co_names
    assert core._extract_and_compare is adapter._extract_and_compare_bounded


def test_futile_comparison_is_skipped_with_the_same_text(monkeypatch):
    plain, ran = _run(_page(), bound=False, monkeypatch=monkeypatch)
    assert ran == 1  # without a bound (any other caller of trafilatura): as trafilatura does
    bounded, ran = _run(_page(), bound=True, monkeypatch=monkeypatch)
    assert ran == 0 and bounded == plain and "Paragraph 7" in bounded


def test_comparison_runs_when_readability_could_win(monkeypatch):
    # as much text again outside the article: readability's could be more than twice trafilatura's
    menu = "<div>" + "".join(f"<span>Section number {i} of the site menu</span>" for i in range(120)) + "</div>"
    plain, _ = _run(_page(menu), bound=False, monkeypatch=monkeypatch)
    bounded, ran = _run(_page(menu), bound=True, monkeypatch=monkeypatch)
    assert ran == 1 and bounded == plain


def test_text_bound_is_the_trimmed_text_length():
    tree = fromstring("<html><body><p>  two \n words </p><div>and\tthree</div></body></html>")
    assert adapter.text_bound(tree) == len("two words and three")
