"""The crawl commands (``crawl``, ``seeds``, ``schedule``) and what every command shares.

Shared: the output check and :func:`run_crawl` (``demo`` and ``replay --crawl`` crawl through
it too); Scrapy settings from the profile and flags are built in :mod:`crawler.cli.settings`
(imported here, as before).
"""

from __future__ import annotations

import argparse
import atexit
import logging
import sys
from collections.abc import Sequence
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.utils.misc import load_object
from scrapy.utils.reactor import install_reactor, is_reactor_installed

from crawler.cli.args import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SPOOLED,
    EXIT_STDOUT_CLOSED,
    CliError,
)
from crawler.cli.logs import OwnLinesOnly, hidden_note, plain_default
from crawler.cli.progress import AboveLine, CrawlProgress, crawl_stats
from crawler.cli.settings import build_settings
from crawler.cli.summary import crawl_summary, outcome_problem, plural
from crawler.config.seeds import (
    list_seed_files,
    load_seed,
    resolve_seed_path,
)
from crawler.context import CommandWorkers, new_run_id
from crawler.crawl.diskfull import STAT as DISK_FULL_STAT
from crawler.crawl.spider import NewsSpider
from crawler.errors import ConfigError, NewswarcError
from crawler.output.writer import stdout_stream
from crawler.schedule.scheduler import ScheduledSeed, Scheduler, SubprocessRunner
from crawler.storage import open_storage
from crawler.storage.base import remove_stale_temporaries
from crawler.storage.lock import RunLock, lock_output
from crawler.storage.s3.lease import S3Lease
from crawler.storage.s3.storage import S3Storage
from crawler.urls import RedactCredentials, redact_url

logger = logging.getLogger("newswarc")

# --- settings ------------------------------------------------------------------------------

def stdout_closed(stopped: str) -> int:
    """The one ending of a command whose ``--jsonl -`` reader went away (``| head``): one line, exit 141
    as a shell reports ``yes | head``. ``stopped`` says what stopped and what is kept."""
    print(f"newswarc: stdout was closed after {stdout_stream().lines} JSONL lines: {stopped}", file=sys.stderr)
    return EXIT_STDOUT_CLOSED


def check_output(settings, *, exclusive: bool = True, uri: str | None = None) -> None:
    """Fail before crawling when the output location cannot be used (exit code 3), or when another
    newswarc command is writing it (exit 1); the output's lock is then held until this process ends,
    and an S3 destination's spool first sends what an earlier run left there (:func:`upload_left_in_spool`).

    Distributed workers share one output by design (each its own WARC files, names by host and pid;
    articles claimed in Redis): they check it without taking the exclusive lock (``exclusive=False``).
    ``uri``: an output other than the settings' (``replay --out``, which the replayer writes itself).
    """
    storage = open_storage(uri or settings.get("NEWSWARC_OUTPUT_URI") or "archive", settings)
    storage.check()
    if exclusive and hold_output_lock(storage) and storage.remote:
        upload_left_in_spool(storage)


_HELD: dict[str, RunLock] = {}  # work dir -> the output lock this process holds (released at exit)
_EARLY: list[tuple[int, str]] = []  # lines logged before a crawl's log is set up (run_crawl logs them)


def _note(level: int, message: str) -> None:
    """Log ``message`` now, or (a crawl, whose log Scrapy sets up later) once the crawl's log is up."""
    if logging.getLogger().handlers:
        logger.log(level, message)
    else:
        _EARLY.append((level, message))


def hold_output_lock(storage: Any, *, lease: bool = True) -> bool:
    """Take the lock of ``storage``'s output (its directory, or the spool of an S3 destination) and,
    for S3 with ``lease``, the destination's lease object (other machines); True when it was taken
    now (False: this process held it already).

    Holding the lock, the command removes the temporary files killed runs left (``.NAME.HOST-PID-TID.tmp``
    of :func:`~crawler.storage.base.atomic_write`; a live distributed worker's are kept).
    """
    key = str(storage.work_dir)
    if key in _HELD:
        return False
    _HELD[key] = lock_output(storage.work_dir, storage.display())
    if removed := remove_stale_temporaries(storage.work_dir):
        _note(logging.INFO, f"{storage.display()}: removed {plural(removed, 'temporary file')} "
                            f"left by killed runs in {storage.work_dir}")
    if lease and isinstance(storage, S3Storage):
        lease = S3Lease(storage, holder=_HELD[key].holder)
        lease.acquire()
        atexit.register(lease.release)
    return True


