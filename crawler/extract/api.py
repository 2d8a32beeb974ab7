"""Article extraction: HTML → :class:`Article` (text + metadata); trafilatura (through extract/_trafilatura.py) does the core.

trafilatura does the heavy lifting (main-content detection with its readability/justext
fallbacks, htmldate for dates). Around it, three generic steps measured on the
extraction benchmark (``docs/extraction.md``): the tree is pruned of non-content blocks
before extraction (hidden nodes, hover cards, "related"/share/newsletter/cookie widgets),
the resulting lines are cleaned of leftover boilerplate (repeated title, bylines, "Follow
us", "Related:" link lists...), and metadata trafilatura misses is read from JSON-LD and
OpenGraph. "Not an article" is an outcome with a bounded reason, never an exception.
"""

from __future__ import annotations

import hashlib
import logging
import re
from copy import copy
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HTMLParser, HtmlProcessingInstruction, fromstring

from crawler.config.extract import ExtractOptions
from crawler.discovery.links import BOMS, decode_html, drop_document_end_tags, has_xml_invalid_chars
from crawler.extract._trafilatura import DOCTYPE_TAG, FAULTY_HTML, INVALID_XML_CHARS, extract_url
from crawler.extract.body import BASE, extract_body, unlink_heading_anchors
from crawler.extract.guard import PageProse, is_streamed_segment, strip_tags_guarded
from crawler.extract.head import read_head
from crawler.extract.metadata import (
    _declared_language,
    _detect_language,
    _head_metadata,
    _page_metadata,
    _published,
    _title_and_site,
    page_authors,
)
from crawler.extract.paywall import detect_paywall
from crawler.extract.text import clean_body, count_words, normalize_text
from crawler.extract.timecap import PageTimeCap, time_cap

logger = logging.getLogger(__name__)

__all__ = [
    "Article", "ExtractOptions", "body_text", "count_words", "decode_html", "extract_article", "extract_with_reason",
    "normalize_text", "parse_page", "warm_up",
]

MAX_HTML_CHARS = 20 * 1024 * 1024  # bigger pages are not articles (and would stall a worker)


