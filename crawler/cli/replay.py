"""``newswarc replay``: re-extract articles from WARC archives, or crawl a seed against them (``--crawl``)."""

from __future__ import annotations

import argparse
import collections
import contextlib
import logging
import re
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

from crawler.cli.crawl import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    build_settings,
    check_output,
    load_seeds,
    print_summary,
    run_crawl,
    stdout_closed,
)
from crawler.cli.progress import LiveLine, replay_head
from crawler.cli.summary import plural
from crawler.config.check import max_workers
from crawler.config.seeds import load_seed
from crawler.output.writer import stdout_stream
from crawler.replay.api import replay
from crawler.replay.options import (
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_DECODED,
    ReplayError,
    ReplayOptions,
    ReplayResult,
    parse_when,
)
from crawler.replay.replayer import STATS, Progress
from crawler.warc.sources import open_sources


def run_replay(args: argparse.Namespace) -> int:
    """``newswarc replay``: a replay of WARC records, or with ``--crawl`` a crawl served by them."""
    if args.crawl:  # a Scrapy crawl: it logs through Scrapy's root handler
        return cmd_replay_crawl(args)
    return cmd_replay(args)  # its log: crawler.cli.main (stderr at the -v/-q level, --log-file)


def summary(result: ReplayResult) -> str:
    """The end-of-run lines for stderr: counts, skips by reason, damage."""
    s = result.stats
    get = lambda key: s.get(STATS + key, 0)  # noqa: E731
    lines = [f"replay: {plural(get('sources'), 'source')}, {plural(get('records'), 'record')}, "
             f"{plural(get('html_pages'), 'HTML page')}, {plural(get('pages/article'), 'article page')}, "
             f"{plural(get('articles'), 'article')} written, {get('corrupt'):,} damaged"]
    for group in ("skipped/", "extract/skipped/", "duplicates/", "revisits/"):
        parts = [f"{k[len(STATS) + len(group):]} {v}" for k, v in sorted(s.items()) if k.startswith(STATS + group)]
        if parts:
            lines.append(f"  {group.rstrip('/').replace('/', ' ')}: " + ", ".join(parts))
    return "\n".join(lines)


def options_from_args(args: Any, settings: Any = None) -> ReplayOptions:
    """Build :class:`ReplayOptions` from the parsed ``newswarc replay`` arguments."""
    seed = None
    if getattr(args, "seed", None):
        seed = load_seed(args.seed)
    pattern = None
    if getattr(args, "url_pattern", None):
        try:
            pattern = re.compile(args.url_pattern)
        except re.error as exc:
            raise ReplayError(f"--url-pattern {args.url_pattern!r}: not a valid regular expression ({exc})") from None
    get = settings.get if settings is not None else (lambda name, default=None: default)
    workers = args.workers if getattr(args, "workers", None) is not None else int(get("NEWSWARC_EXTRACT_WORKERS", 0) or 0)
    if not 0 <= workers <= max_workers():
        raise ReplayError(f"--workers {workers}: must be 0 (all cores) to {max_workers()} (each worker holds "
                          f"~150 MB)")
    return ReplayOptions(
        site=getattr(args, "site", None),
        seed=seed,
        url_pattern=pattern,
        since=parse_when(args.since) if getattr(args, "since", None) else None,
        until=parse_when(args.until, end=True, flag="--until") if getattr(args, "until", None) else None,
        workers=workers,
        timeout=float(get("NEWSWARC_EXTRACT_TIMEOUT", 60) or 60),
        max_body=int(get("NEWSWARC_ARCHIVE_MAX_BODY", DEFAULT_MAX_BODY) or DEFAULT_MAX_BODY),
        max_decoded=int(get("NEWSWARC_ARCHIVE_MAX_DECODED", DEFAULT_MAX_DECODED) or DEFAULT_MAX_DECODED),
    )


def cmd_replay(args: Any) -> int:
    """The ``newswarc replay`` command: 0 when every input was read cleanly, 1 when any was damaged."""
    settings = build_settings(args)
    options = options_from_args(args, settings)
    if args.out:  # a usable output (else one line, exit 3), then its lock: one writer per output at a time
        check_output(settings, uri=args.out)
    line = LiveLine("records") if not args.quiet else None
    progress = _live(line) if line is not None and line.enabled else None
    jsonl_target = getattr(args, "jsonl", None)
    if jsonl_target == "-":
        result = replay(args.source, out=args.out, jsonl=stdout_stream(), options=options, settings=settings,
                        progress=progress)
    elif jsonl_target:
        try:
            stream = open(jsonl_target, "w", encoding="utf-8")
        except OSError as exc:
            raise ReplayError(f"--jsonl {jsonl_target}: cannot write: {exc.strerror}") from None
        with stream:
            result = replay(args.source, out=args.out, jsonl=stream, options=options, settings=settings,
                            progress=progress)
    else:
        result = replay(args.source, out=args.out, options=options, settings=settings, progress=progress)
    if line is not None:
        line.stop()
    if not args.quiet:
        print(summary(result), file=sys.stderr)
    if jsonl_target == "-" and stdout_stream().closed:
        return stdout_closed(f"the replay stopped; {plural(result.articles, 'article')} written to {args.out}"
                             if args.out else "the replay stopped")
    if not result.clean:
        print(f"newswarc: replay: {plural(len(result.corrupt), 'damaged place')} in the input skipped "
              f"({plural(result.stats.get(STATS + 'sources/unreadable', 0), 'unreadable source')})", file=sys.stderr)
    return EXIT_OK if result.clean else EXIT_INCOMPLETE


