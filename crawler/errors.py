"""The one project exception for user errors (bad seed, profile, output URI, bucket...).

Per-page trouble is never raised to the user: it is a counted, logged skip.
"""

from __future__ import annotations

import difflib
import errno
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any


class NewswarcError(Exception):
    """A user-facing problem; ``str(exc)`` is the one line the CLI prints."""

    exit_code = 1


class ConfigError(NewswarcError):
    """A seed or profile file is wrong: each line names the file, the key and the problem.

    One error may carry several problems (``problems``: ``(key, problem)`` pairs), so that a
    file with three mistakes is reported once, with three lines, instead of one run per fix.
    """

    exit_code = 2

    def __init__(self, path: object, key: str | None, problem: str,
                 more: list[tuple[str | None, str]] | None = None):
        self.path, self.key, self.problem = str(path), key, problem
        self.problems: list[tuple[str | None, str]] = [(key, problem), *(more or [])]
        super().__init__("\n".join(f"{self.path}: {k}: {p}" if k else f"{self.path}: {p}" for k, p in self.problems))

    @classmethod
    def many(cls, path: object, problems: list[tuple[str | None, str]]) -> ConfigError:
        (key, problem), *more = problems
        return cls(path, key, problem, more)


class ExtractionUnavailable(NewswarcError):
    """The extraction workers cannot start (a broken install, a failing preload): exit code 1.

    Raised by replay, whose whole job is extraction; the crawl stops with the close reason
    ``extraction_unavailable`` instead, keeping what it archived for a later ``newswarc replay``.
    """


class UsageError(NewswarcError):
    """A command-line value that cannot be used (a date, a pattern): exit code 2, as argparse's own errors."""

    exit_code = 2


class Problems:
    """Collects every problem of one file, so that the user fixes them all in one go."""

    def __init__(self, path: object):
        self.path = path
        self.items: list[tuple[str | None, str]] = []

    def take(self, func: Callable[..., Any], *args: Any, default: Any = None) -> Any:
        """``func(*args)``; its ConfigError is recorded and ``default`` returned instead."""
        try:
            return func(*args)
        except ConfigError as exc:
            self.items.extend(exc.problems)
            return default

    def add(self, key: str | None, problem: str) -> None:
        self.items.append((key, problem))

    def unknown(self, keys: Iterable[str], allowed: Iterable[str], prefix: str = "", what: str = "key") -> None:
        """One problem per unknown key, with the closest allowed one."""
        allowed = sorted(allowed)
        for key in sorted(keys):
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(allowed)})"
            self.add(f"{prefix}{key}", f"unknown {what}{hint}")

    def raise_any(self) -> None:
        if self.items:
            raise ConfigError.many(self.path, self.items)


class StorageError(NewswarcError):
    """The output location cannot be used (missing bucket, access denied, unwritable dir)."""

    exit_code = 3


FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException | str | None) -> bool:
    """ENOSPC/EDQUOT (an OSError, SQLite's "database or disk is full", or such an error's text).

    Here, in the lowest layer, so the crawl state and the writers below the crawl tell a full
    disk from other failures the same way the crawl does (:mod:`crawler.crawl.diskfull`).
    """
    if isinstance(exc, OSError):
        return exc.errno in FULL_ERRNOS
    if isinstance(exc, sqlite3.OperationalError):
        return "disk is full" in str(exc)
    if isinstance(exc, str):
        return "[Errno 28]" in exc or "[Errno 122]" in exc or "disk is full" in exc
    return False
