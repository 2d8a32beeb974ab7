"""Article or not, from many weak signals: a linear score over generic page features.

No single signal decides on real pages: ``og:type=article`` is set on every page by common
CMS plugins, forum threads carry ``article:published_time``, product pages have slug URLs,
and articles sit under ``WebPage`` JSON-LD with "next" links. Each feature below is a generic
property of a page (declared types, Open Graph, URL shape, how much prose it has and in how
many blocks, cards, forms, prices, reply threads, a byline, an `<h1>` matching the title); the weights were fitted by logistic
regression on one half of a development set of labelled real pages (split by site) and
checked on the other half (``docs/extraction.md``). The largest contribution is the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from lxml import etree

from crawler.discovery.jsonld import jsonld_types

__all__ = ["DOCS_URL", "FEATURES", "SERVICE_URL", "THRESHOLD", "article_score", "features", "main_articles"]

_ARTICLE = frozenset("article newsarticle blogposting reportagenewsarticle analysisnewsarticle opinionnewsarticle "
                     "reviewnewsarticle backgroundnewsarticle liveblogposting techarticle report "
                     "scholarlyarticle satiricalarticle".split())
_FORUM = frozenset("discussionforumposting qapage question answer comment socialmediaposting".split())
_PRODUCT = frozenset("product offer aggregateoffer productgroup softwareapplication individualproduct".split())
_COLLECTION = frozenset("collectionpage itemlist searchresultspage profilepage".split())
_SERVICE = frozenset("service localbusiness professionalservice organization corporation contactpage "
                     "aboutpage faqpage howto course event".split())
_FORUM_URL = re.compile(r"/(?:forums?|threads?|t|topic|topics|questions|discussions?|community|communities|"
                        r"r|comments|board|boards|groups?)(?:/|$|\?)|/(?:show|view)(?:topic|thread)", re.I)
_PRODUCT_URL = re.compile(r"/(?:products?|shop|store|item|p|dp|buy|collections)(?:/|$)", re.I)
SERVICE_URL = re.compile(r"/(?:services?|solutions?|seminars?|webinars?|pricing|plans|portfolio|platform|"
                         r"industries|use-cases)(?:/|$)", re.I)
DOCS_URL = re.compile(r"/(?:docs?|documentation|reference|api|manual|guide/\w|developers?|kb|"
                      r"knowledge-?base|support|help)(?:/|$|\.)", re.I)
_BLOG_URL = re.compile(r"/(?:blog|blogs|news|articles?|posts?|stories|story|insights|magazine|journal|"
                       r"resources|learn|guides?)/[^/]", re.I)
_DATE_URL = re.compile(r"/(?:19|20)\d{2}/(?:0?[1-9]|1[0-2])(?:/|$)|(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-\d{2}")
# The page text is matched lower-cased, once, and class names one by one: Python's re with
# IGNORECASE cannot skip ahead to the letters a match starts with, and costs several times more
# over a page's text (scripts included: tens of kilobytes).
_PRICE = re.compile(r"(?:[$€£]\s?\d[\d,.]*|\d[\d,.]*\s?(?:€|USD|EUR))")
_SIGN_PRICE = re.compile(r"[$€£]\s?\d[\d,.]*")  # _PRICE where no text can end a price ("€", "USD", "EUR")
_CART = ("add to cart", "add to bag", "add to basket", "buy now", "in stock", "out of stock", "add to wishlist")
# r"\b(?:reply|replies|quote|upvote|votes?|joined|posts:)\b", with each word's boundary checked
# after its first letter, so that the search jumps from one of those letters to the next
_REPLY = re.compile(r"(?:r(?<=\br)(?:eply|eplies)|q(?<=\bq)uote|u(?<=\bu)pvote|v(?<=\bv)otes?|j(?<=\bj)oined"
                    r"|p(?<=\bp)osts:)\b")
_CARD_CLASS = re.compile(r"card|teaser|tile|item|grid|product")
_BYLINE_CLASS = re.compile(r"author|byline")
_POST_CLASS = re.compile(r"comment|reply|message|post-body|postbody|answer")
_WORD = re.compile(r"\w+")

FEATURES = ("bias", "ld_forum", "ld_product", "ld_collection", "ld_service", "ld_webpage",
            "og_article", "og_website", "og_product", "published_meta", "author_meta", "date_url",
            "blog_url", "forum_url", "product_url", "service_url", "docs_url", "url_depth0", "slug_words", "log_prose",
            "long_paragraphs", "prose_share_main", "prose_share_section", "prose_share_text", "link_share", "headline_links", "price", "cart", "reply_words",
            "forms", "time_tags", "h2_count", "card_share", "dated_article", "h1_agrees", "single_h1", "byline",
            "post_blocks", "table_rows", "code_blocks")

WEIGHTS = {  # fitted on the tune half by bench/fit_pagekind.py (docs/extraction.md)
    "bias": -3.505, "ld_forum": -0.804, "ld_product": -1.636, "ld_collection": -1.177, "ld_service": -0.464,
    "ld_webpage": -0.255, "og_article": 0.854, "og_website": 0.278, "og_product": -1.496,
    "published_meta": 0.45, "author_meta": 0.716, "date_url": 1.302, "blog_url": 1.372, "forum_url": -2.251,
    "product_url": -0.639, "service_url": -2.657, "docs_url": -2.428, "url_depth0": -1.207, "slug_words": 0.25,
    "log_prose": 0.216, "long_paragraphs": 0.034, "prose_share_main": 1.026, "prose_share_section": 1.056,
    "prose_share_text": 1.118, "link_share": -1.411, "headline_links": 0.004, "price": -0.02, "cart": -0.172,
    "reply_words": -0.005, "forms": -0.01, "time_tags": -0.039, "h2_count": 0.007, "card_share": 0.069,
    "dated_article": 0.739, "h1_agrees": 0.494, "single_h1": -0.275, "byline": 1.111, "post_blocks": -0.041,
    "table_rows": -0.004, "code_blocks": -0.111,
}
THRESHOLD = 0.2  # logit above which a page is an article (probability 0.55; chosen on the tune half)


def _types(objs: Iterable[dict]) -> set[str]:
    return {t for obj in objs for t in jsonld_types(obj)}  # read as the classifier reads them (``schema:`` too)


def _meta(root: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for el in root.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if key and key not in out and (el.get("content") or "").strip():
            out[key] = el.get("content").strip().lower()
    return out


def features(root: etree._Element, url: str, jsonld: Iterable[dict],
             mains: Sequence[etree._Element] | None = None) -> dict[str, float]:
    """The page's feature values (cheap: one pass over paragraphs, headings, links and forms).

    ``mains``: the page's ``main_articles`` when the caller has them already (one walk, not two).
    """
    types = _types(jsonld)
    meta = _meta(root)
    try:
        path = urlsplit(url).path or "/"
    except ValueError:
        path = "/"
    segs = [s for s in path.split("/") if s]
    last = segs[-1].lower().rsplit(".", 1)[0] if segs else ""
    paragraphs = [len(" ".join(p.text_content().split())) for p in root.iter("p")]
    prose = sum(n for n in paragraphs if n >= 40)
    # the block holding most paragraph text, against all paragraph text (one article vs many cards)
    by_parent: dict[etree._Element, int] = {}
    for p, n in zip(root.iter("p"), paragraphs, strict=True):
        parent = p.getparent()
        if parent is not None and n >= 40:
            by_parent[parent] = by_parent.get(parent, 0) + n
    main = max(by_parent.values(), default=0)
    # the same one level up: an article split in sections (a <div> per subheading) is still one block
    by_grandparent: dict[etree._Element, int] = {}
    for parent, n in by_parent.items():
        if _is_teaser(parent):
            continue  # cards side by side are many texts, not sections of one
        grand = parent.getparent()
        key = grand if grand is not None else parent
        by_grandparent[key] = by_grandparent.get(key, 0) + n
    section_main = max(by_grandparent.values(), default=0)
    headline_links = sum(1 for h in root.iter("h2", "h3", "h4") if next(h.iter("a"), None) is not None)
    body = root.find("body")
    text = body.text_content() if body is not None else ""
    text_chars = len(" ".join(text.split())) or 1
    link_chars = len(" ".join(" ".join(body.xpath(".//a//text()")).split())) if body is not None else 0
    low = text.lower()
    cards = posts = 0
    for el in root.iter("article", "li", "div"):
        if cls := el.get("class"):
            cls = cls.lower()
            cards += _CARD_CLASS.search(cls) is not None
            posts += _POST_CLASS.search(cls) is not None
    blocks = sum(1 for _ in root.iter("div", "li", "article", "section")) or 1
    return {
        "bias": 1.0,
        "ld_forum": float(bool(types & _FORUM)),
        "ld_product": float(bool(types & _PRODUCT)),
        "ld_collection": float(bool(types & _COLLECTION)),
        "ld_service": float(bool(types & _SERVICE) and not types & _ARTICLE),
        "ld_webpage": float("webpage" in types),
        "og_article": float(meta.get("og:type") == "article"),
        "og_website": float(meta.get("og:type") == "website"),
        "og_product": float("product" in meta.get("og:type", "")),
        "published_meta": float(any(k in meta for k in ("article:published_time", "datepublished",
                                                         "og:published_time", "date", "pubdate"))),
        "author_meta": float(any(k in meta for k in ("author", "article:author", "parsely-author"))),
        "date_url": float(bool(_DATE_URL.search(path))),
        "blog_url": float(bool(_BLOG_URL.search(path))),
        "forum_url": float(bool(_FORUM_URL.search(path))),
        "product_url": float(bool(_PRODUCT_URL.search(path))),
        "service_url": float(bool(SERVICE_URL.search(path))),
        "docs_url": float(bool(DOCS_URL.search(path))),
        "url_depth0": float(not segs),
        "slug_words": float(min(len([w for w in re.split(r"[-_]", last) if w.isalpha()]), 12)),
        "log_prose": math.log1p(prose / 100),
        "long_paragraphs": float(min(sum(n >= 200 for n in paragraphs), 30)),
        "prose_share_main": main / prose if prose else 0.0,
        "prose_share_section": section_main / prose if prose else 0.0,
        "prose_share_text": min(prose / text_chars, 1.0),
        "link_share": min(link_chars / text_chars, 1.0),
        "headline_links": float(min(headline_links, 40)),
        "price": float(min(_prices(text), 40)),
        "cart": float(any(phrase in low for phrase in _CART)),
        "reply_words": float(min(len(_REPLY.findall(low)), 40)),
        "forms": float(min(sum(1 for _ in root.iter("form", "input", "select")), 30)),
        "time_tags": float(min(sum(1 for _ in root.iter("time")), 20)),
        "h2_count": float(min(sum(1 for _ in root.iter("h2")), 40)),
        "card_share": min(cards / blocks * 5, 1.0),
        "dated_article": float(_dated_article(main_articles(root) if mains is None else mains)),
        "h1_agrees": _h1_agreement(root, meta),
        "single_h1": float(sum(1 for _ in root.iter("h1")) == 1),
        "byline": float(_has_byline(root)),
        "post_blocks": float(min(posts, 40)),
        "table_rows": float(min(sum(1 for _ in root.iter("tr")), 60)),
        "code_blocks": float(min(sum(1 for _ in root.iter("pre")), 30)),
    }


def _prices(text: str) -> int:
    """``len(_PRICE.findall(text))``; without a text that can end a price, only signs can start one."""
    if "€" in text or "USD" in text or "EUR" in text:
        return len(_PRICE.findall(text))
    return len(_SIGN_PRICE.findall(text))


def _has_byline(root: etree._Element) -> bool:
    for el in root.iter("a", "span", "div", "p"):
        if ((cls := el.get("class")) and _BYLINE_CLASS.search(cls.lower())) or el.get("rel") == "author":
            return True
    return False


def _is_teaser(el: etree._Element) -> bool:
    """A block that heads itself with a link (a teaser card) or is a card by its class or tag."""
    if el.tag == "article" or _CARD_CLASS.search((el.get("class") or "").lower()):
        return True
    return any(next(h.iter("a"), None) is not None for h in el.iter("h2", "h3", "h4"))


def _h1_agreement(root: etree._Element, meta: dict[str, str]) -> float:
    """How well the page's first ``<h1>`` matches its declared title (an article heads itself)."""
    h1 = next(root.iter("h1"), None)
    title = meta.get("og:title") or (root.findtext(".//title") or "").lower()
    if h1 is None or not title:
        return 0.0
    hw, tw = set(_WORD.findall(h1.text_content().lower())), set(_WORD.findall(title.lower()))
    return len(hw & tw) / len(hw | tw) if hw and tw else 0.0


def main_articles(root: etree._Element) -> list[etree._Element]:
    """Outermost ``<article>`` elements, ignoring comment cards (WordPress wraps comments too)."""
    return [el for el in root.iter("article")
            if "comment" not in f"{el.get('class') or ''} {el.get('id') or ''}".lower()
            and not any(anc.tag == "article" for anc in el.iterancestors())]


def _dated_article(mains: Sequence[etree._Element]) -> bool:
    """One outermost ``<article>`` (comment cards aside) with a machine-readable ``<time>``."""
    return len(mains) == 1 and any(t.get("datetime") for t in mains[0].iter("time"))


def article_score(feats: dict[str, float], weights: dict[str, float] | None = None) -> tuple[float, str]:
    """(score, reason): the linear score minus ``THRESHOLD`` (> 0: article) and the feature that added the most to it."""
    w = weights or WEIGHTS
    parts = {k: w.get(k, 0.0) * v for k, v in feats.items() if k != "bias"}
    score = w.get("bias", 0.0) + sum(parts.values()) - THRESHOLD
    if score > 0:
        return score, max(parts, key=lambda k: parts[k])
    worst = min(parts, key=lambda k: parts[k])
    return score, worst if parts[worst] < 0 else "little_evidence"
