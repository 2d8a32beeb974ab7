"""Paths built from configuration stay inside the output.

Two guards: names that become parts of file names (the WARC prefix, the run id) must be plain
names, checked when the command starts (one line, exit 2); and every storage key is checked when
it becomes a local path, so that nothing, whatever its origin, can write outside the output or
spool directory.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from crawler.errors import ConfigError, StorageError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_name(value: object, setting: str) -> str:
    """``value`` if it is a plain file-name part (letters, digits, ``.``, ``_``, ``-``; no ``..``)."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or ".." in value:
        raise ConfigError(setting, None, f"expected a plain name of letters, digits, '.', '_' or '-' "
                                         f"(it becomes part of file names in the output), got {value!r}")
    return value


def inside(root: Path, key: str) -> Path:
    """``root / key``, refusing a key that is absolute or climbs out with ``..`` (StorageError)."""
    pure = PurePosixPath(key)
    if not key or pure.is_absolute() or "\\" in key or "\x00" in key or any(p == ".." for p in pure.parts):
        raise StorageError(f"{key!r}: a path outside the output {root} is refused")
    return root / key
