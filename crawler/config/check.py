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

import difflib
import ipaddress
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

from crawler.config import settings as defaults
from crawler.config.profiles import PROFILE_KEYS, check_log_level
from crawler.config.seeds import check_plain_name
from crawler.errors import ConfigError

KiB, MiB = 1024, 1024 * 1024


def max_workers() -> int:
    """Extraction processes at most: each holds a trafilatura and its pages (~150 MB)."""
    return max(4, 2 * (os.cpu_count() or 1))


class Span(NamedTuple):
    """The values a number setting may take: ``kind``, at least ``low`` (above it when ``above``), at most ``high``."""

    kind: type
    low: float | None
    high: float | None
    above: bool = False  # ``low`` itself is refused: a threshold or timeout of 0 means nothing


DAY = 24 * 3600
# setting -> its span; None: unbounded on that side. Settings not named here are Scrapy's own
# (checked by Scrapy) or strings checked below. tests/test_config.py checks that every number
# default of crawler/config/settings.py is named here.
RANGES: dict[str, Span] = {
    "NEWSWARC_ARCHIVE_GZIP_LEVEL": Span(int, 0, 9),
    "NEWSWARC_ARCHIVE_MAX_BODY": Span(int, KiB, None),
    "NEWSWARC_ARCHIVE_MAX_DECODED": Span(int, KiB, None),
    "NEWSWARC_ARCHIVE_MAX_SIZE": Span(int, 10 * KiB, None),
    "NEWSWARC_ARCHIVE_QUEUE_SIZE": Span(int, 1, 100_000),
    "NEWSWARC_CRAWL_MAX_PAGES": Span(int, 1, None),
    "NEWSWARC_DISTRIBUTED_IDLE_SECONDS": Span(float, 0, DAY, above=True),
    "NEWSWARC_DISTRIBUTED_LEASE_POLL": Span(float, 0, 3600, above=True),
    "NEWSWARC_DISTRIBUTED_POLL": Span(float, 0, 3600, above=True),
    "NEWSWARC_DISTRIBUTED_WORKER_TIMEOUT": Span(float, 0, DAY, above=True),
    "NEWSWARC_EXTRACT_TIMEOUT": Span(float, 0.1, DAY),
    "NEWSWARC_EXTRACT_WORKERS": Span(int, 0, None),  # maximum: max_workers(), checked with the others
    "NEWSWARC_NEAR_DUPLICATE_THRESHOLD": Span(float, 0, 1, above=True),
    "NEWSWARC_REDIS_TIMEOUT": Span(float, 0, 3600, above=True),
    "NEWSWARC_S3_CONNECT_TIMEOUT": Span(float, 0.1, 3600),
    "NEWSWARC_S3_READ_TIMEOUT": Span(float, 0.1, 3600),
    "NEWSWARC_S3_MAX_ATTEMPTS": Span(int, 1, 100),
    "NEWSWARC_S3_MULTIPART_CHUNKSIZE": Span(int, 5 * MiB, 5 * 1024 * MiB),
    "NEWSWARC_S3_MULTIPART_THRESHOLD": Span(int, 5 * MiB, None),
    "NEWSWARC_S3_RETRY_BACKOFF": Span(float, 0, 600),
    "NEWSWARC_S3_UPLOAD_ATTEMPTS": Span(int, 1, 100),
    "NEWSWARC_S3_UPLOAD_WORKERS": Span(int, 1, 256),
    "CONCURRENT_REQUESTS": Span(int, 1, 10_000),
    "CONCURRENT_REQUESTS_PER_DOMAIN": Span(int, 1, 10_000),
    "CONCURRENT_ITEMS": Span(int, 1, 10_000),
    "DOWNLOAD_TIMEOUT": Span(float, 0.1, DAY),
    "DOWNLOAD_DELAY": Span(float, 0, DAY),
    "DOWNLOAD_MAXSIZE": Span(int, 0, None),
    "DOWNLOAD_WARNSIZE": Span(int, 0, None),
    "RETRY_TIMES": Span(int, 0, 100),
    "REDIRECT_MAX_TIMES": Span(int, 0, 100),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": Span(float, 0.01, 10_000),
    "AUTOTHROTTLE_START_DELAY": Span(float, 0, DAY),
    "AUTOTHROTTLE_MAX_DELAY": Span(float, 0, DAY),
}
# the profile's true/false keys, and those only -s or the code sets
BOOLS = (*(name for keys in PROFILE_KEYS.values() for name, kind in keys.values() if kind is bool),
         "NEWSWARC_OUTPUT_JSONL_STDOUT", "NEWSWARC_OUTPUT_TEXT_FILES", "COMPRESSION_ENABLED",
         "DOWNLOAD_FAIL_ON_DATALOSS", "TELNETCONSOLE_ENABLED", "REMOTE_CONTROL_ENABLED")


