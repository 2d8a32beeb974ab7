"""Exclusive locks that hold across processes: ``flock`` on a file, one mechanism for all.

The scheduler takes one per seed (a scheduler, a cron job and a manual run of the same seed
never overlap), and every command that writes an output takes one per output location
(:func:`lock_output`: ``crawl``, ``demo``, ``sync``, ``replay --out``): a second run into the
same directory (or the same S3 spool) exits 1 with one line naming the holder, instead of taking
the live run for a killed one. The kernel drops a dead holder's lock, so a SIGKILL leaves none.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
import time
from pathlib import Path

from crawler.errors import NewswarcError

OUTPUT_LOCK = ".newswarc-output"  # hidden: never listed, synced or uploaded; no state/ dir made for it


class RunLockBusy(NewswarcError):
    """A run of this seed is already going on (in this or another process)."""


class RunLock:
    """An exclusive, non-blocking ``flock`` on ``<lock_dir>/<name>.lock``.

    Compatible with ``flock -n FILE cmd`` from util-linux, so crontab runs share it. The file
    holds the holder's pid for humans; it is never deleted (deleting races with flock).
    """

    def __init__(self, lock_dir: Path, name: str, holder: str = ""):
        self.name, self.holder = name, holder
        self.path = Path(lock_dir) / f"{re.sub(r'[^A-Za-z0-9._-]', '_', name) or '_'}.lock"
        self._fd: int | None = None

    @property
    def locked(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when someone else holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n{self.holder}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Drop the lock (closing the file releases the flock)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def holder_pid(self) -> int | None:
        """The pid written by the last holder (it may have exited since)."""
        try:
            return int(self.path.read_text().split("\n", 1)[0].strip() or 0) or None
        except (OSError, ValueError):
            return None

    def holder_text(self) -> str:
        """What the last holder wrote about itself (its command and start time), or ""."""
        try:
            return self.path.read_text().split("\n", 1)[1].strip()
        except (OSError, IndexError):
            return ""

    def __enter__(self) -> RunLock:
        if not self.acquire():
            pid = self.holder_pid()
            raise RunLockBusy(f"{self.name}: already running (pid {pid}, lock {self.path})")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


# the words of every OutputBusy line, the directory lock's and the S3 lease's (one phrase to look for)
IN_USE = "is in use by another newswarc run"


class OutputBusy(NewswarcError):
    """Another newswarc command is writing this output (exit 1; its message holds :data:`IN_USE`)."""


def lock_output(work_dir: Path, display: str, command: str = "") -> RunLock:
    """Take the output's lock (``<work_dir>/.newswarc-output.lock``) or raise :class:`OutputBusy`."""
    holder = f"{command or ' '.join(sys.argv[1:3])} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
    lock = RunLock(Path(work_dir), OUTPUT_LOCK, holder=holder)
    if not lock.acquire():
        pid, what = lock.holder_pid(), lock.holder_text()
        raise OutputBusy(f"{display} {IN_USE} (pid {pid}{', ' + what if what else ''}); "
                         f"run again when it has ended")
    return lock
