"""Links and pagination from HTML pages (section fronts, category pages, articles).

Returned URLs are absolute http(s) and deduplicated in document order, but not
canonicalized: the spider does that once, with ``crawler.urls.canonicalize_url``.
``parse_html`` is the one HTML entry point of ``discovery`` so a page is decoded the
same way everywhere (and parsed once when the caller passes the tree along).
"""

from __future__ import annotations

import codecs
import logging
import re
from urllib.parse import parse_qsl, urlsplit

import lxml.html
from lxml import etree
from w3lib.encoding import http_content_type_encoding

from crawler.discovery.mojibake import WHATWG_1252, undo_double_encoding
from crawler.urls import absolute_http

logger = logging.getLogger(__name__)

# libxml2 cuts a document at a text node over 10 MB (a huge JSON-LD script) unless huge_tree is on;
# page sizes are bounded by NEWSWARC_ARCHIVE_MAX_DECODED and NEWSWARC_ARCHIVE_MAX_BODY.
_PARSER = lxml.html.HTMLParser(huge_tree=True)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))  # _CONTROL below U+0080


_END_TAGS = re.compile(r"</(?:body|html)\s*>", re.I)


def drop_document_end_tags(text: str) -> str:
    """``text`` without ``</body>`` and ``</html>``: a browser puts what follows them into the body.

    libxml2 (lxml 6) drops everything after ``</html>``, where plugins and CDNs inject links and
    even content; without the end tags it appends that content to ``<body>``, as a browser does.
    """
    return _END_TAGS.sub("", text) if "</" in text else text


def has_xml_invalid_chars(data: bytes) -> bool:
    """Whether UTF-8 ``data`` holds a character libxml2 rejects (``_CONTROL``); checked in C, no regex."""
    return len(data.translate(None, _CONTROL_BYTES)) != len(data) or b"\xef\xbf\xbe" in data \
        or b"\xef\xbf\xbf" in data  # U+FFFE, U+FFFF


def _strip_control(text: str) -> str:
    """``text`` without the characters libxml2 rejects; most pages have none, so the check comes first."""
    return _CONTROL.sub("", text) if has_xml_invalid_chars(text.encode("utf-8", "surrogatepass")) else text


# byte-order marks (also for the extractor's binary check); UTF-32 first: its little-endian BOM starts with UTF-16's
BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# WHATWG: these labels mean windows-1252 in browsers (servers say latin-1 and send cp1252).
_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "l1": "cp1252",
            "iso8859-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252", "x-sjis": "shift_jis",
            "windows-31j": "cp932", "shift-jis": "shift_jis", "sjis": "shift_jis", "gb2312": "gb18030",
            "gbk": "gb18030", "x-user-defined": "cp1252"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(html: str | bytes, charset_hint: str | None = None) -> str:
    """Bytes → text: BOM, then the HTTP charset, then ``<meta>``, then detection. Never raises.

    The one decoder of a page, for the classifier and link finder (``parse_html``) and the extractor,
    so both read the same hrefs and text. latin-1 labels decode as cp1252 (as browsers do), so curly
    quotes survive (WHATWG: its undefined bytes are C1 controls); an undeclared page that is not UTF-8
    is detected, not replaced by U+FFFD. A page whose UTF-8 was read as Latin-1 upstream and saved
    again ("â€™" for "’") is repaired (:func:`crawler.discovery.mojibake.undo_double_encoding`), and
    so is decoded text passed in.
    """
    return undo_double_encoding(_decode(html, charset_hint))


def _decode(html: str | bytes, charset_hint: str | None = None) -> str:
    if isinstance(html, str):
        return html
    data = bytes(html)
    for bom, codec in BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    candidates = [_codec(charset_hint)]
    if (m := _META_CHARSET.search(data[:4096])):
        candidates.append(_codec(m.group(1).decode("ascii", "ignore")))
    for codec in candidates:
        if codec and codec not in ("utf-16-le", "utf-16-be", "utf-16"):  # a meta tag cannot say utf-16
            try:
                return data.decode(codec, errors=_errors(codec, "strict"))
            except UnicodeDecodeError:
                if codec == candidates[0]:  # the server said so: keep it, mark the bad bytes
                    return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # imported here: only an undeclared non-UTF-8 page needs it (start-up cost of every worker)
        from charset_normalizer import from_bytes
        best = from_bytes(data[:65536]).best()
        if best is not None:
            codec = _codec(best.encoding) or best.encoding
            return data.decode(codec, errors=_errors(codec, "replace"))
    except Exception:  # detection is best effort; cp1252 below decodes anything
        logger.debug("charset detection failed", exc_info=True)
    return data.decode("cp1252", errors=WHATWG_1252)


def _errors(codec: str, otherwise: str) -> str:
    """The ``errors=`` to decode with: windows-1252 as browsers read it has no undefined byte."""
    return WHATWG_1252 if codec == "cp1252" else otherwise


def parse_html(html: bytes | str | etree._Element, content_type: str | None = None, *,
               charset: str | None = None) -> etree._Element | None:
    """Parse a page leniently into an lxml HTML root; None if there is nothing to parse.

    Accepts an already parsed root (returned as is) so callers can parse once. ``charset``
    (the crawl's ``response.encoding``, as the extractor gets it) wins over ``content_type``'s.
    """
    if isinstance(html, etree._Element):
        return html
    text = drop_document_end_tags(_strip_control(_XML_DECL.sub("", decode_html(html, charset or http_content_type_encoding(content_type)), count=1)))
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        logger.debug("unparseable HTML: %s", exc)
        return None


