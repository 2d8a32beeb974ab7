"""The storage interface every writer goes through (WARC, text, JSONL, run reports).

Files are always built locally first, in the storage's work directory, under the same
relative key they will have in the output (``warc/...``, ``text/SITE/...``). When a file is
finished the writer calls :meth:`Storage.commit`; for local output that is a no-op (the
work directory *is* the output), for S3 it uploads the file and deletes the local copy once
the upload is confirmed. What could not be uploaded stays in the work directory (the spool)
and :meth:`Storage.sync` uploads it later. Writers therefore never know where bytes end up.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from crawler.errors import StorageError


@runtime_checkable
class Storage(Protocol):
    """Where a run's output lives. Keys are ``/``-separated relative paths."""

    uri: str
    work_dir: Path
    remote: bool  # False: the work directory is the output; True: files are uploaded from it (a spool)

    @classmethod
    def from_uri(cls, uri: str, settings: Any = None) -> Storage:
        """The backend for ``uri``, options from Scrapy ``settings`` (how :func:`open_storage` builds it)."""

    def check(self) -> None:
        """Fail early (``StorageError``) when the location cannot be written."""

    def local_path(self, key: str) -> Path:
        """The local file where ``key`` is built (parent directories exist)."""

    def commit(self, key: str) -> None:
        """``key`` is finished locally: make it durable at its final location."""

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write a small finished object in one go (atomic: never half-written)."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` is in the output (committed)."""

    def open_read(self, key: str) -> BinaryIO:
        """A binary stream of a committed object."""

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys of committed objects under ``prefix``, sorted."""

    def sync(self) -> int:
        """Upload what waits in the spool; returns how many files were committed."""

    def wait(self) -> None:
        """Block until every pending commit has finished (successfully or not)."""

    def spooled(self) -> int:
        """How many finished files wait in the spool (0 for local output)."""

    def upload_counts(self) -> dict[str, int]:
        """Files ``uploaded`` and ``failed``, ``bytes_uploaded`` so far (zeros for local output)."""

    def close(self) -> None:
        """Wait for pending commits; what failed stays spooled for :meth:`sync`."""

    def display(self, key: str = "") -> str:
        """A location for humans and logs (never with credentials)."""


# the host in a temporary name: letters and digits only, so the name parses back (see _TEMP_NAME)
_HOST = re.sub(r"[^A-Za-z0-9]+", "_", socket.gethostname())[:40] or "host"
# ".NAME.HOST-PID-TID.tmp" (temp_path); ".NAME.PID.TID.tmp" and ".NAME.PID.tmp" are older forms, of this host
_TEMP_NAME = re.compile(r"^\..+?\.(?:(?P<host>\w+)-(?P<pid>\d+)-\d+|(?P<old>\d+)(?:\.\d+)?)\.tmp$")
ELSEWHERE_STALE_SECONDS = 24 * 3600  # a temporary of another machine untouched this long has no writer


def temp_path(path: Path) -> Path:
    """The hidden temporary name a writer of ``path`` uses before renaming it into place.

    It holds the host, the pid and the thread: two processes (of one machine or of two sharing the
    output) or two threads never share (and truncate) one temporary file, and a later run can tell
    a killed writer's leftover from a live writer's file (:func:`remove_stale_temporaries`).
    """
    return path.with_name(f".{path.name}.{_HOST}-{os.getpid()}-{threading.get_ident()}.tmp")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary name, so readers never see half a file.

    Not ``mkstemp``: its files are mode 0600, and the output's files keep the user's umask.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # disk full...: no hidden half file left behind (a SIGKILL leaves one)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: alive
    return True


def _stale(path: Path, name: str) -> bool:
    """Whether the temporary ``name`` has no live writer (see :func:`remove_stale_temporaries`)."""
    match = _TEMP_NAME.match(name)
    if match is None:
        return False  # not a name of ours (mkstemp's, a user's): left alone
    host, pid = match["host"] or _HOST, int(match["pid"] or match["old"])
    if host != _HOST:
        try:
            return time.time() - path.stat().st_mtime > ELSEWHERE_STALE_SECONDS
        except OSError:
            return False
    return pid == os.getpid() or not _alive(pid)


def remove_stale_temporaries(root: Path) -> int:
    """Remove the temporaries under ``root`` that no live process writes; returns how many.

    Called by a command that has just taken the output's exclusive lock (``storage.lock``), before
    it writes: no other locking command writes there, so what a killed run left is stale. Distributed
    workers share an output without the lock, so a temporary is kept while its writer may live: one
    of this machine whose pid runs (not ours: ours has written nothing yet, so it is an earlier
    process's with the same pid), or one of another machine touched within a day.
    """
    removed = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".tmp") and name.startswith(".") and _stale(Path(dirpath, name), name):
                try:
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
                except OSError:
                    pass  # renamed into place meanwhile, or not ours to remove: left alone
    return removed


def inside(root: Path, key: str) -> Path:
    """``root / key``, refusing a key that is not a plain relative path (StorageError).

    The one key rule of every backend: no absolute key, no ``..`` climbing out, no empty or
    ``.`` segment (``a//b`` would name another S3 object than the local file ``a/b``), no
    backslash or NUL.
    """
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or "\x00" in key or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"{key!r}: invalid key (a path outside the output {root} is refused)")
    return root.joinpath(*parts)
