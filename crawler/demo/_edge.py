"""Unlinked ``/_edge/...`` endpoints: errors, huge, binary, badly encoded and broken pages.

They exist for archive and robustness tests; no page links to them, so a crawl never sees them.
The article-like ones have ground truth in ``DemoSite.edge_articles``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING

from crawler.demo._pages import HTML, Page, article_page, layout, not_found_page
from crawler.demo._text import TextWriter, Vocabulary

if TYPE_CHECKING:
    from crawler.demo.site import DemoSite

BIG_SIZE = 5 * 1024 * 1024
_WHEN = datetime(2026, 10, 15, 9, 30, tzinfo=UTC)


def _plain(text: str) -> str:
    """Straight quotes only: ``“`` and ``”`` have no ISO-8859-1 code."""
    return text.replace("\u201c", '"').replace("\u201d", '"')


def edge_paragraphs(vocab: Vocabulary, seed: int) -> dict[str, tuple[str, list[str]]]:
    """The titles and exact bodies of the article-like edge pages, by path."""
    rng = random.Random(seed * 7919 + 17)
    w = TextWriter(vocab, rng, "culture")
    words = vocab["latin1_words"]
    latin1 = [_plain(f"{w.sentence()} Visitors spoke of the {rng.choice(words)} and of the "
                     f"{rng.choice(words)} in {rng.choice(vocab['places'])}. {w.sentence()}") for _ in range(4)]
    cp1252 = [f"\u201cIt\u2019s a {rng.choice(vocab['adjectives'])} moment\u201d \u2013 {w.person()} said "
              f"\u2014 tickets cost \u20ac{rng.randint(5, 90)}\u2026 {w.sentence()}" for _ in range(4)]
    jp = list(vocab["japanese_sentences"])
    sjis = ["".join(rng.sample(jp, 3)) for _ in range(4)]
    broken = [w.paragraph() for _ in range(5)]
    return {"/_edge/latin1": ("Café society returns to Zürich", latin1),
            "/_edge/cp1252-nocharset": ("\u201cA record season\u201d \u2013 ticket prices rise again", cp1252),
            "/_edge/sjis": ("市議会が新しい予算案を承認", sjis),
            "/_edge/broken": (w.title(), broken)}


def _simple_article(title: str, paragraphs: list[str], lang: str = "en", meta_charset: str = "") -> str:
    meta = f'<meta charset="{meta_charset}">\n' if meta_charset else ""
    body = "\n".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n{meta}<title>{escape(title)}</title>\n'
            f'<meta property="og:type" content="article">\n'
            f'<meta property="article:published_time" content="{_WHEN.isoformat()}">\n</head>\n<body>\n'
            f'<header><a href="/">The Demo Gazette</a></header>\n<main><article><h1>{escape(title)}</h1>\n'
            f'<p class="byline">By Demo Staff, <time datetime="{_WHEN.isoformat()}">October 15, 2026</time></p>\n'
            f'<div class="entry-content">\n{body}\n</div></article></main>\n<footer>&copy; 2026</footer>\n'
            f'</body>\n</html>\n')


def _big(site: DemoSite, origin: str) -> bytes:
    rng = random.Random(site.seed * 31 + 5)
    w = TextWriter(site.vocab, rng, "economy")
    paras: list[str] = []
    size = 0
    while size < BIG_SIZE:
        p = w.paragraph()
        paras.append(p)
        size += len(p) + 8
    art = site.make_edge_article("/_edge/big", "Annual report: the complete figures", "economy")
    return article_page(site, origin, art, paras)


def edge_page(site: DemoSite, origin: str, path: str, query: str) -> Page | None:
    """The page for ``/_edge/<name>``, or ``None`` for an unknown name."""
    arts = site.edge_articles
    if path == "/_edge/500":
        body = layout(site, origin, title="Internal Server Error", main="<main><h1>Error establishing a "
                      "database connection</h1></main>")
        return Page(500, HTML, body)
    if path == "/_edge/404-page":
        return Page(404, HTML, not_found_page(site, origin))
    if path == "/_edge/big":
        return Page(200, HTML, site.cached(("big", origin), lambda: _big(site, origin)))
    if path == "/_edge/binary":
        return Page(200, "text/html", random.Random(site.seed).randbytes(64 * 1024))
    if path == "/_edge/latin1":
        a = arts[path]
        html = _simple_article(a.title, a.paragraphs)
        return Page(200, "text/html; charset=ISO-8859-1", html.encode("iso-8859-1"))
    if path == "/_edge/cp1252-nocharset":
        a = arts[path]
        return Page(200, "text/html", _simple_article(a.title, a.paragraphs).encode("cp1252"))
    if path == "/_edge/sjis":
        a = arts[path]
        html = _simple_article(a.title, a.paragraphs, lang="ja", meta_charset="Shift_JIS")
        return Page(200, "text/html", html.encode("shift_jis"))
    if path == "/_edge/broken":
        a = arts[path]
        html = _simple_article(a.title, a.paragraphs).replace("</p>", "").replace("</div>", "")
        cut = html.index("</article>")
        return Page(200, HTML, (html[:cut] + '<div class="related"><ul><li><a href="/categ').encode())
    if path == "/_edge/empty":
        return Page(200, HTML, b"")
    if path == "/_edge/query":
        return Page(200, "text/plain; charset=utf-8", query.encode())
    if path == "/_edge/headers":
        headers = [("X-Multi", "one"), ("X-Multi", "two"), ("X-Multi", "three"),
                   ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/; HttpOnly"),
                   ("Set-Cookie", "c=3; Path=/_edge/; Max-Age=60")]
        return Page(200, "text/plain; charset=utf-8", b"repeated headers\n", headers=headers)
    return None
