"""The crawl's live progress line on stderr (drawn by :class:`~crawler.output.progress.ProgressLine`, as replay's)."""

from __future__ import annotations

import sys

from twisted.internet import task

from crawler.output.progress import ProgressLine


class Progress:
    """A live line on stderr: pages, articles, errors, rate (only on a terminal)."""

    def __init__(self, crawlers: list, stream=sys.stderr, interval: float = 1.0):
        self.crawlers, self.stream, self.interval = crawlers, stream, interval
        self.display = ProgressLine(stream, interval)
        self.enabled = stream.isatty()
        self._call = None

    def totals(self) -> dict[str, int]:
        pages = articles = errors = 0
        for crawler in self.crawlers:
            stats = crawler.stats.get_stats() if crawler.stats else {}
            pages += stats.get("downloader/response_count", 0)
            articles += stats.get("newswarc/extract/articles", 0)
            errors += sum(v for k, v in stats.items() if k.startswith("newswarc/crawl/errors/"))
        return {"pages": pages, "articles": articles, "errors": errors}

    def line(self) -> str:
        t = self.totals()
        elapsed = self.display.elapsed()
        return (f"pages {t['pages']}  articles {t['articles']}  errors {t['errors']}  "
                f"{t['pages'] / elapsed:.1f} pages/s  {elapsed:.0f}s")

    def start(self) -> None:
        if not self.enabled:
            return
        self._call = task.LoopingCall(lambda: self.display.show(self.line()))
        self._call.start(self.interval, now=False)

    def stop(self) -> None:
        if self._call is not None and self._call.running:
            self._call.stop()
            self.display.clear()
