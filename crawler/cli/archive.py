"""``newswarc index`` and ``newswarc sync``: commands on an archive that is already written."""

from __future__ import annotations

import argparse
import sys

from crawler.cli.crawl import EXIT_INCOMPLETE, EXIT_OK, CliError, build_settings, hold_output_lock
from crawler.storage import open_storage
from crawler.warc.cdxj import index_sources, write_cdxj_file
from crawler.warc.sources import open_sources


def cmd_index(args: argparse.Namespace) -> int:
    """``newswarc index``: 0 when every file was indexed, 1 when some were skipped (one line each)."""
    try:
        source_set = open_sources(args.warc)  # index takes no --settings: S3 from the environment
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    try:
        with index_sources(source_set) as (lines, result):  # every file read: the sorted lines follow
            for warning in result.warnings:
                print(f"newswarc: index: {warning}", file=sys.stderr)
            for name, reason in result.skipped:
                print(f"newswarc: index: {name}: skipped: {reason}", file=sys.stderr)
            if args.output in (None, "-"):
                for line in lines:
                    sys.stdout.write(line + "\n")
            else:
                try:
                    write_cdxj_file(lines, args.output)
                except OSError as exc:
                    raise CliError(f"-o {args.output}: cannot write: {exc.strerror or exc}") from None
    finally:
        source_set.close()
    files = len(result.indexed) + len(result.skipped)
    print(f"{result.lines} index lines from {len(result.indexed)} of {files} archive files"
          + (f" ({len(result.skipped)} skipped)" if result.skipped else ""), file=sys.stderr)
    return EXIT_INCOMPLETE if result.skipped else EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from crawler.storage.s3.storage import sync_spool  # start-up: boto3 (~0.2 s) loads only for s3:// outputs

    settings = build_settings(args)
    uri = settings.get("NEWSWARC_OUTPUT_URI")
    if not str(uri).startswith("s3://"):
        print(f"{uri}: local output, nothing to sync", file=sys.stderr)
        return EXIT_OK
    # no crawl of this machine may write the spool while it is synced (the spool is this machine's)
    hold_output_lock(open_storage(uri, settings), lease=False)
    uploaded, waiting = sync_spool(uri, settings)
    print(f"{uploaded} files uploaded to {uri}, {waiting} still waiting in the spool", file=sys.stderr)
    return EXIT_OK if waiting == 0 else EXIT_INCOMPLETE
