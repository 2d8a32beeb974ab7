"""The ``newswarc`` command: the parser, logging set-up and the one place exceptions become exit codes.

Exit codes: 0 done; 1 the work did not complete (reason on one line); 2 bad seed, profile or
arguments; 3 unusable output location; 4 done, but files wait in the local spool for
``newswarc sync`` (S3 was unreachable); 130 interrupted.

Each command group has its own module (``crawl``, ``demo``, ``archive``, ``replay``); this one
only wires them into one parser.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from crawler import software_versions
from crawler.errors import ConfigError, NewswarcError

EXIT_OK, EXIT_INCOMPLETE, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 130


def _command(target: str) -> Any:
    """``module:function`` of a command, imported when it runs: a dependency that fails to import
    is then an ImportError inside :func:`main` (one line), and ``--help`` does not load Scrapy."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(f"crawler.cli.{module}"), name)


def version_text() -> str:
    """``newswarc 0.1.0`` and one line per library it runs on."""
    versions = software_versions()
    lines = [f"newswarc {versions.pop('newswarc')}"]
    lines += [f"  {name} {version}" for name, version in versions.items()]
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    """``--version`` with one line per library (argparse's own action re-wraps the text)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None) -> None:
        print(version_text())
        parser.exit()


def import_failure(exc: ImportError) -> str:
    """One line for a dependency that cannot be imported: which package, and how to mend it."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    module = (exc.name or "").split(".")[0]
    if "lxml_html_clean" in str(exc):  # lxml raises it by hand, without a module name
        package = "lxml_html_clean"
    else:
        dists = metadata.packages_distributions().get(module, []) if module else []
        package = dists[0] if dists else module
    fix = f"`pip install {package}`" if package else "`pip install --force-reinstall newswarc`"
    return f"a dependency cannot be imported ({reason}): install it with {fix} (from a checkout: `make demo`)"


def _common(p: argparse.ArgumentParser, *, out: bool = True) -> None:
    p.add_argument("--settings", metavar="FILE", help="run profile: a file, or a name in ./settings or the bundled "
                   "profiles (default: ./settings/default.toml, else the bundled default)")
    if out:
        p.add_argument("--out", metavar="DIR|s3://BUCKET/PREFIX", help="output location (overrides the profile)")
    p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy setting")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log INFO (-vv: DEBUG) to stderr")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress line or summary")
    p.add_argument("--log-file", metavar="FILE", help="write the full log to FILE")


def _replay_parser(sub: Any) -> None:
    p = sub.add_parser(
        "replay", help="re-extract articles offline from WARC/WACZ archives",
        description="Read WARC files (ours or others': wget, pywb, Heritrix), detect article pages and "
                    "extract them exactly as a crawl does, writing the same text files and JSONL.",
        epilog="Exit codes: 0 every input read cleanly; 1 damaged input was reported and skipped (with "
               "--crawl also: the crawl did not complete, or nothing it asked for was archived); "
               "2 bad arguments or seed; 3 unusable output.")
    p.add_argument("source", nargs="+", metavar="SOURCE",
                   help="a .warc/.warc.gz/.wacz file, a directory (searched recursively), a glob, or s3://BUCKET/PREFIX")
    p.add_argument("--jsonl", metavar="-|FILE", help="write article JSONL to stdout (-) or FILE")
    p.add_argument("--site", metavar="NAME", help="site name for output paths (default: the crawl's seed, "
                   "else --seed's name, else the URL host)")
    p.add_argument("--seed", metavar="SEED", help="a seed file or name: its article/deny URL patterns, "
                   "language and [extract] options")
    p.add_argument("--url-pattern", metavar="REGEX", help="only pages whose URL matches (re.search)")
    p.add_argument("--since", metavar="DATE", help="only records with WARC-Date at or after DATE (ISO)")
    p.add_argument("--until", metavar="DATE", help="only records with WARC-Date at or before DATE (ISO; "
                   "a bare date includes that whole day)")
    p.add_argument("--workers", type=int, metavar="N", help="extraction processes (default: all cores)")
    p.add_argument("--crawl", action="store_true", help="run --seed's crawl against the archive instead of the "
                   "network (link following and page classification as today; --since, --until, "
                   "--url-pattern and --site do not apply)")
    _common(p)
    p.set_defaults(func="replay:run_replay")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswarc",
        description="Crawl news sites into faithful WARC archives, extract clean article text, "
                    "write it to disk or S3, and replay archives offline.",
        epilog="Exit codes: 0 done, 1 incomplete, 2 bad seed/profile/arguments, 3 unusable output, "
               "4 done but files wait in the spool (run `newswarc sync`), 130 interrupted.",
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="print newswarc's version and those of the libraries it runs on")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("crawl", help="crawl one or more seeds", description="Crawl news sites described by seed files.")
    p.add_argument("seed", nargs="+", metavar="SEED", help="a seed file, or a name in seeds/ (italy24press)")
    p.add_argument("--max-pages", type=int, metavar="N", help="stop scheduling new pages after N per seed")
    p.add_argument("--jsonl", metavar="-", choices=["-"], help="also stream article JSONL to stdout")
    _common(p)
    p.set_defaults(func="crawl:cmd_crawl")

    p = sub.add_parser("demo", help="serve the bundled demo news site and crawl it end to end")
    p.add_argument("--articles", type=int, default=300, help="size of the demo site (default: %(default)s)")
    p.add_argument("--serve", action="store_true", help="only serve the demo site (for manual crawls)")
    _common(p)
    p.set_defaults(func="demo:cmd_demo", out=None)

    p = sub.add_parser("index", help="write a CDXJ index (pywb format) of WARC files")
    p.add_argument("warc", nargs="+", metavar="WARC")
    p.add_argument("-o", "--output", metavar="FILE", help="index file (default: stdout)")
    p.set_defaults(func="archive:cmd_index")

    p = sub.add_parser("sync", help="upload files waiting in the local spool to S3")
    _common(p)
    p.set_defaults(func="archive:cmd_sync")

    p = sub.add_parser("schedule", help="run seeds on their cron schedules (until SIGTERM)",
                       description="A long-running scheduler: each seed with a `schedule` is crawled when its cron "
                                   "expression (UTC) matches, never twice at once (a lock that holds across processes).")
    p.add_argument("seed", nargs="*", metavar="SEED", help="seeds to schedule (default: every seed in seeds/)")
    p.add_argument("--max-runs", type=int, metavar="N", help="exit after N runs (for testing)")
    _common(p)
    p.set_defaults(func="crawl:cmd_schedule")

    p = sub.add_parser("seeds", help="validate and list seed files")
    p.add_argument("seed", nargs="*", metavar="SEED")
    p.set_defaults(func="crawl:cmd_seeds")

    _replay_parser(sub)
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
        return _command(args.func)(args)
    except ImportError as exc:
        if getattr(args, "verbose", 0):
            traceback.print_exc()
        print(f"newswarc: {import_failure(exc)}", file=sys.stderr)
        return EXIT_INCOMPLETE
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
