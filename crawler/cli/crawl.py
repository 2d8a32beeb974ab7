"""The crawl commands (``crawl``, ``seeds``, ``schedule``) and what every command shares.

Shared: the exit codes, Scrapy settings from the profile and flags, the output check, and
:func:`run_crawl` (``demo`` and ``replay --crawl`` crawl through it too).
"""

from __future__ import annotations

import argparse
import atexit
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.cli.progress import Progress
from crawler.config.check import check_settings
from crawler.config.seeds import SEEDS_DIR, load_profile, load_seed, resolve_seed_path
from crawler.context import new_run_id
from crawler.crawl.diskfull import STAT as DISK_FULL_STAT
from crawler.crawl.spider import NewsSpider
from crawler.errors import NewswarcError
from crawler.output.writer import stdout_stream
from crawler.schedule.scheduler import ScheduledSeed, Scheduler, SubprocessRunner
from crawler.storage import open_storage
from crawler.storage.lock import RunLock, lock_output
from crawler.storage.s3.lease import S3Lease
from crawler.storage.s3.storage import S3Storage
from crawler.urls import RedactCredentials, redact_url

logger = logging.getLogger("newswarc")

DEFAULT_PROFILE = Path("settings/default.toml")
EXIT_OK, EXIT_INCOMPLETE, EXIT_CONFIG, EXIT_STORAGE, EXIT_SPOOLED, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_STDOUT_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for `yes | head`


class CliError(NewswarcError):
    exit_code = EXIT_CONFIG


# --- settings ------------------------------------------------------------------------------

