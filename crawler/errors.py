"""The one project exception for user errors (bad seed, profile, output URI, bucket...).

Per-page trouble is never raised to the user: it is a counted, logged skip.
"""

from __future__ import annotations

import errno
import sqlite3


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
