"""Seed files (one per news site) and run profiles, validated into plain objects.

Every problem is a :class:`~crawler.errors.ConfigError` naming the file, the key and what is
wrong, so the CLI can print one line and exit with code 2.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.config.cron import validate_cron
from crawler.config.extract import ExtractOptions
from crawler.errors import ConfigError
from crawler.urls import redact_url, url_problem

SEEDS_DIR = Path("seeds")
SINCE_RE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
SINCE_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_HOURS = 100 * 366 * 24  # durations beyond 100 years overflow datetime arithmetic (since, recheck_hours)


@dataclass(frozen=True)
class Seed:
    """What to crawl on one news site."""

    name: str
    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...]
    path: str = "<seed>"
    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    article_url_patterns: tuple[re.Pattern, ...] = ()
    deny_url_patterns: tuple[re.Pattern, ...] = ()
    max_pages: int | None = None
    max_depth: int | None = None
    language: str | None = None
    schedule: str | None = None
    since_seconds: int | None = None
    recheck_hours: float | None = None
    extract: Mapping[str, Any] = field(default_factory=dict)

    def with_start_urls(self, urls: list[str]) -> Seed:
        """A copy pointed at other start URLs (the demo site runs on a free port)."""
        hosts = tuple(dict.fromkeys(_strip_www(urlsplit(u).hostname or "") for u in urls))
        return Seed(**{**self.__dict__, "start_urls": tuple(urls), "allowed_domains": hosts})


SEED_KEYS = {
    "name", "start_urls", "allowed_domains", "sitemaps", "feeds", "article_url_patterns",
    "deny_url_patterns", "max_pages", "max_depth", "language", "schedule", "since",
    "recheck_hours", "extract",
}


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(path, None, "no such file") from None
    except IsADirectoryError:
        raise ConfigError(path, None, "is a directory, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, None, "not valid TOML: not UTF-8 text") from None


def resolve_seed_path(spec: str | Path, seeds_dir: Path = SEEDS_DIR) -> Path:
    """A seed given as a path, or as a name in ``seeds/`` (``italy24press`` → ``seeds/italy24press.toml``)."""
    path = Path(spec)
    if path.exists() or path.suffix == ".toml" or "/" in str(spec):
        return path
    return seeds_dir / f"{spec}.toml"


def _url(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, key, f"expected a URL string, got {type(value).__name__}")
    if (problem := url_problem(value)) is not None:  # the crawl's own check: what passes here is fetched
        raise ConfigError(path, key, f"not a usable http(s) URL ({redact_url(problem)}): {redact_url(value)!r}")
    return value.strip()


def _str_list(path: Path, key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(path, key, "expected a list of strings")
    return value


def _regexes(path: Path, key: str, value: Any) -> tuple[re.Pattern, ...]:
    out = []
    for i, pattern in enumerate(_str_list(path, key, value)):
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            raise ConfigError(path, f"{key}[{i}]", f"bad regex {pattern!r}: {exc}") from None
    return tuple(out)


def _positive_int(path: Path, key: str, value: Any, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(path, key, f"expected a whole number >= {minimum}, got {value!r}")
    return value


def _strip_www(host: str) -> str:
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def _domain(path: Path, key: str, value: str) -> str:
    host = value.strip().lower()
    if "://" in host or "/" in host or not re.fullmatch(r"[a-z0-9.-]+(:\d+)?", host):
        raise ConfigError(path, key, f"expected a bare host name such as example.com, got {value!r}")
    return host.split(":")[0]


def _cron(expr: Any, path: Path) -> str:
    return validate_cron(expr, path)


def parse_since(value: Any, path: Path | str, key: str = "since") -> int:
    """``"2d"``, ``"12h"``, ``"30m"``, ``"1w"`` → seconds."""
    match = SINCE_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise ConfigError(path, key, f"expected a duration such as \"2d\", \"12h\" or \"30m\", got {value!r}")
    seconds = int(match.group(1)) * SINCE_UNITS[match.group(2)]
    if seconds > MAX_HOURS * 3600:
        raise ConfigError(path, key, f"{value!r} is more than 100 years")
    return seconds


def parse_seed(data: Mapping[str, Any], path: Path | str = "<seed>") -> Seed:
    """Validate the content of a seed file."""
    path = Path(path)
    unknown = sorted(set(data) - SEED_KEYS)
    if unknown:
        raise ConfigError(path, unknown[0], f"unknown key (allowed: {', '.join(sorted(SEED_KEYS))})")
    name = data.get("name")
    if name is None:
        raise ConfigError(path, "name", "required key is missing")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise ConfigError(path, "name", f"expected a short id of letters, digits, '-', '_' or '.', got {name!r}")
    if "start_urls" not in data:
        raise ConfigError(path, "start_urls", "required key is missing")
    start = [_url(path, f"start_urls[{i}]", u) for i, u in enumerate(_str_list(path, "start_urls", data["start_urls"]))]
    if not start:
        raise ConfigError(path, "start_urls", "needs at least one URL")
    if "allowed_domains" in data:
        domains = [_domain(path, "allowed_domains", d) for d in _str_list(path, "allowed_domains", data["allowed_domains"])]
        if not domains:
            raise ConfigError(path, "allowed_domains", "is empty: nothing could be crawled (leave it out to "
                                                       "allow the start URLs' hosts)")
    else:
        # the site's registrable host: www.example.com also allows example.com and m.example.com
        domains = list(dict.fromkeys(_strip_www(urlsplit(u).hostname or "") for u in start))
    extract = data.get("extract", {})
    if not isinstance(extract, dict):
        raise ConfigError(path, "extract", "expected a table")
    if extract:
        ExtractOptions.from_mapping(extract, source=str(path))  # validates, raises ConfigError
    language = data.get("language")
    if language is not None and (not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2})?", language)):
        raise ConfigError(path, "language", f"expected a language code such as \"en\", got {language!r}")
    recheck = data.get("recheck_hours")
    if recheck is not None and (not isinstance(recheck, int | float) or isinstance(recheck, bool)
                                or not 0 < recheck <= MAX_HOURS):
        raise ConfigError(path, "recheck_hours", f"expected a number of hours above 0 and up to {MAX_HOURS} "
                                                 f"(100 years), got {recheck!r}")
    return Seed(
        name=name,
        path=str(path),
        start_urls=tuple(start),
        allowed_domains=tuple(domains),
        sitemaps=tuple(_url(path, f"sitemaps[{i}]", u) for i, u in enumerate(_str_list(path, "sitemaps", data.get("sitemaps", [])))),
        feeds=tuple(_url(path, f"feeds[{i}]", u) for i, u in enumerate(_str_list(path, "feeds", data.get("feeds", [])))),
        article_url_patterns=_regexes(path, "article_url_patterns", data.get("article_url_patterns", [])),
        deny_url_patterns=_regexes(path, "deny_url_patterns", data.get("deny_url_patterns", [])),
        max_pages=_positive_int(path, "max_pages", data["max_pages"]) if "max_pages" in data else None,
        max_depth=_positive_int(path, "max_depth", data["max_depth"], 0) if "max_depth" in data else None,
        language=language,
        schedule=_cron(data["schedule"], path) if "schedule" in data else None,
        since_seconds=parse_since(data["since"], path) if "since" in data else None,
        recheck_hours=float(recheck) if recheck is not None else None,
        extract=extract,
    )


def load_seed(spec: str | Path, seeds_dir: Path = SEEDS_DIR) -> Seed:
    """Read and validate ``seeds/NAME.toml`` (or any path)."""
    path = resolve_seed_path(spec, seeds_dir)
    return parse_seed(_read_toml(path), path)


# --- run profiles ----------------------------------------------------------------------

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
    "state": {
        "enabled": ("NEWSWARC_STATE_ENABLED", bool),
        "path": ("NEWSWARC_STATE_PATH", str),
    },
}


def parse_profile(data: Mapping[str, Any], path: Path | str = "<profile>") -> dict[str, Any]:
    """Validate a run profile and map it to Scrapy settings.

    ``[scrapy]`` passes any upper-case Scrapy setting through unchanged.
    """
    path = Path(path)
    settings: dict[str, Any] = {}
    for section, table in data.items():
        if section == "scrapy":
            if not isinstance(table, dict):
                raise ConfigError(path, "scrapy", "expected a table of Scrapy settings")
            for key, value in table.items():
                if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
                    raise ConfigError(path, f"scrapy.{key}", "Scrapy setting names are upper case, e.g. DOWNLOAD_DELAY")
                settings[key] = value
            continue
        if section not in PROFILE_KEYS:
            allowed = ", ".join(sorted([*PROFILE_KEYS, "scrapy"]))
            raise ConfigError(path, section, f"unknown section (allowed: {allowed})")
        if not isinstance(table, dict):
            raise ConfigError(path, section, "expected a table")
        for key, value in table.items():
            spec = PROFILE_KEYS[section].get(key)
            if spec is None:
                raise ConfigError(path, f"{section}.{key}", f"unknown key (allowed: {', '.join(sorted(PROFILE_KEYS[section]))})")
            setting, kind = spec
            if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, float))):
                names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
                raise ConfigError(path, f"{section}.{key}", f"expected {names}, got {value!r}")
            if setting == "LOG_LEVEL" and value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
                raise ConfigError(path, f"{section}.{key}", f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, "
                                                            f"got {value!r}")
            settings[setting] = value
    return settings


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read a ``settings/*.toml`` run profile into Scrapy settings."""
    path = Path(path)
    return parse_profile(_read_toml(path), path)
