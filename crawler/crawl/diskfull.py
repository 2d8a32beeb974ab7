"""Disk full: the crawl stops at the first ENOSPC, once, and keeps what it wrote.

Every writer of the crawl (WARC writer process, text and JSONL writer, crawl state, run report)
reports a failed write here (the crawl state through its ``on_disk_full`` callback, see
:func:`watch_state`). The first one stops the crawl (finish reason ``disk_full``); the
WARC file in progress is closed out valid by the usual shutdown, half-written text and JSONL
files are removed or cut back, and articles that were not written are not recorded in the crawl
state, so the next run (with space) fetches them: nothing lost, nothing duplicated. Later
failures of the same kind are logged at DEBUG only, so the terminal shows one line.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from scrapy.utils.defer import deferred_from_coro

logger = logging.getLogger(__name__)

STAT = "newswarc/disk_full"
_first = threading.Lock()  # writers in several threads may hit the full disk at once: one of them says it


def disk_full(crawler: Any) -> bool:
    """Whether this crawl has stopped for a full disk (what its writers check before writing more)."""
    return bool(crawler.stats.get_value(STAT))


def stop_for_disk_full(crawler: Any, where: str) -> None:
    """Stop the crawl (from any thread); only the first call logs and acts."""
    with _first:
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


def watch_state(crawler: Any, state: Any) -> None:
    """A crawl state whose background commit finds the disk full stops this crawl (``on_disk_full``).

    Seeds of one command share one state: each crawl adds itself (another backend has no hook).
    """
    listeners = getattr(state, "on_disk_full", None)
    if listeners is not None:
        listeners.append(lambda where: stop_for_disk_full(crawler, where))
