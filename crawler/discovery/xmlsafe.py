"""Safe, lenient XML for sitemaps and feeds: bounded gunzip, an XXE-safe parse, namespace-blind lookups.

Sitemaps and feeds in the wild are gzipped without saying so, carry BOMs and DOCTYPEs, lose or
mix their namespaces and break half-way. These helpers are what ``sitemaps`` and ``feeds``
share: the body is inflated under a cap (a 50 MB sitemap is the protocol's limit; a bomb is
refused), parsed without ever expanding an entity, loading a DTD or touching the network, and
read by local names whatever the namespace.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from io import BytesIO

from lxml import etree

logger = logging.getLogger(__name__)

MAX_DECOMPRESSED = 50 * 1024 * 1024  # the sitemap protocol's own limit
GZIP_MAGIC = b"\x1f\x8b"
INFLATE_CHUNK = 1024 * 1024


class BodyTooLarge(ValueError):
    """A gzip body inflates past the cap (a sitemap bomb or a mislabelled archive)."""


def gunzip_capped(body: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Inflate gzip ``body`` (detected by magic bytes) in chunks, refusing more than ``limit``.

    A truncated stream keeps what was inflated so far; a body that is not gzip at all comes
    back unchanged. Raises ``BodyTooLarge`` or ``ValueError`` (corrupt stream, nothing read).
    """
    if not body.startswith(GZIP_MAGIC):
        return body
    out = BytesIO()
    try:
        with gzip.GzipFile(fileobj=BytesIO(body)) as gz:
            while chunk := gz.read(INFLATE_CHUNK):
                out.write(chunk)
                if out.tell() > limit:
                    raise BodyTooLarge(f"too large: more than {limit} bytes after gunzip")
    except (OSError, EOFError, zlib.error) as exc:
        if not out.tell():
            raise ValueError(f"bad gzip: {exc}") from exc
        logger.debug("truncated gzip stream, keeping %d bytes: %s", out.tell(), exc)
    return out.getvalue()


_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.S | re.I)
_ENTITY_REF = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)[A-Za-z_][\w.-]*;")


# recover what lxml can; never expand an entity, load a DTD or touch the network; huge_tree off
# cuts pathological documents short
XML_OPTIONS = {"recover": True, "resolve_entities": False, "no_network": True, "load_dtd": False,
                "huge_tree": False, "remove_comments": True, "remove_pis": True}


def has_doctype(data: bytes) -> bool:
    """Whether the document starts with a ``<!DOCTYPE>`` (whose entities are never expanded)."""
    return b"<!DOCTYPE" in data[:4096] or b"<!doctype" in data[:4096]


def without_doctype(data: bytes) -> bytes:
    """Entities are never expanded (billion laughs); but an unexpanded reference made lxml drop
    everything after it: the internal subset and the references to its entities go."""
    return _ENTITY_REF.sub(b"", _DOCTYPE.sub(b"", data, count=1))


def xml_root(data: bytes, url: str) -> tuple[etree._Element | None, str | None]:
    """Parse XML safely and leniently: (root or None, first parser error or None).

    ``recover=True`` keeps what lxml can; entities are not resolved, DTDs not loaded, no
    network, and ``huge_tree`` stays off so pathological documents are cut short.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    data = data.lstrip()
    if has_doctype(data):
        data = without_doctype(data)
    parser = etree.XMLParser(**XML_OPTIONS)
    try:
        root = etree.fromstring(data, parser, base_url=url or None)
    except (etree.XMLSyntaxError, ValueError) as exc:
        return None, one_line(str(exc)) or "not XML"
    errors = parser.error_log.filter_from_errors()
    first = one_line(errors[0].message) if len(errors) else None
    return root, first


def one_line(text: str) -> str:
    """A parser message as one short line for logs and stats."""
    return " ".join(str(text).split())[:200]


def localname(el: etree._Element) -> str:
    """Element name without namespace ('' for comments and other non-elements)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].rpartition(":")[2]


def child(el: etree._Element, name: str) -> etree._Element | None:
    """First direct child element called ``name`` in any (or no) namespace."""
    for c in el:
        if localname(c) == name:
            return c
    return None


def child_text(el: etree._Element, name: str) -> str | None:
    """Stripped text of the first direct child called ``name``, or None if absent or empty."""
    return element_text(child(el, name))



def element_text(el: etree._Element | None) -> str | None:
    """Stripped text of ``el`` (its descendants' too), or None if absent or empty."""
    if el is None:
        return None
    text = (el.text or "").strip() if len(el) == 0 else "".join(el.itertext()).strip()
    return text or None



_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def first_element_name(head: bytes) -> str | None:
    """Local name of the first element in an XML/HTML prefix (skipping ``<?...?>`` and ``<!...>``)."""
    m = _ROOT_TAG.search(head)
    return m.group(2).decode("ascii") if m else None


__all__ = ["GZIP_MAGIC", "INFLATE_CHUNK", "MAX_DECOMPRESSED", "XML_OPTIONS", "BodyTooLarge", "child", "child_text",
           "element_text", "first_element_name", "gunzip_capped", "has_doctype", "localname", "one_line",
           "without_doctype", "xml_root"]