def base_url(root: etree._Element, url: str) -> str:
    """The URL relative links resolve against: the first ``<base href>``, else the page URL."""
    for base in root.iter("base"):
        href = base.get("href")
        if href and href.strip():
            return absolute_http(href, url) or url
    return url


def rel_tokens(el: etree._Element) -> set[str]:
    """The ``rel`` attribute as a set of lowercase tokens."""
    return set((el.get("rel") or "").lower().split())


def _skip_href(href: str) -> bool:
    h = href.strip().lower()
    return not h or h.startswith(("#", "javascript:", "mailto:", "tel:", "data:", "sms:", "about:"))


def extract_links(html: bytes | str | etree._Element, url: str) -> list[str]:
    """Absolute http(s) URLs of ``<a href>`` and ``<area href>``, in document order, deduplicated.

    ``<base href>`` is honoured; in-page anchors and javascript:/mailto:/tel:/data: links are
    skipped; ``rel="nofollow"`` links are kept because an archive wants them too.
    """
    root = parse_html(html)
    if root is None:
        return []
    base = base_url(root, url)
    out: list[str] = []
    seen: set[str] = set()
    for el in root.iter("a", "area"):
        href = el.get("href")
        if href is None or _skip_href(href):
            continue
        link = absolute_http(href, base, keep_broken=True)  # the spider counts a broken one
        if link and link not in seen:
            seen.add(link)
            out.append(link)
    return out


_WP_PAGE = re.compile(r"^(.*?)/page/(\d+)/?$")
_PAGE_PARAMS = ("page", "paged")
_NEXT_TEXT = re.compile(
    r"^(?:next|next page|next posts|older|older posts|older entries|older articles|older stories|"
    r"load more|load more (?:posts|articles|stories|news)|more (?:posts|articles|stories|news)|"
    r"show more|view more|see more|earlier (?:posts|articles|stories))$"
)
_ARROWS = re.compile(r"[\s\u00ab\u00bb\u2039\u203a\u2190\u2192<>|:…\.]+")


def _section_and_page(path: str) -> tuple[str, int]:
    """('/category/world', 3) for '/category/world/page/3/'; the page is 1 without a marker."""
    m = _WP_PAGE.match(path)
    if m:
        return m.group(1).rstrip("/"), int(m.group(2))
    return path.rstrip("/"), 1


def _query_page(query: str) -> tuple[str | None, int]:
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.lower() in _PAGE_PARAMS and value.isdigit():
            return key.lower(), int(value)
    return None, 1


def _anchor_text(el: etree._Element) -> str:
    text = " ".join(el.text_content().split()) or el.get("aria-label") or el.get("title") or ""
    return _ARROWS.sub(" ", text.lower()).strip()


def next_page_links(html: bytes | str | etree._Element, url: str) -> list[str]:
    """Links to the next page of a listing (section, category, tag, archive), absolute and deduplicated.

    Signals: ``<link rel=next>``/``<a rel=next>``; WordPress ``/page/N/`` and ``?page=N``/``?paged=N``
    links where N is the current page + 1; "Next page"/"Older posts"/"Load more" anchors (or
    ``class="next"``) that stay in the same section of the same host.
    """
    root = parse_html(html)
    if root is None:
        return []
    base = base_url(root, url)
    try:
        here = urlsplit(url)
    except ValueError:
        return []
    section, page = _section_and_page(here.path)
    qkey, qpage = _query_page(here.query)
    out: list[str] = []
    seen: set[str] = set()

    def add(href: str | None) -> None:
        link = absolute_http(href, base) if href and not _skip_href(href) else None
        if link and link not in seen and link.split("#")[0] != url.split("#")[0]:
            seen.add(link)
            out.append(link)

    for el in root.iter("link", "a"):
        if "next" in rel_tokens(el):
            add(el.get("href"))
    for el in root.iter("a"):
        href = el.get("href")
        if not href or _skip_href(href):
            continue
        link = absolute_http(href, base)
        if not link:
            continue
        try:
            there = urlsplit(link)
        except ValueError:  # a broken IPv6 literal: extract_links passes it on, the spider counts it
            continue
        if there.netloc.lower() != here.netloc.lower():
            continue
        m = _WP_PAGE.match(there.path)
        if m and m.group(1).rstrip("/") == section and int(m.group(2)) == page + 1:
            add(link)
            continue
        key, n = _query_page(there.query)
        if (
            key
            and there.path.rstrip("/") == here.path.rstrip("/")
            and (qkey in (None, key))
            and n == qpage + 1
        ):
            add(link)
            continue
        classes = set((el.get("class") or "").lower().split())
        if _NEXT_TEXT.match(_anchor_text(el)) or classes & {
            "next",
            "nextpostslink",
            "load-more",
            "next-page",
        }:
            there_path = there.path.rstrip("/")
            if there_path == section or there_path.startswith(section + "/") or there.path == here.path:
                add(link)
    return out