def _live(line: LiveLine) -> Progress:
    """The replayer's progress callback: records, articles and damage on the live line."""

    def show(stats: Mapping[str, int], final: bool) -> None:
        if final:
            line.stop()
            return
        line.start()
        line.update(*replay_head(dict(stats), STATS))

    return show


CRAWL_REPLAY_SETTINGS = {
    "NEWSWARC_ARCHIVE_ENABLED": False,  # an archive is not archived again
    "NEWSWARC_STATE_ENABLED": False,  # no URL is skipped for having been seen by an earlier run
    "AUTOTHROTTLE_ENABLED": False,  # no politeness towards a local archive
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 64,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 64,
    "RETRY_ENABLED": False,  # an archived 5xx answers the same every time
    "HTTPCACHE_ENABLED": False,  # it would answer before the archive (900 < 950)
}


_OFF_ON_PURPOSE = ("crawler.crawl.capture.WarcCapture", "crawler.crawl.outlinks.OutlinkRecorder",
                   "crawler.crawl.middlewares.IncrementalRedirectMiddleware")


def _not_off_on_purpose(record: logging.LogRecord) -> bool:
    """Drop Scrapy's "Disabled <component>" warnings for what ``--crawl`` turns off itself."""
    message = record.getMessage()
    return not (message.startswith("Disabled ") and any(name in message for name in _OFF_ON_PURPOSE))


def cmd_replay_crawl(args: Any) -> int:
    """``newswarc replay --crawl``: the seed's normal crawl, answered from the archive; exit as a crawl, 1 on damage."""
    if not args.seed:
        raise ReplayError("replay --crawl needs --seed SEED: its start URLs are where the crawl begins")
    for flag in ("since", "until", "url_pattern", "site"):
        if getattr(args, flag, None):
            raise ReplayError(f"--{flag.replace('_', '-')} cannot be used with --crawl: the crawl decides what it "
                              "visits and names its output by the seed")
    if not args.out and not args.jsonl:
        raise ReplayError("replay: nothing to write; give --out DIR|s3://BUCKET/PREFIX and/or --jsonl -|FILE")
    seeds = load_seeds([args.seed])
    settings = build_settings(args)
    try:
        open_sources(args.source, settings).close()  # a missing SOURCE is a user error, before crawling
    except FileNotFoundError as exc:
        raise ReplayError(str(exc)) from None
    settings.setdict({**CRAWL_REPLAY_SETTINGS, "NEWSWARC_REPLAY_SOURCES": list(args.source)}, priority="cmdline")
    if args.workers is not None:
        if not 0 <= args.workers <= max_workers():
            raise ReplayError(f"--workers {args.workers}: must be 0 (all cores) to {max_workers()}")
        settings.set("NEWSWARC_EXTRACT_WORKERS", args.workers, priority="cmdline")
    with contextlib.ExitStack() as stack:
        if not args.out:  # JSONL only: the text files go to a directory removed afterwards
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="newswarc-replay-"))
            settings.set("NEWSWARC_OUTPUT_URI", tmp, priority="cmdline")
            settings.set("NEWSWARC_OUTPUT_TEXT_FILES", False, priority="cmdline")
        if args.jsonl and args.jsonl != "-":  # the pipeline streams JSONL to stdout: here, the file
            try:
                stream = stack.enter_context(open(args.jsonl, "w", encoding="utf-8"))
            except OSError as exc:
                raise ReplayError(f"--jsonl {args.jsonl}: cannot write: {exc.strerror}") from None
            stack.enter_context(contextlib.redirect_stdout(stream))
            settings.set("NEWSWARC_OUTPUT_JSONL_STDOUT", True, priority="cmdline")
        check_output(settings)
        scrapy_components = logging.getLogger("scrapy.middleware")
        scrapy_components.addFilter(_not_off_on_purpose)
        stack.callback(scrapy_components.removeFilter, _not_off_on_purpose)
        code, reports = run_crawl(seeds, settings, progress=not args.quiet)
    counts: collections.Counter[str] = collections.Counter()
    for report in reports:
        counts.update(report.get("replay", {}))
    if not args.quiet:
        if args.out:
            print_summary(reports)
        articles = sum(r["counts"]["articles"] for r in reports)
        print(f"replay --crawl: {articles} articles; {counts['served']} responses served from the archive, "
              f"{counts['missing']} requests missing from it ({counts['urls']} URLs indexed in {counts['sources']} "
              f"source{'' if counts['sources'] == 1 else 's'}, "
              f"{counts['unreadable']} unreadable, {counts['corrupt']} damaged)", file=sys.stderr)
    if code == EXIT_OK and reports and not counts["served"]:
        print(f"newswarc: replay --crawl: no request of seed {seeds[0].name} was in the archive "
              f"(start URLs: {', '.join(seeds[0].start_urls)})", file=sys.stderr)
        return EXIT_INCOMPLETE
    if code == EXIT_OK and counts["corrupt"]:
        print(f"newswarc: replay --crawl: {plural(counts['corrupt'], 'damaged place')} in the input skipped",
              file=sys.stderr)
        return EXIT_INCOMPLETE
    return code
