"""Sub-commands that live in their own modules, added to the ``newswarc`` parser."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def _cmd_replay(args: argparse.Namespace) -> int:
    import logging

    from crawler.replay.replayer import cmd_replay

    if args.crawl:  # a Scrapy crawl: it logs through Scrapy's root handler
        from crawler.replay.replayer import cmd_replay_crawl

        return cmd_replay_crawl(args)

    logging.getLogger().setLevel(logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose
                                 else logging.ERROR if args.quiet else logging.WARNING)
    return cmd_replay(args)


def add_commands(sub: Any, common: Callable[..., None]) -> None:
    """Register ``replay`` on the sub-parsers object of crawler/cli.py."""
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
    common(p)
    p.set_defaults(func=_cmd_replay)
