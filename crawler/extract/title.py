"""The headline of a page, without the site's name.

A page states its title in several places: ``<h1>`` (what the reader sees), ``og:title`` and
JSON-LD ``headline`` (for sharing; often a shorter or SEO variant), ``<title>`` (usually the
headline plus `` | Site Name``). The visible ``<h1>`` is the headline when it agrees with what
the page declares (many shared words); otherwise the declared title, with a site-name part
(``og:site_name``, the publisher, the host name, or a short trailing segment) cut off. An
``<h1>`` that is a declared title plus something the page's own title leaves out (a date, a
label, a kicker element, ``?`` for characters an encoding lost) gives that declared title.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from crawler.extract.daytext import MONTH_NAMES
from crawler.urls import url_host

__all__ = ["choose_title", "strip_site_name"]

_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|/|:)\s+")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_WORDS = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")  # a CJK character is a word (no spaces there)
_H1 = etree.XPath("//h1")
MIN_AGREEMENT = 0.25  # share of words an <h1> and a declared title have in common (the smaller one); the
# labels of real pages are the visible <h1> far more often than the declared title when both differ
MAX_H1_CHARS = 300
MAX_H1_WORDS = 30  # a longer <h1> is a styled paragraph (a teaser, a description), not a headline


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())


def _compact(text: str) -> str:
    return "".join(_words(text))


def _is_site(part: str, sites: Iterable[str]) -> bool:
    key = _compact(part)
    if not key:
        return True
    for site in sites:
        s = _compact(site)
        if s and (key == s or (len(key) >= 4 and (key in s or s in key))):
            return True
    return False


def strip_site_name(title: str, site_names: Iterable[str], url: str = "") -> str:
    """``title`` without a leading or trailing part that names the site (``Headline | Site``)."""
    host = url_host(url)  # never raises (a malformed URL has no host)
    sites = [s for s in site_names if s] + [p for p in host.split(".") if len(p) > 3 and p != "www"]
    if host:
        sites.append(host.removeprefix("www."))
    parts = _SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    seps = _SEPARATORS.findall(title)
    while len(parts) > 1 and _is_site(parts[-1], sites):
        parts.pop()
        seps.pop()
    while len(parts) > 1 and _is_site(parts[0], sites):
        parts.pop(0)
        seps.pop(0)
    if len(parts) > 1 and seps and seps[-1].strip() == "|" and len(_words(parts[-1])) <= 4 < len(_words(
            " ".join(parts[:-1]))):
        parts.pop()  # "Headline | Brand": a short last part after a bar is a name
        seps.pop()
    out = parts[0]
    for sep, part in zip(seps, parts[1:], strict=True):
        out += sep + part
    return out.strip()


def _agreement(h1: str, declared: str) -> float:
    """How much the two titles share, the smaller of both shares (a one-word heading does not agree)."""
    hw, dw = _words(h1), _words(declared)
    if not hw or not dw:
        return 0.0
    hs, ds = set(hw), set(dw)
    return min(sum(w in ds for w in hw) / len(hw), sum(w in hs for w in dw) / len(dw))


_MONTH_OR_NUMBER = re.compile(rf"^(?:\d+(?:st|nd|rd|th)?|{MONTH_NAMES}|com|org|net)$")


def _plus_noise(h1: str, declared: str) -> bool:
    """The ``<h1>`` is the declared title plus a date, a count or a domain ("Dec 18 2025 Title", "Title (site.com) 87")."""
    hw, dw = _words(h1), _words(declared)
    n = len(dw)
    if not n or len(hw) <= n:
        return False
    for start in range(len(hw) - n + 1):
        if hw[start:start + n] == dw:
            rest = hw[:start] + hw[start + n:]  # one number alone is the headline's own ("2025 Trends", "10 Tips")
            return len(rest) >= 2 and all(_MONTH_OR_NUMBER.match(w) or (len(w) > 2 and f"{w}." in h1.casefold()) for w in rest)
    return False


def _damaged(h1: str, declared: str) -> bool:
    """The ``<h1>`` is the declared title with ``?`` where a broken encoding lost a character ("Beginner? Guide")."""
    if "?" not in h1 and "\ufffd" not in h1:
        return False
    pattern = ".{1,2}".join(re.escape(part) for part in re.split("[?\ufffd]", h1))
    return re.fullmatch(pattern, declared, re.IGNORECASE) is not None and h1.casefold() != declared.casefold()


def _plus_kicker(h1: str, declared: str) -> bool:
    """The ``<h1>`` is the declared title after a label of a word or two ("Opinion: Title", "Title: Title")."""
    hw, dw = _words(h1), _words(declared)
    extra = len(hw) - len(dw)
    return 0 < extra <= 2 and hw[extra:] == dw and re.match(r"^[^:|]{1,40}[:|]", h1) is not None


_BREAKS = frozenset({"br", "div", "p", "li", "h2", "h3", "small"})


def _spaced_text(el: etree._Element, skip: etree._Element | None = None) -> str:
    """The element's text with a space where a line breaks (``WEEKEND<br>CODING``), none inside a word."""
    out = [el.text or ""]
    for child in el:
        brk = isinstance(child.tag, str) and child.tag in _BREAKS
        out.append(" " if brk else "")
        out.append(_spaced_text(child, skip) if isinstance(child.tag, str) and child is not skip else "")
        out.append(" " if brk else "")
        out.append(child.tail or "")
    return "".join(out)


