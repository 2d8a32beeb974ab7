"""glibc's allocator tuned for a long crawl: its memory stays flat in the crawl's length.

By default glibc gives each thread that allocates its own arena (up to 8 per core) and raises its
mmap threshold after each large block it frees, so that page bodies (100 KiB-1 MiB, allocated and
freed by the reactor and the parsing threads) come from the arenas and leave them fragmented: a
20,000-article crawl's process grew about 20 MiB more than with two arenas and a fixed 128 KiB
threshold (docs/benchmarks.md, "Memory"). Large bodies are then mapped and unmapped whole.
``MALLOC_ARENA_MAX`` or ``MALLOC_MMAP_THRESHOLD_`` in the environment win; elsewhere than glibc
nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

logger = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024
_tuned = False


def tune_malloc() -> None:
    """Two arenas and a fixed mmap threshold for this process (once; see the module docstring)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): its own allocator's defaults
        return
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(_M_ARENA_MAX, ARENAS)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    logger.debug("malloc: %d arenas, mmap threshold %d bytes", ARENAS, MMAP_THRESHOLD)
