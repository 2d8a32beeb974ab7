"""Every newswarc setting checked when a command starts: one line naming it, exit 2.

Scrapy reads settings lazily, where they are used: a bad value then surfaced as a Twisted
traceback half-way through start-up, or, worse, as a silent zero (``[extract] timeout = 0``
extracted nothing and exited 0). :func:`check_settings` reads each one as its user will (a
``-s NAME=VALUE`` arrives as text) and refuses what is malformed or out of range before anything
runs. The ranges are the ones the code can honour, not advice. Names that become parts of file names
(the WARC prefix, the run id) must be plain names, so that no path built from configuration
leaves the output (storage.base.inside guards every key as well).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
from pathlib import Path
from typing import Any

from crawler.config.seeds import PROFILE_KEYS
from crawler.errors import ConfigError

KiB, MiB = 1024, 1024 * 1024
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def max_workers() -> int:
    """Extraction processes at most: each holds a trafilatura and its pages (~150 MB)."""
    return max(4, 2 * (os.cpu_count() or 1))


# setting -> (type, minimum, maximum); None: unbounded on that side. Settings not named here are
# Scrapy's own (checked by Scrapy) or strings checked below.
RANGES: dict[str, tuple[type, float | None, float | None]] = {
    "NEWSWARC_ARCHIVE_GZIP_LEVEL": (int, 0, 9),
    "NEWSWARC_ARCHIVE_MAX_BODY": (int, KiB, None),
    "NEWSWARC_ARCHIVE_MAX_DECODED": (int, KiB, None),
    "NEWSWARC_ARCHIVE_MAX_SIZE": (int, 10 * KiB, None),
    "NEWSWARC_ARCHIVE_QUEUE_SIZE": (int, 1, 100_000),
    "NEWSWARC_CRAWL_MAX_PAGES": (int, 1, None),
    "NEWSWARC_EXTRACT_TIMEOUT": (float, 0.1, 24 * 3600),
    "NEWSWARC_EXTRACT_WORKERS": (int, 0, None),  # maximum: max_workers()
    "NEWSWARC_S3_CONNECT_TIMEOUT": (float, 0.1, 3600),
    "NEWSWARC_S3_READ_TIMEOUT": (float, 0.1, 3600),
    "NEWSWARC_S3_MAX_ATTEMPTS": (int, 1, 100),
    "NEWSWARC_S3_MULTIPART_CHUNKSIZE": (int, 5 * MiB, 5 * 1024 * MiB),
    "NEWSWARC_S3_MULTIPART_THRESHOLD": (int, 5 * MiB, None),
    "NEWSWARC_S3_RETRY_BACKOFF": (float, 0, 600),
    "NEWSWARC_S3_UPLOAD_ATTEMPTS": (int, 1, 100),
    "NEWSWARC_S3_UPLOAD_WORKERS": (int, 1, 256),
    "CONCURRENT_REQUESTS": (int, 1, 10_000),
    "CONCURRENT_REQUESTS_PER_DOMAIN": (int, 1, 10_000),
    "CONCURRENT_ITEMS": (int, 1, 10_000),
    "DOWNLOAD_TIMEOUT": (float, 0.1, 24 * 3600),
    "DOWNLOAD_DELAY": (float, 0, 24 * 3600),
    "RETRY_TIMES": (int, 0, 100),
    "REDIRECT_MAX_TIMES": (int, 0, 100),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": (float, 0.01, 10_000),
    "AUTOTHROTTLE_START_DELAY": (float, 0, 24 * 3600),
    "AUTOTHROTTLE_MAX_DELAY": (float, 0, 24 * 3600),
}
BOOLS = ("NEWSWARC_ARCHIVE_ENABLED", "NEWSWARC_ARCHIVE_RECOMPRESS", "NEWSWARC_ARCHIVE_REVISITS",
         "NEWSWARC_EXTRACT_ENABLED", "NEWSWARC_STATE_ENABLED", "NEWSWARC_OUTPUT_JSONL_STDOUT",
         "ROBOTSTXT_OBEY", "AUTOTHROTTLE_ENABLED", "COMPRESSION_ENABLED")


def label(setting: str) -> str:
    """``NEWSWARC_ARCHIVE_PREFIX ([archive] prefix)``: the setting and its profile key, when it has one."""
    for section, keys in PROFILE_KEYS.items():
        for key, (name, _) in keys.items():
            if name == setting:
                return f"{setting} ([{section}] {key})"
    return setting


def check_name(value: object, setting: str) -> str:
    """``value`` if it is a plain file-name part (letters, digits, ``.``, ``_``, ``-``; no ``..``)."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or ".." in value:
        raise ConfigError(setting, None, f"expected a plain name of letters, digits, '.', '_' or '-' "
                                         f"(it becomes part of file names in the output), got {value!r}")
    return value


