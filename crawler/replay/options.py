"""What a replay is asked to do and what it found: options, result, errors, ``--since``/``--until`` times.

Apart from :mod:`crawler.replay.replayer` because the CLI, ``dataset`` and ``wacz`` read the same
options and times without needing the replay engine itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from crawler.config.seeds import SINCE_RE, parse_since
from crawler.config.settings import NEWSWARC_ARCHIVE_MAX_BODY, NEWSWARC_ARCHIVE_MAX_DECODED
from crawler.dates import parse_iso
from crawler.errors import NewswarcError
from crawler.replay.report import STATS
from crawler.warc.reader import Corrupt

DEFAULT_MAX_BODY = NEWSWARC_ARCHIVE_MAX_BODY
DEFAULT_MAX_DECODED = NEWSWARC_ARCHIVE_MAX_DECODED


class ReplayError(NewswarcError):
    """A replay cannot start: no source, nothing to write, a bad date or pattern."""

    exit_code = 2


@dataclass
class ReplayOptions:
    """What to replay and how; ``seed`` is a :class:`crawler.config.seeds.Seed` (patterns, extract options)."""

    site: str | None = None
    seed: Any = None
    url_pattern: re.Pattern[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    workers: int = 0
    timeout: float = 60.0
    max_body: int = DEFAULT_MAX_BODY  # bytes of a record's body read (the reader's limit)
    max_decoded: int = DEFAULT_MAX_DECODED  # bytes its Content-Encoding may decode to, as in the crawl
    max_inflight: int = 0  # 0: 16 per worker


@dataclass
class ReplayResult:
    """Counters (``newswarc/replay/...`` keys) and the damage found in the input."""

    stats: dict[str, int]
    corrupt: list[Corrupt] = field(default_factory=list)
    run_id: str = ""

    @property
    def articles(self) -> int:
        return self.stats.get(STATS + "articles", 0)

    @property
    def clean(self) -> bool:
        """No input was damaged or unreadable."""
        return not self.corrupt and not self.stats.get(STATS + "sources/unreadable", 0)


def parse_when(value: str, *, end: bool = False, flag: str = "--since") -> datetime:
    """An ISO date or date-time (UTC when naive), or a duration ago as seeds write it (``3d``, ``12h``).

    A bare date as ``--until`` (``end``) means the whole day.
    """
    if SINCE_RE.match(value):
        return datetime.now(UTC) - timedelta(seconds=parse_since(value, flag, key=None))
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
        if day is not None:
            return datetime.combine(day, dtime.max if end else dtime.min, tzinfo=UTC)
    when = parse_iso(value)
    if when is None:
        raise ReplayError(f"{flag} {value!r}: not an ISO date (2026-11-27 or 2026-11-27T15:00:00Z) "
                          "nor a duration (3d, 12h, 30m, 1w)")
    return when
