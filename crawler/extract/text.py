"""Article text after extraction: normalized lines, boilerplate lines cut, words counted.

Plain functions on strings, shared by the extractor (:mod:`crawler.extract.api`) and its tests;
no HTML here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from crawler.config.extract import ExtractOptions

# ---------------------------------------------------------------- text normalization

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WS = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFC, zero-width chars gone, one paragraph per line, inner whitespace collapsed, no empty lines."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text))
    lines = (" ".join(line.split()) for line in text.splitlines())  # split(): \s+ runs, also NBSP
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------- boilerplate lines

_I = re.IGNORECASE
_MONTH = (r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janeiro|fevereiro|março|abril|maio|junho|julho|"
          r"agosto|setembro|outubro|novembro|dezembro)[a-z]*\.?")
_DATE = re.compile(rf"\b(\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH}\s+\d{{1,2}}\b|"
                   rf"\d{{1,2}}\s+(de\s+)?{_MONTH}|\d{{1,2}}:\d{{2}}\s*([ap]\.?m\.?)?)", _I)
_BYLINE = re.compile(r"^(by|por|posted by|publicado por|written by|von|par|di)\s|\bpublicado por\b|\bposted by\b", _I)
# lines that are boilerplate wherever they are
_DROP_LINE = re.compile(
    r"^(advertisement|advertising|sponsored|publicidade|share( this( article| story| post)?)?( on \w+)?|tweet|"
    r"print|e-?mail|comments?|\d+\s+comments?|click to tweet|(reading time|tempo de leitura|lesezeit|"
    r"temps de lecture)\b.{0,30}|\d+\s+min(ute)?s?\s+read|(updated|last updated|published|posted)( at| on)?\s.{0,40}"
    r"|skip to (main )?content|image:?|photo:?|getty images?)[.:!…]*$", _I)
# lines that start a block of links to other articles
_SECTION_CUT = re.compile(
    r"^(related( articles?| stories| posts| coverage| content| links)?|you (may|might) also like|"
    r"recommended( for you| stories| articles)?|read (also|more|next)|more (from|on|stories|news)\b.{0,40}|"
    r"see also|also read|leia (também|mais)|veja (também|mais)|leggi anche|lesen sie auch|lire aussi|"
    r"most (read|popular|viewed)|trending( now)?|popular (posts|stories)|you may have missed|"
    r"something to consider|don'?t miss|more in \w+|story timeline|sponsored (links|content))\b[^.!?]{0,100}[:.…]*$", _I)
# lines that end an article (footers): dropped from the end
_TRAILING = re.compile(
    r"(^follow (us|him|her|them|@\w+|[\w .]{1,40} on (twitter|facebook|instagram))|"
    r"\bfollow (us|him|her|them) on (twitter|facebook|instagram|linkedin)|"
    r"^(sign up|subscribe)\b|\bnewsletters?\b|^(have|got) a (news )?tip\b|\bcookies?\b.*\b(policy|consent|accept|use)\b|"
    r"^(all rights reserved|copyright|©)|all rights reserved\.?$|"
    r"^if you (enjoyed|liked) this (article|post|story)|^(listen|download|itunes|subscribe|spotify)\s*:|"
    r"^how to listen\b|^(share|tags?|filed under|categories|categorias?|topics?)\s*:|"
    r"^\S+@\S+\.\w+$|^(https?://|www\.|twitter\.com/)\S+$|^(email|contact) \w[\w .]{0,40} at \S+@\S+)", _I)
_LIST_ITEM = re.compile(r"^[-–•*]\s")


def is_list_item(line: str) -> bool:
    """A line of extracted text that is a list item (trafilatura writes ``- ``)."""
    return _LIST_ITEM.match(line) is not None


def _same_title(line: str, title: str | None) -> bool:
    if not title:
        return False
    a, b = _WS.sub(" ", line).strip(" .:|-").casefold(), _WS.sub(" ", title).strip(" .:|-").casefold()
    return bool(a) and (a == b or (len(a) > 20 and (b.startswith(a) or (a.startswith(b) and len(a) < len(b) + 40))))


def _is_linkish(line: str) -> bool:
    """A link title: a short list item, or a short line without sentence ending.

    A long list item is prose (a list of principles, steps or findings under a "More from ..."
    heading), not a teaser title: cutting it would cut the rest of the article with it.
    """
    words = line.split()
    if len(words) > 16:
        return False
    return is_list_item(line) or not re.search(r"[.!?]\W*$", line)


def clean_lines(lines: list[str], title: str | None, extra: Iterable[re.Pattern[str]] = ()) -> list[str]:
    """Drop generic boilerplate lines (and seed patterns) from extracted paragraphs."""
    extra = list(extra)
    out: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if any(p.search(line) for p in extra) or _DROP_LINE.match(line):
            i += 1
            continue
        if _SECTION_CUT.match(line) or re.match(r"^(related|read more|see also|more)\s*:", line, _I):
            i += 1  # the marker, then the link titles under it
            while i < n and _is_linkish(lines[i]) and not _looks_like_heading_of_body(lines, i):
                i += 1
            continue
        out.append(line)
        i += 1
    # leading: repeated title, bylines/datelines
    while out and (_same_title(out[0], title) or _is_dateline(out[0])):
        out.pop(0)
    # trailing footers
    while out and len(out[-1].split()) <= 40 and (
            _TRAILING.search(out[-1]) or _DROP_LINE.match(out[-1]) or _SECTION_CUT.match(out[-1])):
        out.pop()
    return out


def _looks_like_heading_of_body(lines: list[str], i: int) -> bool:
    """A short line followed by a long paragraph is a subheading of the body, not a link."""
    return not is_list_item(lines[i]) and i + 1 < len(lines) and len(lines[i + 1].split()) > 25


def _is_dateline(line: str) -> bool:
    words = line.split()
    if len(words) > 16:
        return False
    return bool(_DATE.search(line) and (len(words) <= 8 or _BYLINE.search(line))) or bool(
        _BYLINE.match(line) and len(words) <= 8)


# a copy of the article, not a repeated line of it: this many different lines and words, verbatim, in order
REPEAT_LINES = 10
REPEAT_WORDS = 100


def drop_repeated_blocks(lines: list[str]) -> list[str]:
    """``lines`` with every later copy of a long block of them left out.

    Pages ship the article more than once and let CSS or a script show one: a layout per screen
    width (the others ``display: none`` at each breakpoint), a gated copy beside the open one, a
    ``<noscript>`` fallback. The extractor reads the HTML, not the rendered page, and gets every
    copy. A run of ``REPEAT_LINES`` different lines and ``REPEAT_WORDS`` words that stands earlier
    in the same order is such a copy; a line repeated on its own (a refrain, a "Rest day" in a
    training plan, a "Reply" under every comment), a short run of them or a pattern of a few lines
    over and over is text, and stays.

    Each window of ``REPEAT_LINES`` different lines is remembered where it first stands, so the
    cost is linear in the lines, whatever repeats.
    """
    n = len(lines)
    if n < 2 * REPEAT_LINES:
        return lines
    first: dict[tuple[str, ...], int] = {}
    out: list[str] = []
    i = 0
    while i < n:
        window = tuple(lines[i:i + REPEAT_LINES])
        j = first.get(window)
        if j is None:
            if len(window) == REPEAT_LINES and len(set(window)) == REPEAT_LINES:
                first[window] = i
        else:  # different lines: the earlier window cannot overlap this one
            k = REPEAT_LINES
            while i + k < n and j + k < i and lines[j + k] == lines[i + k]:
                k += 1
            if sum(len(ln.split()) for ln in lines[i:i + k]) >= REPEAT_WORDS:
                i += k
                continue
        out.append(lines[i])
        i += 1
    return out


_CLICK_TO_TWEET = re.compile(r"\s*click to tweet$", _I)


def clean_body(raw: str, title: str | None, options: ExtractOptions) -> str:
    lines = drop_repeated_blocks(normalize_text(raw).split("\n")) if raw else []
    lines = [_CLICK_TO_TWEET.sub("", ln) for ln in lines]
    extra = [re.compile(p) for p in options.boilerplate_patterns]
    # the lines are normalized already: only a line emptied by the click-to-tweet cut can remain
    return "\n".join(ln for ln in clean_lines(lines, title, extra) if ln)


_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def count_words(text: str) -> int:
    """Words of ``text``; each Chinese/Japanese character counts as one (no spaces there)."""
    return len(_WORD.findall(text))