def build_settings(args: argparse.Namespace) -> Any:
    """Scrapy settings: project defaults < profile < command-line flags."""

    settings = Settings()
    settings.setmodule("crawler.config.settings", priority="project")
    profile = getattr(args, "settings", None)
    if profile is None and DEFAULT_PROFILE.exists():
        profile = DEFAULT_PROFILE
    if profile is not None:
        settings.setdict(load_profile(profile), priority="project")
    if getattr(args, "out", None):
        settings.set("NEWSWARC_OUTPUT_URI", args.out, priority="cmdline")
    if getattr(args, "max_pages", None):
        settings.set("NEWSWARC_CRAWL_MAX_PAGES", args.max_pages, priority="cmdline")
    if getattr(args, "jsonl", None) == "-":
        settings.set("NEWSWARC_OUTPUT_JSONL_STDOUT", True, priority="cmdline")
    for item in getattr(args, "set", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.isupper():
            raise CliError(f"-s {item}: expected NAME=VALUE with an upper-case Scrapy setting name")
        settings.set(key, value, priority="cmdline")
    settings.set("LOG_LEVEL", "DEBUG" if args.verbose > 1 else "INFO" if args.verbose else
                 ("ERROR" if args.quiet else "WARNING"), priority="cmdline")
    if getattr(args, "log_file", None):
        settings.set("LOG_FILE", args.log_file, priority="cmdline")
        settings.set("LOG_LEVEL", "DEBUG" if args.verbose > 1 else "INFO", priority="cmdline")
    check_settings(settings)  # one line and exit 2 for a bad value, before anything starts
    return settings


def check_output(settings) -> None:
    """Fail before crawling when the output location cannot be used (exit code 3), or when another
    newswarc command is writing it (exit 1); the output's lock is then held until this process ends."""
    storage = open_storage(settings.get("NEWSWARC_OUTPUT_URI") or "archive", settings)
    storage.check()
    hold_output_lock(storage)


_HELD: dict[str, RunLock] = {}  # work dir -> the output lock this process holds (released at exit)


def hold_output_lock(storage: Any, *, lease: bool = True) -> None:
    """Take the lock of ``storage``'s output (its directory, or the spool of an S3 destination) and,
    for S3 with ``lease``, the destination's lease object (other machines)."""
    key = str(storage.work_dir)
    if key not in _HELD:
        _HELD[key] = lock_output(storage.work_dir, storage.display())
        if lease and isinstance(storage, S3Storage):
            lease = S3Lease(storage, holder=_HELD[key].holder)
            lease.acquire()
            atexit.register(lease.release)


# --- crawling ------------------------------------------------------------------------------


def _one_line(record: logging.LogRecord) -> bool:
    """On a terminal, errors are one line each: tracebacks go to the log file (--log-file) or -v."""
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None
    return True


def _start_failed(failure: Any, crawler: Any) -> None:
    """A crawl that cannot start (storage gone between the check and the state restore...): one line, not
    Twisted's "Unhandled error in Deferred" traceback; other errors keep their traceback (a bug)."""
    if isinstance(failure.value, NewswarcError):
        crawler.newswarc_start_error = failure.value
        return None
    return failure


def run_crawl(seeds: list, settings, *, progress: bool = True) -> tuple[int, list[dict]]:
    """Crawl the seeds side by side in one process; returns (exit code, run reports)."""

    if not settings.get("NEWSWARC_RUN_ID"):
        settings.set("NEWSWARC_RUN_ID", new_run_id(), priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = []
    for seed in seeds:
        crawler = process.create_crawler(NewsSpider)
        crawlers.append(crawler)
        process.crawl(crawler, seed=seed).addErrback(_start_failed, crawler)
    for handler in logging.getLogger().handlers:  # Scrapy's handler (and LOG_FILE's), installed by crawl()
        handler.addFilter(RedactCredentials())  # no password of a URL in any log line
        if not settings.get("LOG_FILE") and settings.get("LOG_LEVEL") not in ("DEBUG", "INFO"):
            handler.addFilter(_one_line)
    meter = Progress(crawlers) if progress else None
    if meter:
        meter.start()
    process.start()
    if meter:
        meter.stop()
    reports, problems = [], []
    for seed, crawler in zip(seeds, crawlers, strict=True):
        if (exc := getattr(crawler, "newswarc_start_error", None)) is not None:
            raise exc  # one line and its exit code (main)
        report = getattr(crawler, "newswarc_report", None)
        stats = crawler.stats.get_stats() if crawler.stats else {}
        reason = stats.get("finish_reason", "not started")
        if report is None:
            problems.append(f"{seed.name}: crawl did not run to its end ({reason})")
            continue
        reports.append(report)
        if report["status"] != "completed":
            problems.append(f"{seed.name}: crawl stopped early ({reason})")
        elif report["counts"]["pages"] == 0 and report["counts"]["errors"]:
            kinds = ", ".join(sorted(report["counts"]["errors_by_kind"]))
            problems.append(f"{seed.name}: no page could be fetched ({kinds})")
    if full := [c for c in crawlers if c.stats and c.stats.get_value(DISK_FULL_STAT)]:
        written = sum(r["counts"]["articles"] for r in reports)
        print(f"newswarc: {reports[0]['output'] if reports else settings.get('NEWSWARC_OUTPUT_URI')}: no space left "
              f"on device ({full[0].stats.get_value(DISK_FULL_STAT)}): the crawl stopped; {written} articles are "
              f"kept, the next run (with space) goes on from there", file=sys.stderr)
        return EXIT_INCOMPLETE, reports
    if settings.getbool("NEWSWARC_OUTPUT_JSONL_STDOUT") and (stream := stdout_stream()).closed:
        written = sum(r["counts"]["articles"] for r in reports)
        print(f"newswarc: stdout was closed after {stream.lines} JSONL lines: the crawl stopped; "
              f"{written} articles are in the output, the next run goes on from there", file=sys.stderr)
        return EXIT_STDOUT_CLOSED, reports
    if problems:
        interrupted = any("shutdown" in p for p in problems)
        for p in problems:
            print(f"newswarc: {p}", file=sys.stderr)
        return (EXIT_INTERRUPTED if interrupted else EXIT_INCOMPLETE), reports
    spooled = max((r.get("storage", {}).get("spooled", 0) for r in reports), default=0)  # seeds share a spool
    if spooled:
        print(f"newswarc: crawl completed; {spooled} file(s) wait in the local spool: "
              f"run `newswarc sync --out {reports[0]['output']}`", file=sys.stderr)
        return EXIT_SPOOLED, reports
    return EXIT_OK, reports


def print_summary(reports: list[dict], stream=sys.stderr) -> None:
    for r in reports:
        c = r["counts"]
        print(f"{r['seed']}: {c['pages']} pages, {c['articles']} articles, {c['errors']} errors, "
              f"{c['warc_files']} WARC files, {r['bytes']['downloaded']:,} bytes in {r['duration_seconds']:.1f}s "
              f"-> {r['output']}", file=stream)
        print(f"  report: {r.get('report_file', '')}", file=stream)


def load_seeds(specs: Sequence[str]) -> list:
    seeds = [load_seed(s) for s in specs]
    names = [s.name for s in seeds]
    if len(set(names)) != len(names):
        raise CliError(f"the same seed name is given twice: {', '.join(sorted(names))}")
    return seeds


def cmd_crawl(args: argparse.Namespace) -> int:
    seeds = load_seeds(args.seed)
    settings = build_settings(args)
    check_output(settings)
    code, reports = run_crawl(seeds, settings, progress=not args.quiet)
    if not args.quiet:
        print_summary(reports)
    return code


def cmd_schedule(args: argparse.Namespace) -> int:
    specs = args.seed or sorted(str(p) for p in SEEDS_DIR.glob("*.toml"))
    seeds = load_seeds(specs)
    scheduled = [ScheduledSeed(s.name, s.schedule, resolve_seed_path(spec)) for s, spec in zip(seeds, specs, strict=True)
                 if s.schedule]
    if not scheduled:
        raise CliError("no seed has a `schedule` (cron expression): nothing to run")
    settings = build_settings(args)
    storage = open_storage(settings.get("NEWSWARC_OUTPUT_URI") or "archive", settings)
    storage.check()
    passthrough = [a for flag, value in (("--settings", args.settings), ("--out", args.out)) if value
                   for a in (flag, str(value))]
    for item in args.set or []:
        passthrough += ["-s", item]
    runner = SubprocessRunner(lambda s: [sys.executable, "-m", "crawler.cli", "crawl", str(s.seed_path), "-q",
                                         *passthrough])
    for s in scheduled:
        logger.info("Scheduled %s: %s (UTC)", s.name, s.cron)
    scheduler = Scheduler(scheduled, runner, lock_dir=storage.work_dir / "state" / "locks", on_stop=runner.terminate,
                          max_runs=args.max_runs)
    return scheduler.run_forever()


def cmd_seeds(args: argparse.Namespace) -> int:
    specs = args.seed or sorted(str(p) for p in SEEDS_DIR.glob("*.toml"))
    for seed in load_seeds(specs):
        extra = f"  schedule {seed.schedule}" if seed.schedule else ""
        print(redact_url(f"{seed.name}: {seed.path}  {', '.join(seed.start_urls)}{extra}"))
    return EXIT_OK
