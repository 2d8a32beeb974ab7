"""The ``newswarc export`` and ``newswarc report`` sub-commands.

``export`` exit codes: 0 written; 1 written, but unreadable JSONL lines were skipped (each
logged); 2 bad arguments or no articles in ARCHIVE; 3 an unusable output location.
``report`` exit codes: 0 no site dropped; 1 a site's quality dropped (named on stdout, for cron);
2 bad arguments or no run reports with quality tables in ARCHIVE.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from crawler.cli.args import CliError
from crawler.cli.settings import build_settings
from crawler.dataset.export import ExportError, ExportOptions, check_fields, export
from crawler.dataset.html_report import pct, render_html
from crawler.dataset.quality import compare_runs
from crawler.storage import open_storage
from crawler.warc.sources import SourceSettings

logger = logging.getLogger(__name__)


def _storage(uri: str, settings: Any, *, read_only: bool = False) -> Any:
    """The storage at ``uri``; one only read from never claims the spool directory of the output."""
    return open_storage(uri, SourceSettings(settings) if read_only else settings)


def cmd_export(args: argparse.Namespace) -> int:
    check_fields(args.fields)
    since = until = None
    if args.since or args.until:
        # only with a date filter: the replay module brings the extraction stack (trafilatura, its
        # language model), which a plain export does not need (its peak memory is what it imports)
        from crawler.replay.options import ReplayError, parse_when
        try:
            since = parse_when(args.since) if args.since else None
            until = parse_when(args.until, end=True, flag="--until") if args.until else None
        except ReplayError as exc:
            raise ExportError(str(exc)) from None
    options = ExportOptions(format=args.format, sites=tuple(args.site or ()), since=since, until=until,
                            fields=args.fields, versions=args.versions)
    settings = build_settings(args)
    archive = _storage(args.archive, settings, read_only=True)
    out = _storage(args.out or f"{args.archive.rstrip('/')}-{args.format}", settings)
    out.check()
    try:
        result = export(archive, out, options)
    except OSError as exc:
        print(f"newswarc: export failed: {exc}", file=sys.stderr)
        return 1
    finally:
        out.close()
    if not args.quiet:
        print(f"Exported {result.rows} articles to {len(result.files)} {args.format} file(s) in {out.display()}"
              f" ({result.superseded} older versions left out, {result.filtered} rows filtered out,"
              f" {result.skipped_lines} unreadable lines skipped)", file=sys.stderr)
    return 1 if result.skipped_lines else 0


def _read_reports(archive: Any) -> list[dict[str, Any]]:
    reports = []
    for key in archive.list("runs/"):
        if not key.endswith(".json"):
            continue
        try:
            with archive.open_read(key) as fh:
                report = json.loads(fh.read())
        except (OSError, ValueError) as exc:
            logger.warning("%s: unreadable run report skipped (%s)", archive.display(key), exc)
            continue
        quality = report.get("quality") if isinstance(report, dict) else None
        if isinstance(quality, dict) and quality.get("sites"):  # a replay's table is empty: {"sites": {}}
            reports.append(report)
    return reports


def cmd_report(args: argparse.Namespace) -> int:
    archive = _storage(args.archive, build_settings(args), read_only=True)
    reports = _read_reports(archive)
    if not reports:
        raise CliError(f"{archive.display('runs/')}: no run reports with a quality table")
    verdicts = compare_runs(reports)
    for v in verdicts:
        last = v.runs[-1].quality
        state = "DROP" if v.flagged else "ok"
        print(f"{state:4} {v.site}: {len(v.runs)} run(s); last: {last.get('articles', 0)} articles, "
              f"dated {pct(last.get('share_dated'))}, median {last.get('median_words') or 0:g} words"
              + "".join(f"\n     {d}" for d in v.drops))
    if args.html:
        try:
            with open(args.html, "w", encoding="utf-8") as fh:
                fh.write(render_html(verdicts, archive.display()))
        except OSError as exc:
            print(f"newswarc: cannot write {args.html}: {exc}", file=sys.stderr)
            return 2
    return 1 if any(v.flagged for v in verdicts) else 0

