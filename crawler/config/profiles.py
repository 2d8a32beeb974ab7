"""Run profiles (``settings/*.toml``): found by name or path, validated and mapped to Scrapy settings.

Every problem is a :class:`~crawler.errors.ConfigError` naming the file, the key and what is
wrong, so the CLI can print one line and exit with code 2.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crawler.config.seeds import bundled_dir, read_toml
from crawler.errors import ConfigError, Problems


def find_profile(spec: str | Path) -> Path:
    """A profile given as a path, or as a name: ``./settings/NAME.toml``, else the bundled one."""
    path = Path(spec)
    if path.exists() or "/" in str(spec):
        return path
    name = path.name if path.suffix == ".toml" else f"{path.name}.toml"
    for d in (Path("settings"), bundled_dir("settings")):
        if (d / name).is_file():
            return d / name
    return path


def default_profile() -> Path | None:
    """``./settings/default.toml`` when the current directory has one, else the bundled default."""
    path = find_profile("default")
    return path if path.is_file() else None


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def check_log_level(value: Any, source: object, key: str | None = None) -> Any:
    """``value`` if it is a log level (a name in any case, or a level number), else a ConfigError naming
    ``source`` and ``key``: the one rule for a profile's ``log_level`` and ``-s LOG_LEVEL``."""
    if not (value.upper() in LOG_LEVELS if isinstance(value, str) else
            isinstance(value, int) and not isinstance(value, bool) and logging.getLevelName(value) in LOG_LEVELS):
        raise ConfigError(source, key, f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return value


# profile [section] key -> (Scrapy setting, expected type)
PROFILE_KEYS: dict[str, dict[str, tuple[str, type | tuple[type, ...]]]] = {
    "output": {
        "uri": ("NEWSWARC_OUTPUT_URI", str),
        "spool_dir": ("NEWSWARC_SPOOL_DIR", str),
    },
    "crawl": {
        "user_agent": ("USER_AGENT", str),
        "obey_robots": ("ROBOTSTXT_OBEY", bool),
        "concurrency": ("CONCURRENT_REQUESTS", int),
        "concurrency_per_domain": ("CONCURRENT_REQUESTS_PER_DOMAIN", int),
        "autothrottle": ("AUTOTHROTTLE_ENABLED", bool),
        "autothrottle_target_concurrency": ("AUTOTHROTTLE_TARGET_CONCURRENCY", (int, float)),
        "download_delay": ("DOWNLOAD_DELAY", (int, float)),
        "download_timeout": ("DOWNLOAD_TIMEOUT", (int, float)),
        "retry_times": ("RETRY_TIMES", int),
        "max_pages": ("NEWSWARC_CRAWL_MAX_PAGES", int),
        "allow_networks": ("NEWSWARC_CRAWL_ALLOW_NETWORKS", list),
        "log_level": ("LOG_LEVEL", str),
    },
    "archive": {
        "enabled": ("NEWSWARC_ARCHIVE_ENABLED", bool),
        "gzip_level": ("NEWSWARC_ARCHIVE_GZIP_LEVEL", int),
        "recompress": ("NEWSWARC_ARCHIVE_RECOMPRESS", bool),
        "max_body": ("NEWSWARC_ARCHIVE_MAX_BODY", int),
        "max_decoded": ("NEWSWARC_ARCHIVE_MAX_DECODED", int),
        "max_size": ("NEWSWARC_ARCHIVE_MAX_SIZE", int),
        "prefix": ("NEWSWARC_ARCHIVE_PREFIX", str),
        "queue_size": ("NEWSWARC_ARCHIVE_QUEUE_SIZE", int),
        "revisits": ("NEWSWARC_ARCHIVE_REVISITS", bool),
        "wacz": ("NEWSWARC_ARCHIVE_WACZ", bool),
        "wacz_text": ("NEWSWARC_ARCHIVE_WACZ_TEXT", bool),
    },
    "extract": {
        "enabled": ("NEWSWARC_EXTRACT_ENABLED", bool),
        "timeout": ("NEWSWARC_EXTRACT_TIMEOUT", (int, float)),
        "workers": ("NEWSWARC_EXTRACT_WORKERS", int),
    },
    "s3": {
        "connect_timeout": ("NEWSWARC_S3_CONNECT_TIMEOUT", (int, float)),
        "endpoint_url": ("NEWSWARC_S3_ENDPOINT_URL", str),
        "max_attempts": ("NEWSWARC_S3_MAX_ATTEMPTS", int),
        "multipart_chunksize": ("NEWSWARC_S3_MULTIPART_CHUNKSIZE", int),
        "multipart_threshold": ("NEWSWARC_S3_MULTIPART_THRESHOLD", int),
        "profile": ("NEWSWARC_S3_PROFILE", str),
        "read_timeout": ("NEWSWARC_S3_READ_TIMEOUT", (int, float)),
        "region": ("NEWSWARC_S3_REGION", str),
        "retry_backoff": ("NEWSWARC_S3_RETRY_BACKOFF", (int, float)),
        "sse": ("NEWSWARC_S3_SSE", str),
        "sse_kms_key_id": ("NEWSWARC_S3_SSE_KMS_KEY_ID", str),
        "storage_class": ("NEWSWARC_S3_STORAGE_CLASS", str),
        "upload_attempts": ("NEWSWARC_S3_UPLOAD_ATTEMPTS", int),
        "upload_workers": ("NEWSWARC_S3_UPLOAD_WORKERS", int),
    },
    "dedup": {
        "near_duplicates": ("NEWSWARC_NEAR_DUPLICATES_ENABLED", bool),
        "near_duplicate_threshold": ("NEWSWARC_NEAR_DUPLICATE_THRESHOLD", (int, float)),
    },
    "distributed": {
        "enabled": ("NEWSWARC_DISTRIBUTED", bool),
        "redis_url": ("NEWSWARC_REDIS_URL", str),
        "prefix": ("NEWSWARC_REDIS_PREFIX", str),
        "worker_timeout": ("NEWSWARC_DISTRIBUTED_WORKER_TIMEOUT", (int, float)),
        "idle_seconds": ("NEWSWARC_DISTRIBUTED_IDLE_SECONDS", (int, float)),
    },
    "state": {
        "enabled": ("NEWSWARC_STATE_ENABLED", bool),
        "path": ("NEWSWARC_STATE_PATH", str),
    },
}


def parse_profile(data: Mapping[str, Any], path: Path | str = "<profile>") -> dict[str, Any]:
    """Validate a run profile and map it to Scrapy settings; every problem is reported at once.

    ``[scrapy]`` passes any upper-case Scrapy setting through unchanged. Types are checked here, and
    the log level (the command line's -v/-q replaces it, so check_settings would not see it); ranges
    and names by :func:`crawler.config.check.check_settings`, whatever set them.
    """
    path = Path(path)
    problems = Problems(path)
    settings: dict[str, Any] = {}
    problems.unknown(set(data) - {*PROFILE_KEYS, "scrapy"}, [*PROFILE_KEYS, "scrapy"], what="section")
    for section, table in data.items():
        if section not in PROFILE_KEYS and section != "scrapy":
            continue
        if not isinstance(table, dict):
            problems.add(section, "expected a table" if section != "scrapy" else "expected a table of Scrapy settings")
            continue
        if section == "scrapy":
            for key, value in table.items():
                if re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
                    settings[key] = value
                else:
                    problems.add(f"scrapy.{key}", "Scrapy setting names are upper case, e.g. DOWNLOAD_DELAY")
            continue
        problems.unknown(set(table) - set(PROFILE_KEYS[section]), PROFILE_KEYS[section], prefix=f"{section}.")
        for key, value in table.items():
            if key not in PROFILE_KEYS[section]:
                continue
            setting, kind = PROFILE_KEYS[section][key]
            if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, float))):
                names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
                problems.add(f"{section}.{key}", f"expected {names}, got {value!r}")
            elif setting != "LOG_LEVEL" or problems.take(check_log_level, value, path, f"{section}.{key}"):
                settings[setting] = value
    problems.raise_any()
    return settings


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read a ``settings/*.toml`` run profile into Scrapy settings."""
    path = Path(path)
    return parse_profile(read_toml(path), path)
