"""Seed files (one per news site) and run profiles, validated into plain objects.

Every problem is a :class:`~crawler.errors.ConfigError` naming the file, the key and what is
wrong, so the CLI can print one line and exit with code 2.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy.settings import SETTINGS_PRIORITIES

from crawler.config.cron import validate_cron
from crawler.config.extract import ExtractOptions, check_language
from crawler.errors import ConfigError, Problems
from crawler.urls import redact_url, url_problem

SEEDS_DIR = Path("seeds")  # the user's own seeds, relative to the current directory
SEEDS_PATH_ENV = "NEWSWARC_SEEDS_PATH"  # more seed directories, os.pathsep-separated, searched first


def bundled_dir(kind: str) -> Path:
    """Where the seeds or profiles shipped with newswarc lie (``seeds`` or ``settings``).

    In the source tree ``crawler/bundled/seeds`` and ``crawler/bundled/settings`` are links to the
    project's own ``seeds/`` and ``settings/``; a built wheel carries copies as package data. So
    the bundled files are found from any directory, installed or not, and are the same files.
    """
    return Path(__file__).resolve().parent.parent / "bundled" / kind


def seed_dirs() -> list[Path]:
    """Seed directories in search order: ``$NEWSWARC_SEEDS_PATH``, ``./seeds``, the bundled seeds."""
    extra = [Path(p) for p in os.environ.get(SEEDS_PATH_ENV, "").split(os.pathsep) if p]
    dirs: list[Path] = []
    for d in [*extra, SEEDS_DIR, bundled_dir("seeds")]:
        if d.is_dir() and all(d.resolve() != seen.resolve() for seen in dirs):
            dirs.append(d)
    return dirs


def list_seed_files() -> list[Path]:
    """Every seed file that a name finds, one per name: the first directory in the path wins."""
    found: dict[str, Path] = {}
    for d in seed_dirs():
        for path in sorted(d.glob("*.toml")):
            found.setdefault(path.stem, path)
    return [found[name] for name in sorted(found)]


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


# a name that becomes part of file names (a seed's, the WARC prefix, the run id): no separator, no ".."
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_plain_name(value: Any, source: object, key: str | None = None) -> str:
    """``value`` if it is letters, digits, ``.``, ``_``, ``-``, at most 64 and without ``..`` (safe inside a
    file name of the output), else a ConfigError naming ``source`` and ``key``: the one rule for seeds and settings."""
    if not (isinstance(value, str) and PLAIN_NAME.fullmatch(value) and ".." not in value):
        raise ConfigError(source, key, "expected a short id of letters, digits, '-', '_' or '.' (it becomes part of "
                                       f"file names in the output), got {value!r}")
    return value


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

    def page_budget(self, settings: Any) -> int | None:
        """The pages this seed's crawl may schedule (None: no limit). The command line's budget
        (``--max-pages``, ``-s NEWSWARC_CRAWL_MAX_PAGES``) wins over the seed's ``max_pages``, which
        wins over the profile's: Scrapy's convention, the command line has the last word."""
        name = "NEWSWARC_CRAWL_MAX_PAGES"
        if (settings.getpriority(name) or 0) >= SETTINGS_PRIORITIES["cmdline"]:
            return settings.getint(name) or None
        return self.max_pages or settings.getint(name) or None


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


def resolve_seed_path(spec: str | Path, seeds_dir: Path | None = None) -> Path:
    """A seed given as a path, or as a name (``italy24press`` → ``seeds/italy24press.toml``).

    A name is looked up in ``seeds_dir`` when given, else along :func:`seed_dirs`; an unknown
    name raises a ConfigError that lists the known seeds and the closest one.
    """
    path = Path(spec)
    if path.exists() or path.suffix == ".toml" or "/" in str(spec):
        return path
    dirs = [seeds_dir] if seeds_dir is not None else seed_dirs()
    for d in dirs:
        if (d / f"{spec}.toml").is_file():
            return d / f"{spec}.toml"
    known = [p.stem for p in list_seed_files()] if seeds_dir is None else sorted(
        p.stem for p in seeds_dir.glob("*.toml"))
    close = difflib.get_close_matches(str(spec), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listing = f" (known seeds: {', '.join(known)})" if known else " (no seed files found)"
    raise ConfigError(spec, None, f"no such file or seed name{hint}{listing}")


def _url(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, key, f"expected a URL string, got {type(value).__name__}")
    if (problem := url_problem(value)) is not None:  # the crawl's own check: what passes here is fetched
        raise ConfigError(path, key, f"not an absolute http(s) URL ({redact_url(problem)}): {redact_url(value)!r}")
    return value.strip()


def _str_list(path: Path, key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(path, key, "expected a list of strings")
    return value


def _regexes(path: Path, key: str, value: Any) -> tuple[re.Pattern, ...]:
    out, bad = [], []
    for i, pattern in enumerate(_str_list(path, key, value)):
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            bad.append((f"{key}[{i}]", f"bad regex {pattern!r}: {exc}"))
    if bad:
        raise ConfigError.many(path, bad)
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


def parse_since(value: Any, path: Path | str, key: str | None = "since") -> int:
    """``"2d"``, ``"12h"``, ``"30m"``, ``"1w"`` → seconds."""
    match = SINCE_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise ConfigError(path, key, f"expected a duration such as \"2d\", \"12h\" or \"30m\", got {value!r}")
    seconds = int(match.group(1)) * SINCE_UNITS[match.group(2)]
    if seconds > MAX_HOURS * 3600:
        raise ConfigError(path, key, f"{value!r} is more than 100 years")
    return seconds


def parse_seed(data: Mapping[str, Any], path: Path | str = "<seed>") -> Seed:
    """Validate the content of a seed file; every problem is reported at once."""
    path = Path(path)
    problems = Problems(path)
    problems.unknown(set(data) - SEED_KEYS, SEED_KEYS)
    name = data.get("name")
    if name is None:
        problems.add("name", "required key is missing")
    else:
        problems.take(check_plain_name, name, path, "name")
    start: list[str] = []
    if "start_urls" not in data:
        problems.add("start_urls", "required key is missing")
    else:
        urls = problems.take(_str_list, path, "start_urls", data["start_urls"], default=[])
        start = [u for i, u in enumerate(urls) if problems.take(_url, path, f"start_urls[{i}]", u)]
        if not urls and "start_urls" not in {k for k, _ in problems.items}:
            problems.add("start_urls", "needs at least one URL")
    if "allowed_domains" in data:
        domains = [problems.take(_domain, path, "allowed_domains", d) for d in
                   problems.take(_str_list, path, "allowed_domains", data["allowed_domains"], default=[])]
        if data["allowed_domains"] == []:
            problems.add("allowed_domains", "is empty: nothing could be crawled (leave it out to allow the start "
                                            "URLs' hosts)")
    else:
        # the site's registrable host: www.example.com also allows example.com and m.example.com
        domains = list(dict.fromkeys(_strip_www(urlsplit(u).hostname or "") for u in start))
    extract = data.get("extract", {})
    if not isinstance(extract, dict):
        problems.add("extract", "expected a table")
        extract = {}
    elif extract:
        problems.take(lambda: ExtractOptions.from_mapping(extract, source=str(path)))  # validates it
    language = data.get("language")
    if language is not None:
        language = problems.take(check_language, language, path, "language")
    recheck = data.get("recheck_hours")
    if recheck is not None and (not isinstance(recheck, int | float) or isinstance(recheck, bool)
                                or not 0 < recheck <= MAX_HOURS):
        problems.add("recheck_hours", f"expected a number of hours above 0 and up to {MAX_HOURS} (100 years), "
                                      f"got {recheck!r}")

    def urls_of(key: str) -> tuple[str, ...]:
        values = problems.take(_str_list, path, key, data.get(key, []), default=[])
        return tuple(u for i, u in enumerate(values) if problems.take(_url, path, f"{key}[{i}]", u))

    def number(key: str, minimum: int) -> int | None:
        return problems.take(_positive_int, path, key, data[key], minimum) if key in data else None

    seed = dict(
        sitemaps=urls_of("sitemaps"),
        feeds=urls_of("feeds"),
        article_url_patterns=problems.take(_regexes, path, "article_url_patterns",
                                           data.get("article_url_patterns", []), default=()),
        deny_url_patterns=problems.take(_regexes, path, "deny_url_patterns", data.get("deny_url_patterns", []),
                                        default=()),
        max_pages=number("max_pages", 1),
        max_depth=number("max_depth", 0),
        schedule=problems.take(validate_cron, data["schedule"], path) if "schedule" in data else None,
        since_seconds=problems.take(parse_since, data["since"], path) if "since" in data else None,
    )
    problems.raise_any()
    return Seed(name=name, path=str(path), start_urls=tuple(start), allowed_domains=tuple(domains), language=language,
                recheck_hours=float(recheck) if recheck is not None else None, extract=extract, **seed)


def load_seed(spec: str | Path, seeds_dir: Path | None = None) -> Seed:
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
    return parse_profile(_read_toml(path), path)
