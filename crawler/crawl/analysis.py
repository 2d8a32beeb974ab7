"""A fetched page analysed once, in a CPU thread: its kind, the feeds it announces, its pagination, its links.

The spider's reactor thread only routes: everything per page that costs CPU (the parse, the
page classifier, finding links and checking and canonicalizing each of them; a section page has
hundreds) happens here, in the crawl's one analysis thread (``crawler.context.in_cpu_thread``).
The page is decoded as the extractor decodes it (the response's charset), so both read the
same text and hrefs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crawler.discovery.feeds import feed_links
from crawler.discovery.links import extract_links, next_page_links, parse_html
from crawler.discovery.pagekind import PageKind, classify_page, looks_like_article_url
from crawler.urls import canonicalize_url, is_allowed_domain, url_problem


@dataclass(frozen=True)
class Link:
    """A link of a page, checked where the page is parsed (a thread): the reactor only looks it up.

    ``url`` is canonical when ``problem`` is None and the link is not ``offsite``, else as found
    (for the skip line; an offsite link is only counted).
    """

    url: str
    problem: str | None = None
    article_like: bool = False
    offsite: bool = False


def vet_links(urls: list[str], allowed_domains: Sequence[str] | None = None) -> list[Link]:
    """:func:`~crawler.urls.url_problem`, canonicalization and the article-URL test of each link:
    per-link CPU work (a section page has hundreds) that is not done on the reactor thread.

    With ``allowed_domains``, a link outside them is marked ``offsite`` and neither canonicalized
    nor tested: the spider drops it anyway, and on pages that link out a lot (most links of a
    page syndicated from elsewhere, social and partner links) those two steps were most of the
    vetting's CPU. The domain test reads the host as canonicalization would write it (lower
    case, IDNA, no trailing dot, port ignored), so the verdict is the same either way.
    """
    vetted = []
    for url in urls:
        problem = url_problem(url)
        if problem is not None:
            vetted.append(Link(url, problem))
        elif allowed_domains is not None and not is_allowed_domain(url, allowed_domains):
            vetted.append(Link(url, None, offsite=True))
        else:
            vetted.append(Link(canonicalize_url(url), None, looks_like_article_url(url)))
    return vetted


@dataclass
class PageLinks:
    kind: PageKind
    feeds: list[Link]
    next_pages: list[Link]
    links: list[Link]


def analyse_page(body: bytes, url: str, content_type: str, article_patterns, deny_patterns,
                 discovered: dict | None = None, charset: str | None = None,
                 allowed_domains: Sequence[str] | None = None) -> PageLinks:
    """Parse a page once: its kind, the feeds it announces, its pagination and its links.

    ``charset``: the response's encoding, which the extractor gets too (one decoding of a page).
    ``allowed_domains``: the seed's; links outside them come back ``offsite`` (:func:`vet_links`).
    """
    tree = parse_html(body, content_type, charset=charset)
    if tree is None:
        return PageLinks(PageKind("other", "unparseable"), [], [], [])
    return PageLinks(
        kind=classify_page(tree, url, article_patterns=article_patterns, deny_patterns=deny_patterns, tree=tree,
                           discovered=discovered),
        feeds=vet_links(feed_links(tree, url), allowed_domains),
        next_pages=vet_links(next_page_links(tree, url), allowed_domains),
        links=vet_links(extract_links(tree, url), allowed_domains),
    )
