"""Paywalls: is the article free to read, and does the body we extracted stop at a paywall?

Two sources, in this order, because they are the page's own statements and cost nothing:

1. Structured data. ``isAccessibleForFree`` on the article's JSON-LD object (schema.org; the
   markup search engines ask publishers to use for "flexible sampling"), or as a microdata
   ``<meta itemprop>``; and ``article:content_tier`` (``free``, ``metered``, ``locked``).
   The locked part of the page is named by ``hasPart`` items (``WebPageElement`` with
   ``isAccessibleForFree: false`` and a ``cssSelector``).
2. Paywall markers in the markup: elements whose class or id says paywall, regwall,
   subscriber-only or locked/premium content. A marker holding a few words is a prompt
   ("subscribe to continue reading"); one holding many is the locked text itself.

A body is ``truncated_by_paywall`` when the page is not free and the locked text is not in
the page: the ``hasPart`` selectors match nothing (or nearly no words), or, without selectors,
a paywall prompt is shown. A page that says it is not free but serves the locked part in full
(as sites do for search engines) is not truncated. Nothing here names a site.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from cssselect import GenericTranslator, SelectorError
from lxml import etree

logger = logging.getLogger(__name__)

__all__ = ["Paywall", "detect_paywall"]

# Words of a locked part below which it is taken as absent (a teaser line, an empty container).
MIN_LOCKED_WORDS = 30
# A marker with more words than this holds article text, not a prompt.
MAX_PROMPT_WORDS = 80

_MARKER = re.compile(r"pay-?wall|reg-?wall|subscriber-?s?-only|premium-(content|article|lock)|"
                     r"locked-(content|article)|content-(locked|gate)|article-gate|metered-(content|wall)")
_MARKER_NODES = etree.XPath("//*[@class or @id]")
_NAMES = etree.XPath("//@class | //@id", smart_strings=False)
_TIERS = {"free": True, "metered": False, "locked": False, "premium": False}


class Paywall(NamedTuple):
    """``is_accessible_for_free``: True, False, or None when the page gives no sign either way."""

    is_accessible_for_free: bool | None
    truncated_by_paywall: bool


NO_PAYWALL = Paywall(None, False)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = value.strip().lower().rsplit("/", 1)[-1]  # "False", "false", "https://schema.org/False"
        if v in ("true", "yes", "1"):
            return True
        if v in ("false", "no", "0"):
            return False
    return None


def _locked_selectors(ld: Mapping[str, Any]) -> list[str]:
    parts = ld.get("hasPart")
    out = []
    for part in parts if isinstance(parts, list) else [parts]:
        if isinstance(part, dict) and _as_bool(part.get("isAccessibleForFree")) is False:
            selector = part.get("cssSelector")
            for sel in selector if isinstance(selector, list) else [selector]:
                if isinstance(sel, str) and sel.strip():
                    out.append(sel.strip())
    return out


def _words(nodes: list[etree._Element]) -> int:
    return sum(len(n.text_content().split()) for n in nodes if isinstance(n, etree._Element))


def _select(tree: etree._Element, selector: str) -> list[etree._Element] | None:
    """Elements matching a CSS selector; None when the selector cannot be read."""
    try:
        return tree.xpath(GenericTranslator().css_to_xpath(selector))
    except (SelectorError, etree.XPathError, ValueError):
        logger.debug("unreadable hasPart cssSelector %r", selector)
        return None


def _markers(tree: etree._Element) -> list[etree._Element]:
    """Outermost elements whose class or id names a paywall."""
    found: list[etree._Element] = []
    # most pages name no paywall: one search over all their class and id values, in C, skips the
    # walk over every named element (no marker pattern can match across the joining space)
    if not _MARKER.search(" ".join(_NAMES(tree)).lower()):
        return found
    for el in _MARKER_NODES(tree):
        names = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
        if _MARKER.search(names) and not any(m in el.iterancestors() for m in found):
            found.append(el)
    return found


def detect_paywall(tree: etree._Element, meta: Mapping[str, list[str]], ld: Mapping[str, Any]) -> Paywall:
    """The page's paywall status, from its JSON-LD object ``ld``, ``<meta>`` values and markup.

    Call it on the parsed page before anything is pruned from it (prompts look like widgets).
    """
    free = _as_bool(ld.get("isAccessibleForFree"))
    if free is None:
        free = _as_bool(meta.get("isaccessibleforfree"))
    if free is None and (tier := meta.get("article:content_tier")):
        free = _TIERS.get(tier[0].strip().lower())
    selectors = _locked_selectors(ld)
    markers = _markers(tree)
    prompts = [m for m in markers if 0 < len(m.text_content().split()) <= MAX_PROMPT_WORDS]
    if free is None:
        if selectors:
            free = False
        elif not prompts:
            return NO_PAYWALL
        else:
            free = False  # a paywall prompt on the page, whatever the markup says (nothing)
    if free:
        return Paywall(True, False)
    if selectors:
        matched = [_select(tree, sel) for sel in selectors]
        readable = [nodes for nodes in matched if nodes is not None]
        if readable:
            return Paywall(False, _words([n for nodes in readable for n in nodes]) < MIN_LOCKED_WORDS)
    return Paywall(False, bool(prompts))
