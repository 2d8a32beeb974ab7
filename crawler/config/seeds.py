"""Seed files (one per news site), found and validated into plain objects (run profiles: :mod:`.profiles`).

Every problem is a :class:`~crawler.errors.ConfigError` naming the file, the key and what is
wrong, so the CLI can print one line and exit with code 2.
"""

from __future__ import annotations

import difflib
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


def read_toml(path: Path) -> dict:
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
    return parse_seed(read_toml(path), path)