def upload_left_in_spool(storage: Any) -> None:
    """Upload the finished files an earlier run left in the spool (it was killed before their uploads,
    or S3 was down), before this run adds its own: a run that ends with nothing spooled exits 0.

    A killed run's ``.open`` files are not among them: the crawl repairs and commits those itself.
    """
    if not storage.spooled():
        return
    uploaded = storage.sync()
    storage.close()
    waiting = storage.spooled()  # failed again: they stay, and this run ends with exit 4 and the sync hint
    _note(logging.INFO, f"{storage.display()}: uploaded {plural(uploaded, 'file')} an earlier run left "
                        f"in the spool{f', {waiting} still wait' if waiting else ''}")


# --- crawling ------------------------------------------------------------------------------

def preload_components(settings: Any) -> None:
    """Import every component the settings name before the engine starts.

    Inside the engine, an import failure becomes a Twisted CRITICAL traceback; here it is an
    ImportError that :func:`crawler.cli.main.main` turns into one line.
    """
    if settings.get("TWISTED_REACTOR") and not is_reactor_installed():  # a component may import the reactor
        install_reactor(settings["TWISTED_REACTOR"], settings.get("ASYNCIO_EVENT_LOOP"))
    for name in ("ITEM_PIPELINES", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS"):
        for path, order in settings.getdict(name).items():
            if order is not None and isinstance(path, str):
                load_object(path)


def _start_failed(failure: Any, crawler: Any) -> None:
    """A crawl that cannot start (storage gone between the check and the state restore...): one line, not
    Twisted's "Unhandled error in Deferred" traceback; other errors keep their traceback (a bug)."""
    if isinstance(failure.value, NewswarcError):
        crawler.newswarc_start_error = failure.value
        return None
    return failure


def _crawl_logging(settings: Any, meter: CrawlProgress | None) -> OwnLinesOnly | None:
    """Scrapy's root handler (installed by ``crawl()``): plain own lines by default, above the live line."""
    verbose = settings.get("LOG_LEVEL") in ("DEBUG", "INFO")
    own = None
    if settings.get("LOG_FILE"):
        return None
    for handler in logging.getLogger().handlers:
        own = plain_default(handler, verbose) or own
        if meter is not None and meter.enabled and isinstance(handler, logging.StreamHandler):
            handler.setStream(AboveLine(meter.line))
    return own


def _total_pages(seeds: list, settings: Any) -> int | None:
    """The page budget of the whole run when every seed has one (for the live line's ETA)."""
    budgets = [s.page_budget(settings) for s in seeds]
    return sum(budgets) if budgets and all(budgets) else None


def run_crawl(seeds: list, settings, *, progress: bool = True,
              total_articles: int | None = None) -> tuple[int, list[dict]]:
    """Crawl the seeds side by side in one process; returns (exit code, run reports)."""

    if not settings.get("NEWSWARC_RUN_ID"):
        settings.set("NEWSWARC_RUN_ID", new_run_id(), priority="cmdline")
    preload_components(settings)
    process = CrawlerProcess(settings)
    while _EARLY:  # Scrapy's log is up: what the output check logged before it
        logger.log(*_EARLY.pop(0))
    crawlers = []
    workers = CommandWorkers()  # one extraction pool and one WARC writer process for all the seeds
    for seed in seeds:
        crawler = process.create_crawler(NewsSpider)
        crawler.newswarc_workers = workers
        crawlers.append(crawler)
        process.crawl(crawler, seed=seed).addErrback(_start_failed, crawler)
    meter = CrawlProgress(crawlers, total_pages=_total_pages(seeds, settings),
                          total_articles=total_articles) if progress else None
    own = _crawl_logging(settings, meter)
    for handler in logging.getLogger().handlers:  # Scrapy's handler (and LOG_FILE's), installed by crawl()
        handler.addFilter(RedactCredentials())  # no password of a URL in any log line
    if meter:
        meter.start()
    try:
        process.start()
    finally:
        if meter:
            meter.stop()
    reports, problems = [], []
    for seed, crawler in zip(seeds, crawlers, strict=True):
        if (exc := getattr(crawler, "newswarc_start_error", None)) is not None:
            raise exc  # one line and its exit code (main)
        report = getattr(crawler, "newswarc_report", None)
        stats = crawl_stats(crawler)
        if report is None:
            problems.append(f"{seed.name}: the crawl did not run to its end ({stats.get('finish_reason', 'not started')})")
            continue
        reports.append(report)
        if problem := outcome_problem(report):
            problems.append(problem)
    if full := [s[DISK_FULL_STAT] for s in map(crawl_stats, crawlers) if s.get(DISK_FULL_STAT)]:
        written = sum(r["counts"]["articles"] for r in reports)
        print(f"newswarc: {reports[0]['output'] if reports else settings.get('NEWSWARC_OUTPUT_URI')}: no space left "
              f"on device ({full[0]}): the crawl stopped; {written} articles are "
              f"kept, the next run (with space) goes on from there", file=sys.stderr)
        return EXIT_INCOMPLETE, reports
    if settings.getbool("NEWSWARC_OUTPUT_JSONL_STDOUT") and stdout_stream().closed:
        written = sum(r["counts"]["articles"] for r in reports)
        return stdout_closed(f"the crawl stopped; {written} articles are in the output, the next run goes on "
                             "from there"), reports
    for p in problems:
        print(f"newswarc: {p}", file=sys.stderr)
    if note := hidden_note(own):
        print(note, file=sys.stderr)
    if problems:
        interrupted = any(r["finish_reason"] == "shutdown" for r in reports)
        return (EXIT_INTERRUPTED if interrupted else EXIT_INCOMPLETE), reports
    spooled = max(((r.get("storage") or {}).get("spooled", 0) for r in reports), default=0)  # seeds share a spool
    if spooled:
        print(f"newswarc: crawl completed; {plural(spooled, 'file')} wait in the local spool: "
              f"run `newswarc sync --out {reports[0]['output']}`", file=sys.stderr)
        return EXIT_SPOOLED, reports
    return EXIT_OK, reports


def print_summary(reports: list[dict], stream=sys.stderr, *, extracting: bool = True) -> None:
    for r in reports:
        for line in crawl_summary(r, extracting=extracting):
            print(line, file=stream)


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
        print_summary(reports, extracting=settings.getbool("NEWSWARC_EXTRACT_ENABLED", True))
    return code


def cmd_schedule(args: argparse.Namespace) -> int:
    specs = args.seed or [str(p) for p in list_seed_files()]
    seeds = load_seeds(specs)
    scheduled = [ScheduledSeed(s.name, s.schedule, resolve_seed_path(spec)) for s, spec in zip(seeds, specs, strict=True)
                 if s.schedule]
    if not scheduled:
        raise CliError("no seed has a `schedule` (cron expression): nothing to run")
    settings = build_settings(args)
    storage = open_storage(settings.get("NEWSWARC_OUTPUT_URI") or "archive", settings)
    storage.check()
    passthrough = [a for flag, value in (("--settings", args.settings), ("--out", args.out), ("--log-file", args.log_file)) if value
                   for a in (flag, str(value))]
    for item in args.set or []:
        passthrough += ["-s", item]
    runner = SubprocessRunner(lambda s: [sys.executable, "-m", "crawler.cli", "crawl", str(s.seed_path), "-q",
                                         *passthrough])
    if settings.getbool("NEWSWARC_DISTRIBUTED"):  # the fleet crawls: a due seed is enqueued
        # optional dependency (the distributed extra: redis, scrapy-redis): imported only when distributed
        from crawler.distributed.fleet import EnqueueRunner

        runner = EnqueueRunner(settings)
    for s in scheduled:
        logger.info("Scheduled %s: %s (UTC)", s.name, s.cron)
    scheduler = Scheduler(scheduled, runner, lock_dir=storage.work_dir / "state" / "locks", on_stop=runner.terminate,
                          max_runs=args.max_runs)
    return scheduler.run_forever()


def cmd_seeds(args: argparse.Namespace) -> int:
    """List the seeds; every problem of every broken one is reported (exit code 2), not only the first."""
    specs = args.seed or [str(p) for p in list_seed_files()]
    if not specs:
        raise CliError("no seed files found (looked in $NEWSWARC_SEEDS_PATH, ./seeds and the bundled seeds)")
    broken = []
    for spec in specs:
        try:
            seed = load_seed(spec)
        except ConfigError as exc:
            broken.append(str(exc))
            continue
        extra = f"  schedule {seed.schedule}" if seed.schedule else ""
        print(redact_url(f"{seed.name}: {seed.path}  {', '.join(seed.start_urls)}{extra}"))
    if broken:
        raise CliError("\n".join(broken))
    return EXIT_OK
