"""The ``newswarc`` command: the parser, logging set-up and the one place exceptions become exit codes.

Exit codes: 0 done; 1 the work did not complete (reason on one line); 2 bad seed, profile or
arguments; 3 unusable output location; 4 done, but files wait in the local spool for
``newswarc sync`` (S3 was unreachable); 130 interrupted; 141 the ``--jsonl -`` reader closed
stdout (the crawl stopped; files and state hold everything it wrote).

Each command group has its own module (``crawl``, ``demo``, ``archive``, ``replay``); this one
only wires them into one parser.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from crawler import __version__
from crawler.cli import replay as cli_replay
from crawler.cli.archive import cmd_index, cmd_sync
from crawler.cli.crawl import EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_OK, cmd_crawl, cmd_schedule, cmd_seeds
from crawler.cli.demo import cmd_demo
from crawler.errors import ConfigError, NewswarcError
from crawler.urls import RedactCredentials


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
               "4 done but files wait in the spool (run `newswarc sync`), 130 interrupted, "
               "141 the --jsonl - reader closed stdout.",
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
        for handler in logging.getLogger().handlers:
            handler.addFilter(RedactCredentials())  # no password of a URL in any log line
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
