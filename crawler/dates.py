"""The date parsers: ISO 8601 times (WARC-Date, the crawl state, command-line dates) and feed/sitemap dates.

All answer an aware datetime in UTC (a naive time means UTC) or None for what does not parse;
callers that must reject bad input (the command line) say so in their own words.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


def parse_iso(value: str | None) -> datetime | None:
    """An ISO 8601 time (or date) as an aware UTC datetime; naive means UTC; junk gives None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_ISO = re.compile(
    r"^(\d{4})(?:-?(\d{2})(?:-?(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?)?)?$"
)


def parse_date(text: str | None) -> datetime | None:
    """W3C/ISO 8601 or RFC 822 date text to an aware UTC datetime (no zone means UTC).

    Accepts the W3C profile (``2024``, ``2024-05``, ``2024-05-01``, with time, seconds,
    fractions and zone), a space instead of ``T``, ``+0100`` zones, and RFC 822 feed dates.
    Returns None for anything else.
    """
    if not text:
        return None
    text = text.strip()
    m = _ISO.match(text)
    if m:
        year, month, day, hh, mm, ss, frac, tz = m.groups()
        try:
            dt = datetime(
                int(year),
                int(month or 1),
                int(day or 1),
                int(hh or 0),
                int(mm or 0),
                int(ss or 0),
                int((frac or "0")[:6].ljust(6, "0")),
            )
            offset = _tz_offset(tz)
        except ValueError:
            return None
        return (dt - offset).replace(tzinfo=UTC)
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _tz_offset(tz: str | None) -> timedelta:
    if not tz or tz.upper() in ("Z", "UTC", "GMT"):
        return timedelta(0)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad zone {tz}")
    return sign * timedelta(hours=hours, minutes=minutes)
