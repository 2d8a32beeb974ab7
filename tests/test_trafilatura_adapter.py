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

SOURCES = {"trafilatura.utils": ("DOCTYPE_TAG", "FAULTY_HTML", "HTML_PARSER", "INVALID_XML_CHARS", "line_processing"),
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
