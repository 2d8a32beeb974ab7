"""The one live progress line on a terminal, for the crawl and for replay.

``\\r`` and a clear-to-end-of-line rewrite it in place; ``interval`` bounds how often. The
caller decides whether there is a terminal to write to, and what the line says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

CLEAR = "\r\033[K"


class ProgressLine:
    """Rewrites one status line on ``stream``: at most once per ``interval`` unless forced."""

    def __init__(self, stream: IO[str], interval: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.stream, self.interval, self.clock = stream, interval, clock
        self.started = clock()
        self._last = 0.0

    def elapsed(self) -> float:
        return max(self.clock() - self.started, 1e-6)

    def due(self) -> bool:
        """Whether a new line may be shown now (``interval`` has passed since the last one)."""
        return self.clock() - self._last >= self.interval

    def show(self, text: str) -> None:
        self._last = self.clock()
        self.stream.write(CLEAR + text)
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write(CLEAR)
        self.stream.flush()
