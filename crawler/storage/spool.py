"""The local spool of a remote destination: where files are built and wait for upload.

A spool directory belongs to exactly one destination (bucket, prefix, endpoint); a marker
file records which, so that a later run or ``newswarc sync`` finds what was left behind and
never uploads it somewhere else. Files still being written (``*.open``, ``*.tmp``) and
hidden files are not finished and are never uploaded. The ``state/`` directory (the crawl
state store, SQLite, see :mod:`crawler.state`) is working data: ``sync`` never uploads or
deletes it (a crawl may have it open); only the run that owns it commits it explicitly.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from crawler.errors import StorageError

MARKER = ".newswarc-spool"
UNFINISHED_SUFFIXES = (".open", ".tmp")
LOCAL_ONLY_DIRS = frozenset({"state"})  # top-level spool directories that are never uploaded


def default_spool_dir(bucket: str, prefix: str, endpoint: str | None = None) -> Path:
    """``$XDG_CACHE_HOME/newswarc/spool/<bucket>/<hash>``: stable per destination."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    digest = hashlib.sha256(f"{endpoint or ''}\n{prefix}".encode()).hexdigest()[:16]
    return Path(cache).expanduser() / "newswarc" / "spool" / bucket / digest


def claim_spool(path: str | os.PathLike, destination: str) -> Path:
    """Create the spool directory for ``destination``; refuse one that belongs to another."""
    root = Path(path).expanduser().resolve()
    marker = root / MARKER
    try:
        root.mkdir(parents=True, exist_ok=True)
        if marker.is_file():
            owner = marker.read_text(encoding="utf-8").strip()
            if owner != destination:
                raise StorageError(
                    f"{root}: spool directory belongs to {owner}, not {destination} "
                    "(set NEWSWARC_SPOOL_DIR to another directory or run `newswarc sync` for it)"
                )
        else:
            marker.write_text(destination + "\n", encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"{root}: cannot use spool directory: {exc.strerror}") from None
    return root


def is_finished(name: str) -> bool:
    """Whether a spooled file name is a finished object (not partial, not hidden)."""
    return not name.startswith(".") and not name.endswith(UNFINISHED_SUFFIXES)


def spooled_keys(root: Path) -> Iterator[str]:
    """Keys of finished output files waiting in the spool, sorted (``state/`` is skipped)."""
    keys = []
    for dirpath, dirs, files in os.walk(root):
        if Path(dirpath) == root:
            dirs[:] = [d for d in dirs if d not in LOCAL_ONLY_DIRS]
        rel = Path(dirpath).relative_to(root).as_posix()
        keys += [name if rel == "." else f"{rel}/{name}" for name in files if is_finished(name)]
    yield from sorted(keys)


def prune_empty_dirs(root: Path) -> None:
    """Remove empty sub-directories; only safe when no writer is using the spool."""
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        if Path(dirpath) != root:
            try:
                os.rmdir(dirpath)
            except OSError:
                pass  # not empty: something is still spooled there
