"""Days written in text, URLs and ISO 8601 values: the parsing under the date rules.

English month names, numeric dates read in the page's order, and bounds: nothing before 1995,
nothing after tomorrow (a publication date cannot be in the future; zones ahead of UTC are on
tomorrow already).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

__all__ = ["MONTH_NAMES", "latest_day", "parse_day", "text_date", "url_date"]

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
# English month names and their abbreviations (a regular expression, no group): also what the
# author and headline rules recognise as a date's words
MONTH_NAMES = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
               r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_MONTH = rf"({MONTH_NAMES})"
_MDY = re.compile(rf"\b{_MONTH}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?{_MONTH}\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_YMD = re.compile(r"\b((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_NUMERIC = re.compile(r"\b(\d{1,2})([/.-])(\d{1,2})\2((?:19|20)\d{2})\b")

def _valid(year: int, month: int, day: int, latest: date) -> date | None:
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    return found if date(1995, 1, 1) <= found <= latest else None


def text_date(text: str, latest: date, month_first: bool = True, hints: Iterable[date] = ()) -> date | None:
    """The first full date (day, month, year) in a short text, or None; never later than ``latest``.

    Month names are English; numeric dates are read month-first for slashes when ``month_first``
    (US English), day-first for dots, and the other way round when that is the only valid reading
    or when it is one of the ``hints`` (dates the page declares or its URL states).
    """
    best: tuple[int, date] | None = None
    for m in _MDY.finditer(text):
        if found := _valid(int(m[3]), _MONTHS[m[1].lower()], int(m[2]), latest):
            best = min(best or (m.start(), found), (m.start(), found))
            break
    for m in _DMY.finditer(text):
        if found := _valid(int(m[3]), _MONTHS[m[2].lower()], int(m[1]), latest):
            best = min(best or (m.start(), found), (m.start(), found))
            break
    for m in _YMD.finditer(text):
        if found := _valid(int(m[1]), int(m[2]), int(m[3]), latest):
            best = min(best or (m.start(), found), (m.start(), found))
            break
    if best is None:
        for m in _NUMERIC.finditer(text):
            a, b, year = int(m[1]), int(m[3]), int(m[4])
            first_is_month = month_first if m[2] == "/" else False
            order = [(a, b), (b, a)] if first_is_month else [(b, a), (a, b)]
            if any((h.year, h.month, h.day) == (year, *order[1]) for h in hints):
                order.reverse()
            for month, day in order:
                if found := _valid(year, month, day, latest):
                    return found
    return best[1] if best else None


_URL_DATE = re.compile(rf"/(?P<y>(?:19|20)\d{{2}})/(?P<m>\d{{1,2}}|{_MONTH})/(?P<d>\d{{1,2}})(?:/|$)", re.IGNORECASE)


def url_date(url: str | None) -> date | None:
    """A ``/YYYY/MM/DD/`` (or ``/YYYY/month/DD/``) date in the URL's path."""
    m = _URL_DATE.search(url or "")
    if not m:
        return None
    month = int(m["m"]) if m["m"].isdigit() else _MONTHS[m["m"].lower()]
    return _valid(int(m["y"]), month, int(m["d"]), date.max)


def latest_day(now: datetime | None = None) -> date:
    """The latest day a publication date can name: tomorrow in UTC (zones ahead of UTC are on it)."""
    return ((now or datetime.now(UTC)) + timedelta(days=1)).date()


def parse_day(value: str | None) -> date | None:
    """The calendar day an ISO 8601 value is written on (its own time zone), or None."""
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None