def _number(settings: Any, name: str, kind: type, low: float | None, high: float | None) -> None:
    raw = settings.get(name)
    if raw is None or (raw == "" and name == "NEWSWARC_CRAWL_MAX_PAGES"):
        return
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = kind(raw)
        if kind is int and isinstance(raw, float) and raw != value:
            raise ValueError
        if kind is float and not math.isfinite(value):
            raise ValueError
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(label(name), None, f"expected {what}, got {raw!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"between {low:g} and {high:g}" if low is not None and high is not None else \
            f"at least {low:g}" if low is not None else f"at most {high:g}"
        raise ConfigError(label(name), None, f"must be {span}, got {raw!r}")


def check_settings(settings: Any) -> None:
    """Raise :class:`ConfigError` (exit 2) for the first setting that is malformed or out of range."""
    for name, (kind, low, high) in RANGES.items():
        _number(settings, name, kind, low, high)
    _number(settings, "NEWSWARC_EXTRACT_WORKERS", int, 0, max_workers())
    for name in BOOLS:
        try:
            settings.getbool(name)
        except ValueError:
            raise ConfigError(label(name), None, f"expected true or false, got {settings.get(name)!r}") from None
    level = settings.get("LOG_LEVEL")
    if isinstance(level, str) and level.upper() not in LOG_LEVELS or not isinstance(level, str | int):
        raise ConfigError(label("LOG_LEVEL"), None, f"expected one of {', '.join(LOG_LEVELS)}, got {level!r}")
    if isinstance(level, int) and level not in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR,
                                                logging.CRITICAL):
        raise ConfigError(label("LOG_LEVEL"), None, f"expected one of {', '.join(LOG_LEVELS)}, got {level!r}")
    check_name(settings.get("NEWSWARC_ARCHIVE_PREFIX") or "newswarc", label("NEWSWARC_ARCHIVE_PREFIX"))
    if run_id := settings.get("NEWSWARC_RUN_ID"):
        check_name(run_id, label("NEWSWARC_RUN_ID"))
    for net in settings.getlist("NEWSWARC_CRAWL_ALLOW_NETWORKS"):
        try:
            ipaddress.ip_network(str(net), strict=False)
        except ValueError:
            raise ConfigError(label("NEWSWARC_CRAWL_ALLOW_NETWORKS"), None,
                              f"expected networks such as \"10.1.0.0/16\", got {net!r}") from None
    for name in ("NEWSWARC_STATE_PATH", "NEWSWARC_SPOOL_DIR"):
        if path := settings.get(name):
            _check_local_path(name, Path(str(path)).expanduser(), file=name == "NEWSWARC_STATE_PATH")


def _check_local_path(name: str, path: Path, *, file: bool) -> None:
    """A file or directory that can be created: no existing ancestor is a file (nor the path, for a dir)."""
    if file and path.is_dir():
        raise ConfigError(label(name), None, f"{path} is a directory; give a file path")
    if not file and path.exists() and not path.is_dir():
        raise ConfigError(label(name), None, f"{path} is a file; give a directory")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(label(name), None, f"{path}: {parent} is a file, not a directory")
            break