def label(setting: str, flags: dict[str, str] | None = None) -> str:
    """``NEWSWARC_ARCHIVE_PREFIX ([archive] prefix)``: the setting and its profile key, when it has one;
    ``--workers (NEWSWARC_EXTRACT_WORKERS)`` when a flag in ``flags`` set it."""
    if flags and setting in flags:
        return f"{flags[setting]} ({setting})"
    for section, keys in PROFILE_KEYS.items():
        for key, (name, _) in keys.items():
            if name == setting:
                return f"{setting} ([{section}] {key})"
    return setting


def _number(settings: Any, name: str, span: Span, flags: dict[str, str]) -> None:
    raw = settings.get(name)
    if raw is None:
        return
    kind, low, high, above = span
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
        raise ConfigError(label(name, flags), None, f"expected {what}, got {raw!r}") from None
    if (low is not None and (value <= low if above else value < low)) or (high is not None and value > high):
        least = f"above {low:g}" if above else f"at least {low:g}"
        words = f"{least} and at most {high:g}" if above and high is not None else \
            f"between {low:g} and {high:g}" if low is not None and high is not None else \
            least if low is not None else f"at most {high:g}"
        raise ConfigError(label(name, flags), None, f"must be {words}, got {raw!r}")


# every NEWSWARC_* setting newswarc reads: the defaults module's, and the run id each run sets unless given
NEWSWARC_NAMES = frozenset({name for name in vars(defaults) if name.startswith("NEWSWARC_")} | {"NEWSWARC_RUN_ID"})


def check_setting_name(name: str) -> None:
    """A ``NEWSWARC_*`` name that newswarc does not read is a typo: Scrapy would take it silently and
    the run would use the default. ConfigError (exit 2) with the closest name; Scrapy's names pass."""
    if not name.startswith("NEWSWARC_") or name in NEWSWARC_NAMES:
        return
    prefix = len("NEWSWARC_")  # compared without it: every name shares it
    close = difflib.get_close_matches(name[prefix:], sorted(n[prefix:] for n in NEWSWARC_NAMES), n=1, cutoff=0.6)
    hint = f"; did you mean NEWSWARC_{close[0]}?" if close else " (docs/settings.md lists them)"
    raise ConfigError(f"-s {name}", None, f"unknown newswarc setting{hint}")


def check_settings(settings: Any, flags: dict[str, str] | None = None) -> None:
    """Raise :class:`ConfigError` (exit 2) for the first setting that is malformed or out of range.

    ``flags``: setting -> the command-line flag that set it (``--workers``), named in the message instead.
    """
    flags = flags or {}
    for name, span in RANGES.items():
        if name == "NEWSWARC_EXTRACT_WORKERS":
            span = span._replace(high=max_workers())
        _number(settings, name, span, flags)
    for name in BOOLS:
        try:
            settings.getbool(name)
        except ValueError:
            raise ConfigError(label(name, flags), None, f"expected true or false, got {settings.get(name)!r}") from None
    check_log_level(settings.get("LOG_LEVEL"), label("LOG_LEVEL"))
    check_plain_name(settings.get("NEWSWARC_ARCHIVE_PREFIX") or "newswarc", label("NEWSWARC_ARCHIVE_PREFIX"))
    if run_id := settings.get("NEWSWARC_RUN_ID"):
        check_plain_name(run_id, label("NEWSWARC_RUN_ID"))
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
