"""``newswarc index`` and ``newswarc sync``: commands on an archive that is already written."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawler.cli.crawl import EXIT_INCOMPLETE, EXIT_OK, CliError, build_settings, hold_output_lock
from crawler.storage import open_storage
from crawler.warc.cdxj import write_cdxj


def cmd_index(args: argparse.Namespace) -> int:
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
