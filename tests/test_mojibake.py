"""Pages whose UTF-8 was read as Latin-1/windows-1252 upstream and saved again ("â€™" for "’")."""

from __future__ import annotations

import pytest

from crawler.discovery.links import decode_html, parse_html
from crawler.discovery.mojibake import undo_double_encoding
from crawler.extract.api import extract_article

TITLE = "A Beginner’s Guide to Café Crème — “Strong” Coffee for €2"
AUTHOR = "José Núñez"
PARAGRAPH = ("Señora Ibáñez’s café serves crème brûlée at 4 °C, “never warmer”, and the espresso costs "
             "€2 — a price she has kept since 2019. Customers come from Zürich and Kraków for it. ")


def _page() -> str:
    body = "".join(f"<p>{PARAGRAPH * 2}Paragraph {i}.</p>" for i in range(6))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>'
            f'<meta property="og:title" content="{TITLE}"><meta name="author" content="{AUTHOR}">'
            f'<meta property="article:published_time" content="2025-03-04T10:00:00+01:00"></head>'
            f'<body><article><h1>{TITLE}</h1><p class="byline">By {AUTHOR}</p>{body}'
            f'<a href="/menu/crème-brûlée">Crème brûlée</a></article></body></html>')


def _garbled(text: str, codec: str) -> str:
    """What a CMS serves after reading UTF-8 as ``codec`` and writing it back as UTF-8.

    windows-1252 as browsers read it: the five bytes it leaves undefined are the C1 controls.
    """
    data = text.encode("utf-8")
    if codec == "latin-1":
        return data.decode("latin-1")
    return "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in data)


@pytest.mark.parametrize("codec", ["latin-1", "cp1252"])
def test_a_double_encoded_page_is_extracted_as_the_author_wrote_it(codec):
    garbled = _garbled(_page(), codec)
    assert "â€" in garbled or "\u00e2\u0080" in garbled  # the test page is garbled indeed
    article = extract_article(garbled.encode("utf-8"), "https://cafe.example/2025/03/guide")
    assert article is not None
    assert article.title == TITLE
    assert article.authors == [AUTHOR]
    assert "Señora Ibáñez’s café serves crème brûlée at 4 °C" in article.text
    assert "â" not in article.text and "Ã" not in article.text


def test_a_utf8_page_the_server_labels_latin1_is_read_as_utf8():
    data = _page().encode("utf-8")
    assert decode_html(data, "iso-8859-1") == _page()  # the label said Latin-1, the bytes are UTF-8
    article = extract_article(data, "https://cafe.example/2025/03/guide", charset="iso-8859-1")
    assert article is not None and article.title == TITLE


def test_links_of_a_double_encoded_page_are_the_real_ones():
    root = parse_html(_garbled(_page(), "latin-1").encode("utf-8"))
    assert root is not None
    assert "/menu/crème-brûlée" in root.xpath("//a/@href")


@pytest.mark.parametrize("text", [
    "plain ASCII",
    "café crème, “quoted”, don’t — 2 €",  # right as it is: windows-1252 characters, no garbling
    "東京都内の公園で桜が満開",
    "São Paulo ÂÃ alone",  # lead letters with no continuation after them
    "Investor’s guide, and later Investorâ€™s",  # partly garbled: left (ftfy territory)
    "Â©",  # a single pair decodes (©) ...
])
def test_text_that_is_not_wholly_garbled_is_left_alone(text):
    expected = "©" if text == "Â©" else text  # ... because its bytes are exactly UTF-8's for ©
    assert undo_double_encoding(text) == expected


def test_twice_garbled_text_is_repaired_and_a_genuine_latin1_page_is_not():
    once = _garbled("Investor’s", "cp1252")
    assert once == "Investorâ€™s"
    assert undo_double_encoding(_garbled(once, "cp1252")) == "Investor’s"
    latin1_page = "<html><body><p>Le café de la place Saint-Étienne a rouvert</p></body></html>".encode("cp1252")
    assert "café" in decode_html(latin1_page, "iso-8859-1")
