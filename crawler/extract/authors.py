"""Authors as people's names: what a byline or a metadata field says, without the rest.

Bylines carry more than names: "By", "Written by", job titles ("Staff Writer", "Founder"),
credentials after a comma ("RN, BSN"), dates glued on ("Jane Doe December"), "Updated ...",
"Reviewed by" a second person, the site's name. JSON-LD often names the author only through an
``@id`` reference to a ``Person`` elsewhere in the ``@graph``. This module resolves those and
cleans each candidate; the caller decides the order of the sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

from crawler.extract.dates import header_date_line
from crawler.extract.daytext import MONTH_NAMES

__all__ = ["NAME_META", "author_card", "clean_authors", "credits_list", "datalayer_author", "dateline_name",
           "from_handle", "jsonld_authors", "page_byline", "written_by"]

_I = re.IGNORECASE
_LEAD = re.compile(r"^(?:(?:this|the)\s+(?:post|article|story)\s+(?:was\s+)?(?:written|authored)\s+by|"
                   r"(?:(?:view|see|read|more)\s+)?(?:all\s+)?(?:more\s+)?(?:posts|articles|stories)\s+(?:by|from)|"
                   r"(?:article|post|story|words|text|written|authored|posted|published|reported)\s+by|by|von|par|"
                   r"por|di|author|authors|autor|written|posted)\s*:?\s+", _I)
# from here on a byline no longer names the author
_CUT = re.compile(rf"\s*(?:\b(?:updated|reviewed|edited|fact[- ]checked|medically reviewed|published|posted|"
                  rf"last updated|on)\b.*$|\b(?:{MONTH_NAMES})\b\.?\s+\d.*$|\s\d{{1,4}}\b.*$|\s*[|•·@].*$)", _I)
_ROLE_WORDS = (
    "staff writer|senior writer|contributing writer|freelance writer|writer|contributor|contributing editor|"
    "senior editor|managing editor|executive editor|editor-in-chief|editor in chief|editor|reporter|"
    "correspondent|columnist|journalist|founder|co-founder|cofounder|ceo|cto|cfo|coo|president|"
    "vice president|vp|director|manager|head|lead|chief|owner|partner|consultant|analyst|specialist|"
    "engineer|developer|designer|marketer|strategist|researcher|professor|attorney|lawyer|dietitian|"
    "nutritionist|coach|trainer|winemaker|reviewer|lead reviewer|admin|administrator|former|senior|"
    "associate|assistant|principal|fellow|intern|staff|moderator|guest author|guest|author"
)
_QUALIFIER = r"(?:(?:tech|news|science|health|business|sports|staff|senior|former|contributing|guest)\s+)?"
_ROLE_TAIL = re.compile(rf"\s+{_QUALIFIER}\b(?:{_ROLE_WORDS})\b.*$", _I)
_ROLE_ONLY = re.compile(rf"^{_QUALIFIER}(?:{_ROLE_WORDS})(?:\s+\w+){{0,3}}$", _I)
_CREDENTIAL = re.compile(r"^(?:m\.?d|ph\.?d|rn|bsn|msn|dvm|dds|dmd|mba|cpa|esq|jr|sr|ii|iii|facp|faclm|"
                         r"ms|ma|bs|ba|lcsw|rd|rdn|np|pa-c|do|od|pharmd|msc|bsc)\.?$", _I)
# a desk's byline ("Resy Staff", "The Acme Team", "Editorial Staff"): what the page credits when no person is named
_TEAM = re.compile(r"^(?!.*\b(?:our|meet|about|contact|join|all)\b)(?:the\s+)?(?:[\w&'’.+-]+\s+){1,3}(?:staff|team|contributors?|editors|desk|newsroom)$", _I)
_MONTH_WORD = re.compile(rf"^(?:{MONTH_NAMES})\.?$", _I)
# month words that are no one's name: dropped from the end of a two-word byline too
_MONTH_TAIL = re.compile(r"^(?:january|february|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|"
                         r"sep|sept|oct|nov|dec)\.?$", _I)
_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\be\b|\by\b)\s*", _I)
_NOT_NAME = re.compile(r"https?://|www\.|@|\.com\b|^\W*$|\d")
# a script's placeholder for an empty field
_NOT_PERSON = re.compile(r"^(?:undefined|null|none|unknown|n/a|nan)$", _I)
# a login ("jane.roe", "jane_roe"): what a CMS writes when the writer set no display name
_HANDLE = re.compile(r"^[a-z0-9]+(?:[._][a-z0-9]+)+$")


def _name_words(s: str) -> list[str]:
    return re.findall(r"\w+", s.casefold())


def _is_credential(word: str) -> bool:
    """A credential after a name is written "MA", "M.A." or "PhD": "Ma", "Do" as a last word are surnames."""
    return bool(_CREDENTIAL.match(word)) and ("." in word or word != word.capitalize())


def clean_one(raw: str) -> str | None:
    """One candidate → a name, or None when nothing name-like remains."""
    return _clean(raw)[0]


def _clean(raw: str) -> tuple[str | None, bool]:
    """(name or None, whether a role or credential followed it: the rest of a byline is not names)."""
    s = " ".join(str(raw).split()).strip(" ,;:-–—|")
    for _ in range(2):
        s = _LEAD.sub("", s).strip()
    s = _CUT.sub("", s).strip(" ,;:-–—|")
    if _TEAM.match(s) and not _NOT_NAME.search(s):
        return s, False
    if _MONTH_WORD.match(s):
        return None, False  # "August": what is left of a date, not a name
    if _ROLE_ONLY.match(s) or _CREDENTIAL.match(s):
        return None, True
    cut = _ROLE_TAIL.sub("", s).strip(" ,;:-–—|")
    role = cut != s
    if role and len(cut.split()) < 2:
        return None, True  # "Trial Attorney", "Acme Staff": a qualifier or a brand, not a person
    words = cut.split()
    if len(words) >= 3 and words[0].isupper() and words[0] == "".join(w[0] for w in words[1:]).upper():
        words.pop(0)  # "JR Jane Roe": an avatar's initials before the name
    while len(words) >= 2 and (_is_credential(words[-1]) or _MONTH_TAIL.match(words[-1])
                               or (len(words) >= 3 and _MONTH_WORD.match(words[-1]))):
        role = role or _is_credential(words[-1])
        words.pop()  # "Jane Doe RN", "Jane Doe December", "Acme November"
    s = " ".join(words)
    if not s or _NOT_NAME.search(s) or _NOT_PERSON.search(s) or (" " not in s and "." in s):
        return None, role
    if len(words) > 5 or len(s) > 60:
        return None, role
    return s, role


def clean_authors(candidates: Iterable[str], site_names: Iterable[str | None] = ()) -> list[str]:
    """Cleaned, deduplicated names in order; a name whose words another name contains is dropped,
    and the site's own name and a desk's byline ("Acme Staff") are dropped when people are named too."""
    names: list[str] = []
    for raw in candidates:
        for part in _SPLIT.split(str(raw)):
            name, role = _clean(part)
            if name:
                names.append(name)
            if role and names:
                break  # "Name, Trial Attorney, Firm & Firm": what follows a role is an affiliation
    out: list[str] = []
    for name in names:
        words = set(_name_words(name))
        if any(words <= set(_name_words(o)) for o in out):
            continue
        out = [o for o in out if not set(_name_words(o)) < words]
        out.append(name)
    sites = {"".join(_name_words(s)) for s in site_names if s}
    people = [n for n in out if "".join(_name_words(n)) not in sites and not _TEAM.match(n)]
    return people or out


def from_handle(name: str | None, declared: Iterable[str]) -> bool:
    """``name`` is only a declared login with its dots turned into spaces and capitals added (as
    trafilatura's ``normalize_authors`` does): "Jane Roe" from "jane.roe" is not the byline's spelling."""
    words = _name_words(name or "")
    return bool(words) and any(_HANDLE.match(d.strip()) and _name_words(d.replace("_", " ")) == words
                               for d in declared)


_CREDIT = re.compile(r"(?:^|[,;])\s*[^\W\d]+\s*:\s", _I)


def credits_list(value: str) -> bool:
    """An author meta that lists who did what ("content: Acme, design: Jane Roe, code: Jon Moe"):
    a site's credits, not the article's byline."""
    return len(_CREDIT.findall(value)) >= 2


def written_by(meta: Mapping[str, list[str]]) -> list[str]:
    """The names in the ``twitter:dataN`` field labelled "Written by"/"Author" (WordPress SEO plug-ins write
    the post author's display name there, as the page shows it). A desk's name there ("Acme Staff") is left
    to the other sources: it is often the account that posted an article a person signs."""
    out: list[str] = []
    for n in range(1, 5):
        label = (meta.get(f"twitter:label{n}") or [""])[0].strip().casefold()
        if label in ("written by", "author", "by") and (data := meta.get(f"twitter:data{n}")) \
                and not _TEAM.match(data[0].strip()):
            out.append(data[0])
    return out


def _types(obj: Mapping[str, Any]) -> set[str]:
    t = obj.get("@type", [])
    return {x.lower() for x in ([t] if isinstance(t, str) else t) if isinstance(x, str)}


def jsonld_authors(documents: Iterable[Any], article: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(people, organisations) named as ``article``'s authors, ``@id`` references resolved.

    ``documents`` are the page's parsed JSON-LD scripts.
    """
    by_id: dict[str, Mapping[str, Any]] = {}
    stack = list(documents)
    while stack:
        obj = stack.pop()
        if isinstance(obj, list):
            stack.extend(obj)
        elif isinstance(obj, dict):
            if isinstance(obj.get("@id"), str) and "name" in obj:
                by_id.setdefault(obj["@id"], obj)
            stack.extend(v for v in obj.values() if isinstance(v, (list, dict)))
    people: list[str] = []
    orgs: list[str] = []
    value = article.get("author") or article.get("creator")
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and "name" not in item and isinstance(item.get("@id"), str):
            item = by_id.get(item["@id"], item)
        if isinstance(item, str):
            people.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            (orgs if _types(item) & {"organization", "newsmediaorganization", "corporation"} else people).append(
                item["name"])
    return people, orgs


_AUTHOR_LINKS = etree.XPath(
    "//a[@rel='author' or contains(@href, '/author/') or contains(@href, '/authors/') or "
    "contains(@href, '/autor/') or contains(@href, '/people/') or contains(@href, '/staff/')]"
    " | //*[@itemprop='author' or contains(@class, 'author-name') or contains(@class, 'author__name') or "
    "contains(@class, 'authorname') or contains(@class, 'byline__name') or contains(@class, 'author_name')]")
_WRITTEN_BY = re.compile(r"^(?:(?:this|the)\s+(?:post|article|story)\s+(?:was\s+)?(?:written|authored)|written|posted|"
                         r"article|story|words|reported)\s+by\s+(.{3,100})$", _I)
_SHORT_TEXT = etree.XPath("//p | //span | //div[not(*)] | //div[not(div)]")
# a text node that starts a byline: "By Jane Roe", "by:" with the name in the next element
_BY_TEXT = etree.XPath("//text()[string-length(.) < 200 and contains('|by|wr|po|', concat('|', "
                       "translate(substring(normalize-space(.), 1, 2), 'BYWRPO', 'bywrpo'), '|'))]")
_BY_LEAD = re.compile(r"^(?:(?:written|posted)\s+)?by\s*:?(?:\s|$)", _I)
_BY_LINE = re.compile(r"^(?:(?:written|posted)\s+)?by\s*:?\s+(.{3,100})$", _I)
_CAPITALIZED = re.compile(r"^[A-ZÀ-Þ][\w'’.-]*(?:\s+(?:[a-z]{1,3}\s+)?[A-ZÀ-Þ][\w'’.-]*){1,3}$")
NAME_META = ("author", "article:author", "cxenseparse:author", "parsely-author", "sailthru.author", "dc.creator",
             "dcterms.creator", "byl")


def page_byline(tree: etree._Element) -> list[str]:
    """A name the page shows as its byline: an author link or element, else a "Written by" line."""
    for el in _AUTHOR_LINKS(tree):
        text = " ".join(el.text_content().split())
        name = clean_one(text) if text else None
        if name and _CAPITALIZED.match(name):
            return [name]
    for el in _SHORT_TEXT(tree):
        text = " ".join(el.text_content().split())
        if len(text) <= 120 and (m := _WRITTEN_BY.match(text)):
            # "Written by Jane Roe and Jon Moe", else the first name of "... by Jane Roe, MD, cardiologist at ..."
            for name in (clean_one(m.group(1)), clean_one(_SPLIT.split(m.group(1))[0])):
                if name and _CAPITALIZED.match(name):
                    return [name]
    return _by_line(tree)


def _by_line(tree: etree._Element) -> list[str]:
    """A "By Jane Roe" line: the name in the same text, or in the next element ("<span>By</span><a>Jane Roe</a>")."""
    for node in _BY_TEXT(tree):
        if not _BY_LEAD.match(node.strip()):
            continue
        el = node.getparent()
        if el is not None and node.is_tail:
            el = el.getparent()
        text = " ".join(node.split())
        for _ in range(4):  # the text itself, then up to three elements up from a lone "By"
            if len(text) > 100:
                break
            if m := _BY_LINE.match(text):
                # "By Jane Roe and Jon Moe", else the first name of "by Jane Roe, Representative to the ..."
                for name in (clean_one(m.group(1)), clean_one(_SPLIT.split(m.group(1))[0])):
                    if name and _CAPITALIZED.match(name):
                        return [name]
                break
            if el is None:
                break
            text = " ".join(" ".join(el.itertext()).split())  # "<div>By</div><div>Jane Roe</div>": spaced
            el = el.getparent()
    return []


_DATELINE_CHARS = 150  # a header's meta line: the name, the date, a reading time
_OTHER_ROLE = re.compile(r"(?:review|edit|check|photo|illustrat|image|video|credit)\w*\s*(?:by)?\s*:?\s*$", _I)
_NOT_TEXT = frozenset({"script", "style", "noscript", "template", "svg"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_DATELINE_NEIGHBOUR = 60
# a control's label, a digit, a list of several things: not one person's name
_NOT_DATELINE_NAME = re.compile(r"\d|[&,;/]|\s(?:and|or)\s|\b(?:copy|link|share|print|text|size|font|listen|save|follow|"
                                r"subscribe|comments?|reply|read|menu|search|e-?mail|home)\b", _I)


def dateline_name(tree: etree._Element, title: str | None) -> list[str]:
    """A name standing alone next to the date the header shows ("Jane Roe · May 4, 2025"; the line
    ``dates.header_date_line`` finds): the byline of a page that neither says "By" nor marks the
    name up as an author."""
    line = header_date_line(tree, title)
    if line is None:
        return []
    return _name_beside(line.element, line.text, " ".join(line.headline.text_content().split()).casefold())


def _name_beside(el: etree._Element, date_line: str, title: str) -> list[str]:
    """A name-like line in the small block around the date (up to three levels up), else in the
    element just before or after that block ("<p>Jane Roe</p><div>May 4, 2025 · 5 min</div>")."""
    node = block = el
    for _ in range(3):
        node = node.getparent()
        if node is None or len(" ".join(node.text_content().split())) > _DATELINE_CHARS:
            break
        block = node
        if name := _name_in(node, date_line, title):
            return [name]
    for near in (block.getprevious(), block.getnext()):
        if near is not None and isinstance(near.tag, str) and near.tag not in _HEADINGS \
                and len(near.text_content()) <= _DATELINE_NEIGHBOUR and (name := _name_in(near, date_line, title)):
            return [name]
    return []


def _name_in(node: etree._Element, date_line: str, title: str) -> str | None:
    for part in node.iter():
        if not isinstance(part.tag, str) or part.tag in _NOT_TEXT:
            continue
        link = part if part.tag == "a" else next(part.iterancestors("a"), None)
        if link is not None and link.get("href"):
            continue  # a link in a header is a section's (an author's link was read before)
        line = " ".join((part.text or "").split()).strip(" ·•|,-–—")
        if line and line != date_line and not _NOT_DATELINE_NAME.search(line) and not _credited(part) \
                and line.casefold() not in title:
            name = clean_one(line)
            if name and name == line and _CAPITALIZED.match(name):
                return name
    return None


def _credited(el: etree._Element) -> bool:
    """The text just before ``el`` credits someone else: "Reviewed by", "Photo:"."""
    prev = el.getprevious()
    before = (prev.tail if prev is not None else (el.getparent().text if el.getparent() is not None else "")) or ""
    if not before.strip() and prev is not None:
        before = prev.text_content()
    return bool(_OTHER_ROLE.search(before))


_CARDS = etree.XPath("//*[contains(@class, 'author') or contains(@class, 'Author')]")
_CARD_LABEL = re.compile(r"^(?:about\s+(?:the\s+)?authors?|(?:written|posted)\s+by|by|authors?|meet\s+the\s+authors?)"
                         r"\s*:?$", _I)
_CARD_CHARS = 1500  # a name, a title, a short biography, links


def author_card(tree: etree._Element) -> list[str]:
    """The name that opens an author card (``class="blog-author"``, ``"author-box"``, an ``<h4>``
    or a bold line before a biography): the byline of pages whose card text is too long for the
    byline search and that say "By" nowhere."""
    for card in _CARDS(tree):
        if _longer(card, _CARD_CHARS) or any("comment" in (el.get("class") or "")
                                              for el in (card, *card.iterancestors())):
            continue  # a block that holds much more than a card, or a commenter's card
        for text in card.itertext():
            line = " ".join(text.split()).strip(" ·•|,:-–—")
            if not line or _CARD_LABEL.match(line):
                continue
            name = clean_one(line)
            if name and name == line and _CAPITALIZED.match(name):
                return [name]
            break
    return []


def _longer(el: etree._Element, limit: int) -> bool:
    """``len(el.text_content()) > limit``, without reading all of a large block's text."""
    size = 0
    for text in el.itertext():
        size += len(text)
        if size > limit:
            return True
    return False


_INLINE_SCRIPTS = etree.XPath("//script[not(@src)]/text()")
_POST_AUTHOR = re.compile(r'"pagePostAuthor"\s*:\s*"([^"\\]{2,80})"')


def datalayer_author(tree: etree._Element) -> list[str]:
    """The post author's display name that the GTM4WP plug-in (Google Tag Manager for WordPress)
    writes into the page's ``dataLayer``: the byline of WordPress pages whose theme shows none."""
    for script in _INLINE_SCRIPTS(tree):
        if '"pagePostAuthor"' in script and (m := _POST_AUTHOR.search(script)):
            return [m.group(1)]
    return []
