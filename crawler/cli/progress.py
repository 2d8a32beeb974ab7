"""The live line on stderr (a terminal only), drawn by rich: what is done, the queue, the rate, the ETA.

One :class:`LiveLine` serves the crawl (fed from Scrapy's stats on the reactor) and replay (fed
by the replayer). rich keeps the line at the bottom of the terminal and prints log lines above
it; its speed is the recent rate, not the average since the start, so the first seconds of a
crawl (extraction workers starting) do not weigh on it. The ETA is shown only when the total is
known: ``--max-pages`` for a crawl, the site's size for the demo.
"""

from __future__ import annotations

import io
import sys
from datetime import timedelta
from typing import IO, Any

from rich.console import Console
from rich.progress import Progress, ProgressColumn, Task
from rich.text import Text


class _LineColumn(ProgressColumn):
    """``pages 12/150  articles 5  queue 30  8.1 pages/s  ETA 0:00:17`` from one rich task."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        head = task.fields.get("head", "")
        speed = task.speed
        rate = f"{speed:.1f}" if speed else "-"
        line = f"{head}  {rate} {self.unit}/s"
        if task.total and speed and task.remaining is not None:
            line += f"  ETA {timedelta(seconds=round(task.remaining / speed))}"
        return Text(line, no_wrap=True, overflow="ellipsis")


class LiveLine:
    """One redrawn line; ``update()`` it, ``print()`` above it, ``stop()`` to clear it."""

    def __init__(self, unit: str, total: int | None = None, stream: IO[str] | None = None):
        stream = stream or sys.stderr
        self.enabled = stream.isatty()
        self.console = Console(file=stream, highlight=False, markup=False)
        self._progress = Progress(_LineColumn(unit), console=self.console, transient=True, auto_refresh=False,
                                  redirect_stdout=False, redirect_stderr=False, speed_estimate_period=15)
        self._task = self._progress.add_task("", total=total, head="")
        self._live = False

    def start(self) -> None:
        if self.enabled and not self._live:
            self._progress.start()
            self._live = True

    def update(self, completed: int, head: str) -> None:
        if self._live:
            self._progress.update(self._task, completed=completed, head=head)
            self._progress.refresh()

    def print(self, line: str) -> None:
        """A line above the live one (log messages), or plain on stderr when not live."""
        if self._live:
            self.console.print(line, soft_wrap=True)
        else:
            print(line, file=self.console.file, flush=True)

    def stop(self) -> None:
        if self._live:
            self._progress.stop()
            self._live = False


def crawl_stats(crawler: Any) -> dict[str, Any]:
    """The crawler's stats so far; ``{}`` before its crawl started. Scrapy 2.19's ``Crawler.stats``
    raises RuntimeError until then (``if crawler.stats`` did), older Scrapy's is None."""
    try:
        stats = crawler.stats
    except RuntimeError:
        return {}
    return stats.get_stats() if stats is not None else {}


class CrawlProgress:
    """Feeds a :class:`LiveLine` from the crawlers' Scrapy stats every half second, on the reactor.

    ``queue`` is what waits: Scrapy's scheduler (``scheduler/enqueued`` - ``scheduler/dequeued``)
    plus the spider's frontier of sitemap entries not yet turned into requests. With
    ``total_articles`` (the demo knows its site) the rate and ETA are in articles, else in pages,
    with an ETA when every seed has a page budget.
    """

    def __init__(self, crawlers: list, *, total_pages: int | None = None, total_articles: int | None = None,
                 stream: IO[str] | None = None, interval: float = 0.5):
        self.crawlers, self.interval = crawlers, interval
        self.by_articles = total_articles is not None
        self.total = total_articles if self.by_articles else total_pages
        self.line = LiveLine("articles" if self.by_articles else "pages", self.total, stream)
        self.enabled = self.line.enabled
        self._call = None

    def totals(self) -> dict[str, int]:
        out = {"pages": 0, "articles": 0, "queue": 0}
        for crawler in self.crawlers:
            stats = crawl_stats(crawler)
            out["pages"] += stats.get("downloader/response_count", 0)
            out["articles"] += stats.get("newswarc/extract/articles", 0)
            out["queue"] += max(stats.get("scheduler/enqueued", 0) - stats.get("scheduler/dequeued", 0), 0)
            out["queue"] += len(getattr(getattr(crawler, "spider", None), "_frontier", ()) or ())
        return out

    def head(self, t: dict[str, int]) -> str:
        pages = f"{t['pages']}/{self.total}" if self.total and not self.by_articles else str(t["pages"])
        articles = f"{t['articles']}/{self.total}" if self.by_articles else str(t["articles"])
        return f"pages {pages}  articles {articles}  queue {t['queue']}"

    def tick(self) -> None:
        t = self.totals()
        self.line.update(t["articles"] if self.by_articles else t["pages"], self.head(t))

    def start(self) -> None:
        if not self.enabled:
            return
        from twisted.internet import task  # the reactor Scrapy installed

        self.line.start()
        self._call = task.LoopingCall(self.tick)
        self._call.start(self.interval, now=False)

    def stop(self) -> None:
        if self._call is not None and self._call.running:
            self._call.stop()
        self.line.stop()


class AboveLine(io.TextIOBase):
    """A stream for a log handler: each complete line is printed above the live line, never over it."""

    def __init__(self, line: LiveLine):
        super().__init__()
        self.line = line
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            done, self._pending = self._pending.split("\n", 1)
            self.line.print(done)
        return len(text)


def replay_head(stats: dict[str, Any], prefix: str) -> tuple[int, str]:
    """(records, head) of replay's live line from its ``newswarc/replay/...`` counters."""
    records = stats.get(prefix + "records", 0)
    return records, (f"records {records}  articles {stats.get(prefix + 'articles', 0)}  "
                     f"damaged {stats.get(prefix + 'corrupt', 0)}")