@dataclass(frozen=True, slots=True)
class Article:
    """One extracted article; ``text`` is normalized (see :func:`normalize_text`)."""

    url: str
    canonical_url: str
    title: str | None
    text: str
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    updated: str | None = None
    language: str | None = None
    site_name: str | None = None
    description: str | None = None
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    image: str | None = None
    word_count: int = 0
    text_sha256: str = ""
    is_accessible_for_free: bool | None = None  # extract.paywall: None when the page gives no sign
    truncated_by_paywall: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serializable fields (lists copied; the fields are flat, so no deep copy)."""
        row = {name: getattr(self, name) for name in self.__slots__}
        for name in ("authors", "categories", "tags"):
            row[name] = list(row[name])
        return row


DEFAULT_OPTIONS = ExtractOptions()
_BODY_OPTIONS = ExtractOptions(min_words=0)  # body_text: every body, however short

# ---------------------------------------------------------------- parsing

# decoding: crawler.discovery.links.decode_html, the one decoder (the classifier's parse_html uses it too)

# trafilatura's parser, but with libxml2's 10 MB limit per text node lifted: a page with 15 MB of
# JSON-LD was cut at its <script> and lost its body (the page size is capped by MAX_HTML_CHARS).
_HUGE_TREE_PARSER = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                               remove_pis=True, huge_tree=True)
# Every element proxy lxml hands to Python asks the parser's class lookup which class to use;
# lxml.html's lookup is a Python method (about 6 % of a page's extraction time, trafilatura's
# passes included: they work on copies of this tree, which keep its parser). The C default
# lookup gives the same HtmlElement class; only the form-control subclasses (FormElement,
# InputElement...) are lost, whose methods nothing in the extraction calls.
_HUGE_TREE_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity))


def _parse(text: str) -> HtmlElement | None:
    """``trafilatura.utils.load_html`` for decoded text, the same repairs and parser, ~2 ms faster.

    The scan for XML-invalid characters runs over UTF-8 bytes in C (the regex only when there are
    any), and lxml parses the bytes, which is quicker than parsing a str.
    """
    text = drop_document_end_tags(text)  # what follows </html> is part of the body, as in a browser
    beginning = text[:50].lower()
    data = text.encode("utf-8", "surrogatepass")
    if has_xml_invalid_chars(data):
        text = INVALID_XML_CHARS.sub("", text)
        data = b""
    if "doctype" in beginning:  # libxml2 chokes on some doctypes (lxml bug 1955915)
        first, _, rest = text.partition("\n")
        text, data = DOCTYPE_TAG.sub("", first, count=1) + "\n" + rest, b""
    for line in text[:4096].splitlines()[:4]:  # self-closing <html/>
        if "<html" in line and line.endswith("/>"):
            text, data = FAULTY_HTML.sub(r"\1>", text, count=1), b""
            break
    tree = None
    for source in (data or text.encode("utf-8", "surrogatepass"), text):
        try:
            parsed = fromstring(source, parser=_HUGE_TREE_PARSER)
        except Exception as exc:  # both forms are tried, as trafilatura does
            logger.debug("lxml could not parse the page: %s", exc)
            continue
        if parsed is not None and (tree is None or len(parsed) >= 1):
            tree = parsed
        if tree is not None and len(tree) >= 1:
            break
    if tree is not None and "html" not in beginning and len(tree) < 2:
        return None  # no <html> and a single element: not an HTML document (trafilatura's test)
    return tree


# ---------------------------------------------------------------- pruning before extraction

# Class/id words, matched on the lower-cased "class id" string (a case-insensitive regex costs
# twice as much, and this runs on every element with a class or id).
_NAME_WORDS = re.compile(r"rollover|tooltip|hovercard|popover|related|recommend|newsletter|cookie|share-|sharing|"
                         r"social-share|subscribe")
_HOVER = re.compile(r"rollover|tooltip|hovercard|popover")
_WIDGET = re.compile(r"related|recommend|newsletter|cookie|share-|sharing|social-share|subscribe")
_WIDGET_TAGS = {"div", "section", "aside", "ul", "nav", "h2", "h3", "h4"}
_CONTAINER_TAGS = {"div", "section", "article", "aside"}
_HEADINGS = {"h2", "h3", "h4"}


def _doomed(body: etree._Element) -> list[etree._Element]:
    """Nodes to prune, in document order (a related-posts box is the parent of its heading).

    Hidden by the page (``hidden``, ``aria-hidden``, ``display:none``), hover cards, widgets. A
    hidden element that a control of the page reveals (its id in an ``aria-controls``: a collapsed
    accordion panel, an inactive tab, a "read more" expander) is content the reader opens with a
    click, and stays.
    """
    out: list[etree._Element] = []
    revealed = {ident for value in body.xpath("//@aria-controls") for ident in value.split()}
    # every element, tested in Python: an XPath selecting those with one of the attributes costs more
    for el in body.iterdescendants(tag=etree.Element):
        get = el.get
        cls, ident, style, hidden = get("class"), get("id"), get("style"), get("hidden")
        if cls is None and ident is None and style is None and hidden is None and get("aria-hidden") is None:
            continue
        cls = cls or ""
        names = f"{cls} {ident or ''}".lower()
        named = _NAME_WORDS.search(names) is not None
        hides = (hidden is not None and not is_streamed_segment(el)) or get("aria-hidden") == "true" or \
            "display:none" in (style or "").replace(" ", "")
        if hides and ident is not None and ident in revealed:
            _unhide(el)  # trafilatura drops display:none as well
            hides = False
        if hides or \
                (named and (_HOVER.search(names) or (el.tag in _WIDGET_TAGS and _WIDGET.search(names)))):
            out.append(el)
        if named and el.tag in _HEADINGS and "related" in cls.lower():
            parent = el.getparent()
            if parent is not None and parent.tag in _CONTAINER_TAGS and parent is not body:
                out.append(parent)
    return out


_DISPLAY_NONE = re.compile(r"display\s*:\s*none\s*(!important)?\s*;?", re.I)


def _unhide(el: etree._Element) -> None:
    """Show ``el`` as its control would: no ``hidden``, no ``aria-hidden``, no ``display:none``."""
    for name in ("hidden", "aria-hidden"):
        el.attrib.pop(name, None)
    if (style := el.get("style")) is not None:
        el.set("style", _DISPLAY_NONE.sub("", style))


def _remove_keep_tail(node: etree._Element, parent: etree._Element) -> None:
    """Remove ``node`` but keep the text that follows it (``tail``) in the document."""
    if node.tail and node.tail.strip():
        prev = node.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def _prune(tree: HtmlElement, options: ExtractOptions) -> PageProse | None:
    """Prune ``tree`` in place (one pass); ``body_xpath`` first restricts it to the matched nodes.

    Returns the page's prose measure (None without a body), which guards the later cuts too.
    """
    if options.body_xpath:
        nodes = [n for n in tree.xpath(options.body_xpath) if isinstance(n, etree._Element)]
        if nodes:
            body = tree.find("body")
            if body is None:
                body = etree.SubElement(tree, "body")
            kept = [copy(n) for n in nodes]
            for child in list(body):
                body.remove(child)
            body.text = None
            body.extend(kept)
    body = tree.find("body")
    if body is None:
        return None
    prose = PageProse(body)
    for node in _doomed(body):
        parent = node.getparent()
        # never prune what holds the article (a wrapper class like "has-related", a swallowing menu)
        if parent is not None and not prose.holds_content(node, widget=True):
            _remove_keep_tail(node, parent)
    return prose


# ---------------------------------------------------------------- extraction

# Elements trafilatura deletes anyway and that never hold article text. Without them each of its
# XPath passes over the raw tree is cheaper, with the same text (docs/extraction.md). The second
# group can hold metadata (author boxes, category links in an entry footer): cut after reading it.
_RAW_TAGS = ("script", "style", "svg")  # their content is never parsed as page elements
_NOISE_TAGS = ("noscript", "iframe", "embed", "object", "applet", "canvas", "audio",
               "video", "map", "button", "select", "input", "textarea")
_CHROME_TAGS = ("nav", "footer", "aside")


def _looks_binary(data: str | bytes) -> bool:
    """A file format's magic number, or more than 5% control bytes in the first 2 KB of text.

    A text with a byte-order mark (UTF-8, UTF-16, UTF-32) is judged after decoding: its NUL bytes
    are half of every UTF-16 character. One stray NUL in a page is not binary either.
    """
    head = data[:2048]
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    if head.startswith((b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"RIFF")):
        return True
    for bom, codec in BOMS:
        if head.startswith(bom):
            head = head[len(bom):].decode(codec, "replace").encode("utf-8", "replace")
            break
    ctrl = len(head) - len(head.translate(None, _CONTROL_BYTES))  # counted in C, not byte by byte
    return ctrl > len(head) * 0.05


_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or b > 13)


def parse_page(html: str | bytes, charset: str | None = None) -> tuple[HtmlElement | None, str | None]:
    """The extractor's checks and parse of a page: ``(tree, None)``, or ``(None, reason)``.

    The tree can be read by others first (replay classifies the page on it, so that a page is
    parsed once) and then handed to :func:`extract_with_reason`, which prunes it in place.
    Reasons: ``empty``, ``binary``, ``too_large``, ``not_html``.
    """
    if not html or not (html.strip() if isinstance(html, (str, bytes)) else html):
        return None, "empty"
    if _looks_binary(html):
        return None, "binary"
    text = decode_html(html, charset)
    if len(text) > MAX_HTML_CHARS:
        return None, "too_large"
    if not re.search(r"<\s*(html|body|p|div|article|head|title|h1|br)\b", text[:200_000], re.IGNORECASE):
        return None, "not_html"
    tree = _parse(text)
    return (tree, None) if tree is not None else (None, "not_html")


def _run(html: str | bytes, url: str, charset: str | None, options: ExtractOptions,
         with_metadata: bool = True, tree: HtmlElement | None = None) -> tuple[Article | None, str | None, str]:
    """Shared core: (article, reason, cleaned body text).

    The tree is parsed once (or given, from :func:`parse_page`); trafilatura works on its own copy
    of it. Order matters: metadata is read before the tree is cut down (pruning, then elements
    that never hold article text). With ``with_metadata=False`` (:func:`body_text`) only what the
    body depends on is computed: the title (its repeated line is dropped), not the paywall,
    dates, authors, terms or language. The article is then None, with no reason.
    """
    if tree is None:
        tree, reason = parse_page(html, charset)
        if tree is None:
            return None, reason, ""
    page = read_head(tree)  # before the body is pruned in place
    head = _head_metadata(tree, page)  # <meta> and JSON-LD, through trafilatura
    home = extract_url(tree, url)  # the page's own idea of its URL (for htmldate and the site name)
    if with_metadata:
        paywall = detect_paywall(tree, page.meta, page.ld)  # before pruning: prompts look like widgets
        published = _published(tree, home, page.meta, page.ld, BASE["precision"].date_params)  # <meta>, scripts
        authors = page_authors(tree, page, head, home)  # bylines in buttons and hover cards: before pruning
    etree.strip_elements(tree, *_RAW_TAGS, with_tail=False)
    prose = _prune(tree, options)
    strip_tags_guarded(tree, _NOISE_TAGS, prose)  # an unclosed <button> can hold the whole page
    if with_metadata:
        meta = _page_metadata(tree, url, page, head, home, published, authors)
        title = meta.title
    else:
        title, _ = _title_and_site(tree, url, page, head, home)
    strip_tags_guarded(tree, _CHROME_TAGS, prose)
    if prose is not None:
        prose.remeasure(tree.find("body"))  # what trafilatura will see: the share that triggers balanced mode
    unlink_heading_anchors(tree)  # or precision mode deletes them as link text
    doc = extract_body(tree, url, options.favor, prose)
    if doc is None or not (doc.text or "").strip():
        return None, "no_text", ""
    body = clean_body(doc.text, title, options)
    if not body:
        return None, "no_text", ""
    words = count_words(body)
    if words < options.min_words:
        return None, "too_short", body
    if not with_metadata:
        return None, None, body
    language = options.language or _declared_language(tree, page.meta) or _detect_language(body)
    article = Article(
        url=url, text=body, language=language, word_count=words,
        text_sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(), **meta._asdict(),
        is_accessible_for_free=paywall.is_accessible_for_free, truncated_by_paywall=paywall.truncated_by_paywall,
    )
    return article, None, body


def extract_with_reason(html: str | bytes, url: str, *, charset: str | None = None,
                        options: ExtractOptions | None = None,
                        tree: HtmlElement | None = None) -> tuple[Article | None, str | None]:
    """Like :func:`extract_article`, plus why there is no article (a bounded token for stats).

    Reasons: ``empty``, ``binary``, ``too_large``, ``not_html``, ``no_text``, ``too_short``,
    ``time_cap`` (the page used more than ``options.time_cap`` seconds of CPU). ``tree``: the
    page as :func:`parse_page` parsed it, which saves a second parse (it is pruned in place).
    """
    article, reason, _ = _capped(html, url, charset, options or DEFAULT_OPTIONS, tree=tree)
    return article, reason


def _capped(html: str | bytes, url: str, charset: str | None, options: ExtractOptions,
            with_metadata: bool = True, tree: HtmlElement | None = None) -> tuple[Article | None, str | None, str]:
    try:
        with time_cap(options.time_cap):
            return _run(html, url, charset, options, with_metadata, tree)
    except PageTimeCap:
        logger.warning("Extraction of %s cut off after %.1f s of CPU", url, options.time_cap)
        return None, "time_cap", ""


def extract_article(html: str | bytes, url: str, *, charset: str | None = None,
                    options: ExtractOptions | None = None) -> Article | None:
    """The article in ``html`` fetched from ``url``, or None when the page is not an article."""
    return extract_with_reason(html, url, charset=charset, options=options)[0]


def body_text(html: str, url: str | None) -> str:
    """The normalized body text, as written to text files (for ``score_extraction.py``).

    The same text as :func:`extract_article`'s, without the metadata it does not depend on.
    """
    _, _, body = _capped(html, url or "", None, _BODY_OPTIONS, with_metadata=False)
    return body


_WARM_PAGE = (
    "<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    + "".join(f"<p>Paragraph {i} of a page that is never stored: it loads the language model and runs every "
              "extraction step once, so that the first real page is not slowed down by lazy imports.</p>"
              for i in range(6))
    + "</article></body></html>"
)


def warm_up() -> None:
    """Pay the one-off costs (py3langid's model, lazy imports) before the first real page."""
    extract_with_reason(_WARM_PAGE, "https://warm-up.invalid/")
