"""The ``newswarc`` parser: every command with its description, arguments and exit codes.

Commands are named as ``module:function`` under :mod:`crawler.cli` and imported only when they
run (see :func:`crawler.cli.main.main`), so ``--help`` does not load Scrapy. README's command
list is checked against this parser by tests/test_cli_help.py.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from crawler import software_versions
from crawler.cli.args import Parser, exit_codes, whole_number

MIN_DEMO_ARTICLES = 20  # crawler.demo.site.build_site needs them for every kind of page


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


def _logging(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="log INFO (-vv: DEBUG) to stderr, Scrapy's and the libraries' lines included")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress line or summary")
    p.add_argument("--log-file", metavar="FILE", help="write the full log (INFO, or DEBUG with -vv) to FILE")


def _common(p: argparse.ArgumentParser, *, out: str = "DIR|s3://BUCKET/PREFIX",
            settings_help: str = "override a Scrapy or NEWSWARC_* setting (repeatable)") -> None:
    p.add_argument("--settings", metavar="FILE", help="run profile: a file, or a name in ./settings or the bundled "
                   "profiles (default: ./settings/default.toml, else the bundled default)")
    p.add_argument("--out", metavar=out, help="output location (overrides the profile's [output] uri)")
    p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help=settings_help)
    _logging(p)


def _crawl(sub: Any) -> None:
    p = sub.add_parser(
        "crawl", help="crawl one or more seeds",
        description="Crawl the news sites that seed files describe (robots.txt, sitemaps, feeds, sections), "
                    "archive every HTTP exchange as WARC, extract the articles and write text files and JSONL. "
                    "Runs are incremental: a second run fetches only what is new.",
        epilog=exit_codes(0, 1, 2, 3, 4, 130, 141))
    p.add_argument("seed", nargs="+", metavar="SEED",
                   help="a seed file, or a seed name (italy24press) looked up in $NEWSWARC_SEEDS_PATH, ./seeds, "
                        "then the bundled seeds (`newswarc seeds` lists them)")
    p.add_argument("--max-pages", type=whole_number(1, " (without --max-pages there is no limit)"), metavar="N",
                   help="stop scheduling new pages after N per seed, whatever the seed's max_pages (default: the "
                        "seed's max_pages, else no limit)")
    p.add_argument("--jsonl", metavar="-", choices=["-"], help="also stream article JSONL to stdout")
    _common(p)
    p.set_defaults(func="crawl:cmd_crawl")


def _demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo", help="serve the bundled demo news site and crawl it end to end",
        description="Serve \"The Demo Gazette\", a generated news site, on 127.0.0.1 (the bundled demo seed's "
                    "port when it is free) and crawl it with the bundled demo seed: a full run that needs no "
                    "network. Prints how many of the site's public articles the output holds.",
        epilog=exit_codes(0, 1, 2, 3, 4, 130))
    p.add_argument("--articles", type=whole_number(MIN_DEMO_ARTICLES), default=300, metavar="N",
                   help=f"articles on the demo site, at least {MIN_DEMO_ARTICLES} (default: %(default)s)")
    p.add_argument("--serve", action="store_true", help="only serve the demo site, until Ctrl-C (for manual crawls)")
    p.add_argument("--port", type=whole_number(1, maximum=65535), metavar="N",
                   help="serve the demo site on this port (default: the bundled demo seed's, 8642, when it is free, "
                        "else a free one); a busy N is an error")
    p.add_argument("--variants", action="store_true", help="add the dataset variants: 6 syndicated copies and "
                   "two paywalled articles (docs/datasets.md)")
    _common(p, out="DIR|s3://BUCKET/PREFIX (default: ./newswarc-demo)")
    p.set_defaults(func="demo:cmd_demo", out=None)


def _replay(sub: Any) -> None:
    p = sub.add_parser(
        "replay", help="re-extract articles offline from WARC/WACZ archives",
        description="Read WARC files (ours or others': wget, pywb, Heritrix), detect article pages and "
                    "extract them exactly as a crawl does, writing the same text files and JSONL. "
                    "With --crawl, run a seed's crawl with the archive as its network.",
        epilog=exit_codes(0, 2, 3, 130, 141, _1="damaged input was reported and skipped (with --crawl also: the "
                                           "crawl did not complete, or nothing it asked for was in the archive)",
                          _0="every input was read cleanly"))
    p.add_argument("source", nargs="+", metavar="SOURCE",
                   help="a .warc/.warc.gz/.arc/.arc.gz/.wacz file, a directory (searched recursively), a glob, or s3://BUCKET/PREFIX")
    p.add_argument("--jsonl", metavar="-|FILE", help="write article JSONL to stdout (-) or FILE")
    p.add_argument("--site", metavar="NAME", help="site name for output paths (default: the crawl's seed, "
                   "else --seed's name, else the URL host)")
    p.add_argument("--seed", metavar="SEED", help="a seed file or name: its article/deny URL patterns, "
                   "language and [extract] options")
    p.add_argument("--url-pattern", metavar="REGEX", help="only pages whose URL matches (re.search)")
    p.add_argument("--since", metavar="WHEN", help="only records with WARC-Date at or after WHEN: an ISO date "
                   "(2026-11-27, 2026-11-27T15:00:00Z) or a duration ago as in seeds (3d, 12h, 30m, 1w)")
    p.add_argument("--until", metavar="WHEN", help="only records with WARC-Date at or before WHEN (same forms; "
                   "a bare date includes that whole day)")
    p.add_argument("--workers", type=whole_number(0), metavar="N", help="extraction processes (default: all cores)")
    p.add_argument("--crawl", action="store_true", help="run --seed's crawl against the archive instead of the "
                   "network (link following and page classification as in a crawl; --since, --until, "
                   "--url-pattern and --site do not apply)")
    _common(p)
    p.set_defaults(func="replay:run_replay")


class _PortAction(argparse.Action):
    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option: Any = None) -> None:
        namespace.port, namespace.port_given = values, True


def _wacz(sub: Any) -> None:
    """``wacz`` and ``browse`` (crawler/cli/wacz.py runs them)."""
    p = sub.add_parser(
        "wacz", help="package archives as a WACZ file (ReplayWeb.page, pywb)",
        description="Write a WACZ 1.1.1 package: the WARC files as they are, a CDXJ index, the archived "
                    "articles and start pages as pages.jsonl, datapackage.json with every file's size and "
                    "sha256. Streamed: memory stays flat whatever the archive's size.",
        epilog=exit_codes(130, _0="written", _1="written, but damaged input was copied without an index entry, "
                          "or the package could not be written", _2="bad arguments"))
    p.add_argument("source", nargs="+", metavar="ARCHIVE|WARC",
                   help="a crawl's output directory (warc/ and articles/), another directory, or WARC files")
    p.add_argument("-o", "--output", required=True, metavar="FILE.wacz", help="the package to write")
    p.add_argument("--site", metavar="NAME", help="only this site's (seed's) captures and articles")
    p.add_argument("--since", metavar="DATE", help="only captures at or after DATE (ISO)")
    p.add_argument("--until", metavar="DATE", help="only captures at or before DATE (ISO; a bare date "
                   "includes that whole day)")
    p.add_argument("--text", action="store_true", help="put each article's text in pages.jsonl "
                   "(full-text search in ReplayWeb.page)")
    p.add_argument("--title", metavar="TEXT", help="the package's title")
    p.add_argument("--requires", action="append", metavar="WACZ",
                   help="an earlier run's package holding originals of this one's revisits (repeatable)")
    _logging(p)
    p.set_defaults(func="wacz:cmd_wacz")

    p = sub.add_parser(
        "browse", help="look at an archive in pywb: a list of the archived articles, each replayed",
        description="Start pywb on 127.0.0.1 over an archive (a crawl's output directory, WARC files or WACZ "
                    "packages) and print the URL of a page listing the archived articles (site, date, title, "
                    "link into the replay). Needs pywb: pip install 'newswarc[browse]' (make demo has it). "
                    "Ctrl-C stops it.",
        epilog=exit_codes(130, _0="stopped with Ctrl-C", _1="pywb could not start or stopped", _2="bad arguments"))
    p.add_argument("source", nargs="+", metavar="ARCHIVE|FILE.wacz",
                   help="a crawl's output directory, WARC files or .wacz files")
    p.add_argument("--port", type=int, default=8090, action=_PortAction,
                   help="port on 127.0.0.1 (default: %(default)s, or a free one when it is busy)")
    _logging(p)
    p.set_defaults(func="wacz:cmd_browse", port_given=False)


def _dataset(sub: Any) -> None:
    """``export`` and ``report`` (crawler/cli/dataset.py runs them)."""
    p = sub.add_parser(
        "export", help="export an archive's articles as Parquet or JSONL (for pandas, DuckDB, datasets)",
        description="Write every article of ARCHIVE (the latest version of each, or all with --versions) with "
                    "its provenance, partitioned as OUT/SITE/YYYY-MM/part-00000.FORMAT. docs/datasets.md has "
                    "the schema.",
        epilog=exit_codes(130, _0="written", _1="written, unreadable lines skipped", _2="bad arguments or no articles",
                          _3="unusable output"))
    p.add_argument("archive", metavar="ARCHIVE", help="a newswarc output directory or s3://BUCKET/PREFIX")
    p.add_argument("--format", choices=("parquet", "jsonl"), default="parquet", help="default: %(default)s")
    p.add_argument("--site", action="append", metavar="NAME", help="only this site (repeatable)")
    p.add_argument("--since", metavar="DATE", help="only articles published (else fetched) at or after DATE")
    p.add_argument("--until", metavar="DATE", help="only articles published (else fetched) at or before DATE")
    p.add_argument("--fields", action="append", metavar="A,B,...", help="only these columns (repeatable)")
    p.add_argument("--versions", action="store_true", help="every archived version, not only the latest")
    _common(p, out="DIR|s3://BUCKET/PREFIX")
    p.set_defaults(func="dataset:cmd_export")

    p = sub.add_parser(
        "report", help="compare each site's last runs and flag quality drops (exit 1 when one dropped)",
        description="Read the run reports of ARCHIVE and compare each site's last run with the runs before it: "
                    "a share of dated articles or a median length that falls by half is flagged.",
        epilog=exit_codes(130, _0="no drop", _1="a site dropped (named on stdout)", _2="no run reports or bad arguments"))
    p.add_argument("archive", metavar="ARCHIVE", help="a newswarc output directory or s3://BUCKET/PREFIX")
    p.add_argument("--html", metavar="FILE", help="also write an HTML report with a chart per site")
    p.add_argument("--settings", metavar="FILE", help="run profile (S3 endpoint and credentials for an s3:// ARCHIVE)")
    _logging(p)
    p.set_defaults(func="dataset:cmd_report")


def _no_out(p: argparse.ArgumentParser) -> None:
    """A profile and Scrapy settings (the Redis URL), no output location."""
    p.add_argument("--settings", metavar="FILE", help="run profile, e.g. settings/distributed.toml (the Redis URL; "
                   "also $NEWSWARC_REDIS_URL)")
    p.add_argument("-s", "--set", action="append", metavar="NAME=VALUE", help="override a Scrapy setting (repeatable)")
    _logging(p)


def _distributed(sub: Any) -> None:
    """``worker``, ``enqueue`` and ``status`` (crawler/cli/distributed.py runs them; docs/distributed.md)."""
    p = sub.add_parser(
        "worker", help="crawl from the shared frontier on Redis (any number, on any machine)",
        description="A worker of a distributed crawl: takes requests of every enqueued seed from Redis and "
                    "archives into its own WARC files (named by host and pid) in --out.",
        epilog=exit_codes(2, 130, _0="done (or drained after SIGTERM)", _1="a crawl did not complete",
                          _3="Redis unreachable or unusable output"))
    p.add_argument("seed", nargs="*", metavar="SEED", help="only these seeds (default: every enqueued seed)")
    p.add_argument("--until-idle", action="store_true", help="exit 0 once the shared frontier has been empty and "
                   "nothing in flight for a while (batch runs, tests); default: wait for new work")
    p.add_argument("--idle-seconds", type=float, metavar="S", help="how long 'a while' is (default: 10)")
    _common(p)
    p.set_defaults(func="distributed:cmd_worker")

    p = sub.add_parser(
        "enqueue", help="start a seed's crawl in the shared frontier (incremental)",
        description="Put the start requests of each SEED into the shared frontier on Redis; the workers crawl them.",
        epilog=exit_codes(130, _0="queued", _2="bad seed or arguments", _3="Redis unreachable"))
    p.add_argument("seed", nargs="+", metavar="SEED", help="a seed file or seed name")
    _no_out(p)
    p.set_defaults(func="distributed:cmd_enqueue")

    p = sub.add_parser(
        "status", help="the distributed crawl: queues per seed and domain, workers, articles, errors",
        description="What the shared frontier holds: queue depth per seed and per domain, workers alive, "
                    "articles archived, errors.",
        epilog=exit_codes(130, _0="printed", _2="bad arguments", _3="Redis unreachable"))
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _no_out(p)
    p.set_defaults(func="distributed:cmd_status")


def make_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="newswarc",
        description="Crawl news sites into faithful WARC archives, extract clean article text, "
                    "write it to disk or S3, and replay archives offline.",
        epilog=exit_codes(0, 1, 2, 3, 4, 130, 141) + " `newswarc COMMAND --help` says which a command returns.",
    )
    parser.add_argument("--version", action=_VersionAction,
                        help="print newswarc's version and those of the libraries it runs on")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _crawl(sub)
    _demo(sub)

    p = sub.add_parser(
        "index", help="write a CDXJ index (pywb format) of WARC/ARC/WACZ files",
        description="Index WARC, ARC and WACZ files as cdxj-indexer does, for pywb and ReplayWeb.page; a damaged "
                    "file is skipped with a one-line reason and the others are indexed (-o is written atomically).",
        epilog=exit_codes(0, 130, _1="some files were skipped (one line each)", _2="bad arguments, or no such SOURCE"))
    p.add_argument("warc", nargs="+", metavar="SOURCE",
                   help="a .warc/.warc.gz/.arc/.arc.gz/.wacz file, a directory (searched recursively) or a glob")
    p.add_argument("-o", "--output", metavar="FILE", help="index file (default: stdout)")
    p.set_defaults(func="archive:cmd_index")

    p = sub.add_parser(
        "sync", help="upload files waiting in the local spool to S3",
        description="Upload what a crawl left in the local spool when S3 was unreachable (a crawl that did so "
                    "exits with code 4), then remove it from the spool.",
        epilog=exit_codes(2, 3, 130, _0="every file was uploaded (or the output is local: nothing to do)",
                          _1="files still wait in the spool"))
    _common(p, out="s3://BUCKET/PREFIX",
            settings_help="override NEWSWARC_SPOOL_DIR or an NEWSWARC_S3_* setting (repeatable; nothing else applies)")
    p.set_defaults(func="archive:cmd_sync")

    p = sub.add_parser(
        "schedule", help="run seeds on their cron schedules (until SIGTERM)",
        description="A long-running scheduler: each seed with a `schedule` is crawled when its cron "
                    "expression (UTC) matches, never twice at once (a lock that holds across processes).",
        epilog=exit_codes(2, 3, 130, _0="stopped by SIGTERM (or after --max-runs runs)"))
    p.add_argument("seed", nargs="*", metavar="SEED",
                   help="seeds to schedule (default: every seed `newswarc seeds` lists)")
    p.add_argument("--max-runs", type=whole_number(1), metavar="N", help="exit after N runs (for testing)")
    _common(p)
    p.set_defaults(func="crawl:cmd_schedule")

    p = sub.add_parser(
        "seeds", help="validate and list seed files",
        description="Validate seed files and list them: name, file, start URLs, schedule. Without SEED, every "
                    "seed a name finds ($NEWSWARC_SEEDS_PATH, ./seeds, then the bundled seeds).",
        epilog=exit_codes(130, _0="every seed is valid", _2="a seed has problems (all of them are listed)"))
    p.add_argument("seed", nargs="*", metavar="SEED", help="a seed file or seed name (default: all)")
    p.set_defaults(func="crawl:cmd_seeds")

    _replay(sub)
    _wacz(sub)
    _dataset(sub)
    _distributed(sub)
    return parser