def _h1s(tree: etree._Element) -> dict[str, etree._Element]:
    out: dict[str, etree._Element] = {}
    for el in _H1(tree):
        text = " ".join(_spaced_text(el).split())
        if 3 <= len(text) <= MAX_H1_CHARS and len(_words(text)) <= MAX_H1_WORDS and text not in out:
            out[text] = el
    return out


def _plus_part(el: etree._Element, declared: str) -> bool:
    """The ``<h1>`` is the declared title plus an element of its own (a kicker, a badge, a subtitle): the
    page's own title leaves that part out."""
    want = _words(declared)
    return any(isinstance(child.tag, str) and _words(child.text_content())
               and _words(_spaced_text(el, skip=child)) == want for child in el.iterdescendants())


def choose_title(tree: etree._Element, declared: Iterable[str | None], site_names: Iterable[str | None],
                 url: str = "", fallback: str | None = None) -> str | None:
    """The headline: the ``<h1>`` that agrees with a declared title, else the declared title sans site name.

    ``fallback`` (a title found by searching the page) is used only when the page declares none. A
    declared title that is the site's name (or that the site's name was taken from) is the last resort.
    """
    sites = [s for s in site_names if s]
    site_keys = {_compact(x) for x in sites}
    named = [t for t in declared if t]
    titles = [t for t in named if _compact(t) not in site_keys]
    bare = [strip_site_name(t, sites, url) for t in titles]  # a logo <h1> must not agree with "| Site"
    h1s = _h1s(tree)
    best, score = None, 0.0
    for h1 in h1s:
        key = _compact(strip_site_name(h1, sites, url))
        if not key or any(key == k or (len(key) >= 4 and key in k) for k in site_keys):
            continue  # a logo: the site's name or part of it (a headline that mentions the name is not)
        s = max((_agreement(h1, t) for t in bare), default=0.0)
        if s > score:
            best, score = h1, s
    if best is not None and (score >= MIN_AGREEMENT or (len(h1s) == 1 and not titles)):
        best = next((t for t in bare if _plus_noise(best, t) or _damaged(best, t) or _plus_kicker(best, t)
                     or _plus_part(h1s[best], t)), best)
        return strip_site_name(best, sites, url) or best
    if not titles:
        return fallback or next(iter(h1s), None) or (named[0] if named else None)
    return strip_site_name(titles[0], sites, url) or titles[0]
