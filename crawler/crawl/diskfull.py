"""Disk full: the crawl stops at the first ENOSPC, once, and keeps what it wrote.

Every writer of the crawl (WARC writer process, text and JSONL writer, crawl state, run report)
reports a failed write here. The first one stops the crawl (finish reason ``disk_full``); the
WARC file in progress is closed out valid by the usual shutdown, half-written text and JSONL
files are removed or cut back, and articles that were not written are not recorded in the crawl
state, so the next run (with space) fetches them: nothing lost, nothing duplicated. Later
failures of the same kind are logged at DEBUG only, so the terminal shows one line.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from typing import Any

from scrapy.utils.defer import deferred_from_coro

logger = logging.getLogger(__name__)

STAT = "newswarc/disk_full"
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException | str | None) -> bool:
    """ENOSPC/EDQUOT (an OSError, SQLite's "database or disk is full", or such an error's text)."""
    if isinstance(exc, OSError):
        return exc.errno in FULL_ERRNOS
    if isinstance(exc, sqlite3.OperationalError):
        return "disk is full" in str(exc)
    if isinstance(exc, str):
        return "[Errno 28]" in exc or "[Errno 122]" in exc or "disk is full" in exc
    return False


def disk_full(crawler: Any) -> bool:
    return bool(crawler.stats.get_value(STAT))


def stop_for_disk_full(crawler: Any, where: str) -> None:
    """Stop the crawl (from any thread); only the first call logs and acts."""
    if disk_full(crawler):
        return
    crawler.stats.set_value(STAT, where)
    # INFO: the command's last line says it to the user (cli/crawl.py), once
    logger.info("No space left on device (%s): stopping the crawl; what was written is kept", where)
    from twisted.internet import (
        reactor,  # the reactor: Scrapy installs it first (the CLI imports this module)
    )

    reactor.callFromThread(_close, crawler)


def _close(crawler: Any) -> None:
    engine = crawler.engine
    if engine is not None and engine.running:
        deferred_from_coro(engine.close_spider_async(reason="disk_full"))
