"""A per-page CPU-time cap for extraction: a pathological page is cut off and counted, not waited for.

Measured in CPU time of the process (``ITIMER_PROF``), not wall time, so that a busy machine
does not cut off ordinary pages. It works where the extractor runs in the main thread (the
pool's worker processes, replay workers, the benchmark); elsewhere (a thread, a platform
without ``setitimer``, a timer already in use) the page simply runs uncapped and the pool's
wall-clock timeout stays the backstop.

The signal is handled by Python between bytecodes, so one long C call (lxml parsing a huge
page, one big regex match) runs to its end before the cap takes effect; the pool's timeout
covers that case too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PageTimeCap", "time_cap"]


class PageTimeCap(BaseException):
    """Raised inside the extraction when its page used up its CPU time.

    A ``BaseException``, as ``KeyboardInterrupt`` is: it can arrive between any two bytecodes, and
    the extractor's and its libraries' ``except Exception`` fallbacks (a second lxml parse, a
    best-effort date search) would otherwise swallow it, and the rest of the page ran uncapped (the
    timer fires once).
    """


def _on_signal(signum, frame) -> None:
    raise PageTimeCap()


@contextmanager
def time_cap(seconds: float) -> Iterator[None]:
    """Run the block with at most ``seconds`` of CPU time; past it, :class:`PageTimeCap` is raised."""
    usable = (seconds and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_PROF)[0] == 0)
    if not usable:
        yield
        return
    previous = signal.signal(signal.SIGPROF, _on_signal)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
