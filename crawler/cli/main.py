"""The ``newswarc`` command.

Exit codes: 0 done; 1 the work did not complete (reason on one line); 2 bad seed, profile or
arguments; 3 unusable output location; 4 done, but files wait in the local spool for
``newswarc sync`` (S3 was unreachable); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler import __version__
from crawler.errors import ConfigError, NewswarcError

logger = logging.getLogger("newswarc")

DEFAULT_PROFILE = Path("settings/default.toml")
EXIT_OK, EXIT_INCOMPLETE, EXIT_CONFIG, EXIT_STORAGE, EXIT_SPOOLED, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


class CliError(NewswarcError):
    exit_code = EXIT_CONFIG


# --- settings ------------------------------------------------------------------------------

def build_settings(args: argparse.Namespace) -> Any:
    """Scrapy settings: project defaults < profile < command-line flags."""
    from scrapy.settings import Settings

    from crawler.config.seeds import load_profile

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
    return settings


def check_output(settings) -> None:
    """Fail before crawling when the output location cannot be used (exit code 3)."""
    from crawler.storage import open_storage

    storage = open_storage(settings.get("NEWSWARC_OUTPUT_URI") or "archive", settings)
    storage.check()


# --- crawling ------------------------------------------------------------------------------

class Progress:
    """A live line on stderr: pages, articles, errors, rate (only on a terminal)."""

    def __init__(self, crawlers: list, stream=sys.stderr, interval: float = 1.0):
        self.crawlers, self.stream, self.interval = crawlers, stream, interval
        self.started = time.monotonic()
        self.enabled = stream.isatty()
        self._call = None

    def totals(self) -> dict[str, int]:
        pages = articles = errors = 0
        for crawler in self.crawlers:
            stats = crawler.stats.get_stats() if crawler.stats else {}
            pages += stats.get("downloader/response_count", 0)
            articles += stats.get("newswarc/extract/articles", 0)
            errors += sum(v for k, v in stats.items() if k.startswith("newswarc/crawl/errors/"))
        return {"pages": pages, "articles": articles, "errors": errors}

    def line(self) -> str:
        t = self.totals()
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (f"pages {t['pages']}  articles {t['articles']}  errors {t['errors']}  "
                f"{t['pages'] / elapsed:.1f} pages/s  {elapsed:.0f}s")

    def start(self) -> None:
        if not self.enabled:
            return
        from twisted.internet import task

        self._call = task.LoopingCall(lambda: self.stream.write("\r\033[K" + self.line()))
        self._call.start(self.interval, now=False)

    def stop(self) -> None:
        if self._call is not None and self._call.running:
            self._call.stop()
            self.stream.write("\r\033[K")


def _one_line(record: logging.LogRecord) -> bool:
    """On a terminal, errors are one line each: tracebacks go to the log file (--log-file) or -v."""
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None
    return True


def run_crawl(seeds: list, settings, *, progress: bool = True) -> tuple[int, list[dict]]:
    """Crawl the seeds side by side in one process; returns (exit code, run reports)."""
    from scrapy.crawler import CrawlerProcess

    from crawler.context import new_run_id
    from crawler.crawl.spider import NewsSpider

    if not settings.get("NEWSWARC_RUN_ID"):
        settings.set("NEWSWARC_RUN_ID", new_run_id(), priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = []
    for seed in seeds:
        crawler = process.create_crawler(NewsSpider)
        crawlers.append(crawler)
        process.crawl(crawler, seed=seed)
    if not settings.get("LOG_FILE") and settings.get("LOG_LEVEL") not in ("DEBUG", "INFO"):
        for handler in logging.getLogger().handlers:  # Scrapy's handler, installed by crawl()
            handler.addFilter(_one_line)
    meter = Progress(crawlers) if progress else None
    if meter:
        meter.start()
    process.start()
    if meter:
        meter.stop()
    reports, problems = [], []
    for seed, crawler in zip(seeds, crawlers, strict=True):
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
    from crawler.config.seeds import load_seed

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


@contextlib.contextmanager
def _demo_server(site: Any, seed: Any) -> Iterator[Any]:
    """The demo server on the seed's own port when it is free, else on any free port.

    On the seed's port the archive's URLs are the bundled seed's, so ``newswarc replay --crawl
    --seed demo`` finds them; a busy port (another demo running) must not stop the demo.
    """
    from crawler.demo.server import DemoServer

    server = None
    if port := (urlsplit(seed.start_urls[0]).port if seed.start_urls else None):
        try:
            server = DemoServer(site, port=port).start()
        except OSError:
            logger.info("port %d is busy: the demo site is served on a free port", port)
    server = server or DemoServer(site).start()
    try:
        yield server
    finally:
        server.stop()


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.config.seeds import Seed, load_seed
    from crawler.demo.site import build_site

    site = build_site(args.articles)
    seed_file = Path("seeds/demo.toml")
    base = Seed(name="demo", start_urls=("http://127.0.0.1/",), allowed_domains=("127.0.0.1",), language="en")
    seed = load_seed(seed_file) if seed_file.exists() else base
    with _demo_server(site, seed) as server:
        seed = seed.with_start_urls([server.url + "/"])
        print(f"Demo news site ({len(site.articles)} articles) serving at {server.url}/", file=sys.stderr)
        if args.serve:
            print("Serving until Ctrl-C.", file=sys.stderr)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return EXIT_OK
        args.max_pages = None
        settings = build_settings(args)
        # our own server on loopback: no need to wait for AutoThrottle's latency probes
        settings.set("AUTOTHROTTLE_ENABLED", False, priority=15)
        check_output(settings)
        code, reports = run_crawl([seed], settings, progress=not args.quiet)
    print_summary(reports)
    public = sum(1 for a in site.articles if not a.private)
    found = reports[0]["counts"]["articles"] if reports else 0
    print(f"Demo crawl: {found} of {public} public demo articles archived and extracted.", file=sys.stderr)
    print(f"Output: {reports[0]['output'] if reports else args.out}", file=sys.stderr)
    return code


def cmd_index(args: argparse.Namespace) -> int:
    from crawler.warc.cdxj import write_cdxj

    paths = [Path(p) for p in args.warc]
    for p in paths:
        if not p.is_file():
            raise CliError(f"{p}: no such WARC file")
    if args.output in (None, "-"):
        count = write_cdxj(paths, sys.stdout)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            count = write_cdxj(paths, out)
    print(f"{count} index lines from {len(paths)} WARC files", file=sys.stderr)
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from crawler.storage.s3.storage import sync_spool

    settings = build_settings(args)
    uri = settings.get("NEWSWARC_OUTPUT_URI")
    if not str(uri).startswith("s3://"):
        print(f"{uri}: local output, nothing to sync", file=sys.stderr)
        return EXIT_OK
    uploaded, waiting = sync_spool(uri, settings)
    print(f"{uploaded} files uploaded to {uri}, {waiting} still waiting in the spool", file=sys.stderr)
    return EXIT_OK if waiting == 0 else EXIT_INCOMPLETE


def cmd_schedule(args: argparse.Namespace) -> int:
    from crawler.config.seeds import SEEDS_DIR, resolve_seed_path
    from crawler.schedule.scheduler import ScheduledSeed, Scheduler, SubprocessRunner
    from crawler.storage import open_storage

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
    from crawler.config.seeds import SEEDS_DIR

    specs = args.seed or sorted(str(p) for p in SEEDS_DIR.glob("*.toml"))
    for seed in load_seeds(specs):
        extra = f"  schedule {seed.schedule}" if seed.schedule else ""
        print(f"{seed.name}: {seed.path}  {', '.join(seed.start_urls)}{extra}")
    return EXIT_OK


# --- parser --------------------------------------------------------------------------------

def _common(p: argparse.ArgumentParser, *, out: bool = True) -> None:
    p.add_argument("--settings", metavar="FILE", help="run profile (default: settings/default.toml if present)")
    if out:
        p.add_argument("--out", metavar="DIR|s3://BUCKET/PREFIX", help="output location (overrides the profile)")
    p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy setting")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log INFO (-vv: DEBUG) to stderr")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress line or summary")
    p.add_argument("--log-file", metavar="FILE", help="write the full log to FILE")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswarc",
        description="Crawl news sites into faithful WARC archives, extract clean article text, "
                    "write it to disk or S3, and replay archives offline.",
        epilog="Exit codes: 0 done, 1 incomplete, 2 bad seed/profile/arguments, 3 unusable output, "
               "4 done but files wait in the spool (run `newswarc sync`), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"newswarc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("crawl", help="crawl one or more seeds", description="Crawl news sites described by seed files.")
    p.add_argument("seed", nargs="+", metavar="SEED", help="a seed file, or a name in seeds/ (italy24press)")
    p.add_argument("--max-pages", type=int, metavar="N", help="stop scheduling new pages after N per seed")
    p.add_argument("--jsonl", metavar="-", choices=["-"], help="also stream article JSONL to stdout")
    _common(p)
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("demo", help="serve the bundled demo news site and crawl it end to end")
    p.add_argument("--articles", type=int, default=300, help="size of the demo site (default: %(default)s)")
    p.add_argument("--serve", action="store_true", help="only serve the demo site (for manual crawls)")
    _common(p)
    p.set_defaults(func=cmd_demo, out=None)

    p = sub.add_parser("index", help="write a CDXJ index (pywb format) of WARC files")
    p.add_argument("warc", nargs="+", metavar="WARC")
    p.add_argument("-o", "--output", metavar="FILE", help="index file (default: stdout)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("sync", help="upload files waiting in the local spool to S3")
    _common(p)
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("schedule", help="run seeds on their cron schedules (until SIGTERM)",
                       description="A long-running scheduler: each seed with a `schedule` is crawled when its cron "
                                   "expression (UTC) matches, never twice at once (a lock that holds across processes).")
    p.add_argument("seed", nargs="*", metavar="SEED", help="seeds to schedule (default: every seed in seeds/)")
    p.add_argument("--max-runs", type=int, metavar="N", help="exit after N runs (for testing)")
    _common(p)
    p.set_defaults(func=cmd_schedule)

    p = sub.add_parser("seeds", help="validate and list seed files")
    p.add_argument("seed", nargs="*", metavar="SEED")
    p.set_defaults(func=cmd_seeds)

    from crawler.cli import replay as cli_replay

    cli_replay.add_commands(sub, _common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command == "demo" and not args.out:
        args.out = "newswarc-demo"
    # crawls (replay --crawl too) log through Scrapy's own root handler
    if args.command not in ("crawl", "demo") and not getattr(args, "crawl", False):
        verbose = getattr(args, "verbose", 0)
        level = logging.DEBUG if verbose > 1 else logging.INFO if verbose or args.command == "schedule" else logging.WARNING
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"newswarc: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except NewswarcError as exc:
        print(f"newswarc: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("newswarc: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `newswarc replay --jsonl - | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
