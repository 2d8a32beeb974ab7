"""The worker side of :class:`~crawler.extract.pool.ExtractionPool`: the loop each worker process runs.

It is kept apart from the pool so that what runs in the child (warm up, then one page in,
one answer out) reads on its own, and the parent's dispatcher holds no code the child needs.
"""

from __future__ import annotations

import pkgutil
import signal
import traceback
from multiprocessing.connection import Connection

from crawler.extract.api import warm_up

READY = "ready"  # a worker's first message: ("ready", None, traceback of a failed warm-up or None)
CANNOT_START = "cannot_start"  # or this one, ("cannot_start", "Type: message", traceback), and it exits


def worker_main(conn: Connection, func_path: str) -> None:
    """Worker loop: one ``(args, kwargs)`` in, one ``(value, error reason, traceback)`` out; ``None`` stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    try:
        func = pkgutil.resolve_name(func_path)  # the pool's ``module:function`` paths
    except Exception as exc:  # the parent says it in one line; the traceback goes to its log, not to stderr
        conn.send((CANNOT_START, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        return
    try:
        warm_up()
        conn.send((READY, None, None))
    except Exception:  # only costs speed: the parent logs it, and a page with the same problem says why
        conn.send((READY, None, traceback.format_exc()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        args, kwargs = task
        try:
            value = func(*args, **kwargs)
        except Exception as exc:  # reported to the parent, which logs it with the traceback
            conn.send((None, f"error:{type(exc).__name__}", traceback.format_exc()))
        else:
            conn.send((value, None, None))
