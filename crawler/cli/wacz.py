"""``newswarc wacz`` and ``newswarc browse``: packages for archivists, and a look at them in pywb."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawler.cli.crawl import EXIT_INCOMPLETE, EXIT_OK, CliError
from crawler.replay.browse import browse
from crawler.replay.options import parse_when
from crawler.warc.wacz import WaczError, WaczInputError, WaczOptions, write_wacz
from crawler.warc.wacz_inputs import local_inputs

MAX_LISTED = 20  # damaged records listed one per line; the rest are counted


def cmd_wacz(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.suffix != ".wacz":
        raise WaczInputError(f"{out}: a WACZ file name must end in .wacz")
    inputs, articles = local_inputs(args.source)
    opts = WaczOptions(site=args.site, since=parse_when(args.since) if args.since else None,
                       until=parse_when(args.until, end=True, flag="--until") if args.until else None, text=args.text,
                       title=args.title, earlier=[Path(p) for p in args.requires or []])
    for p in opts.earlier:
        if not p.is_file():
            raise WaczInputError(f"{p}: no such WACZ file (--requires)")
    try:
        summary = write_wacz(inputs, out, articles=articles, options=opts)
    except OSError as exc:  # the output's directory cannot be made or written, the disk is full
        raise WaczError(f"-o {out}: cannot write: {exc.strerror or exc}") from None
    if not args.quiet:
        index = "ZipNum index" if summary.zipnum else "index"
        print(f"{out}: {summary.warcs} WARC files, {summary.records} records, {summary.index_lines} {index} lines, "
              f"{summary.pages} pages, {summary.bytes:,} bytes", file=sys.stderr)
        if summary.requires:
            print(f"  revisits resolved by: {', '.join(r['name'] for r in summary.requires)}", file=sys.stderr)
    if summary.unresolved_revisits:
        print(f"  {summary.unresolved_revisits} revisit(s) refer to captures in no given package "
              "(name the earlier run's WACZ with --requires)", file=sys.stderr)
    for note in summary.warnings[:MAX_LISTED]:  # as `newswarc index`: the record was read and indexed
        print(f"newswarc: wacz: {note.source}: offset {note.offset}: {note.message}", file=sys.stderr)
    if len(summary.warnings) > MAX_LISTED:
        print(f"  ... and {len(summary.warnings) - MAX_LISTED} more warnings", file=sys.stderr)
    for damage in summary.damaged[:MAX_LISTED]:
        print(f"  damaged: {damage.source} at {damage.offset}: {damage.message} (copied, not indexed)",
              file=sys.stderr)
    if len(summary.damaged) > MAX_LISTED:
        print(f"  ... and {len(summary.damaged) - MAX_LISTED} more damaged records", file=sys.stderr)
    return EXIT_INCOMPLETE if summary.damaged else EXIT_OK


def cmd_browse(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:  # bind() would raise OverflowError (a traceback) on 99999
        raise CliError(f"--port {args.port}: a port is 1 to 65535")
    return browse(args.source, port=args.port, port_given=args.port_given, quiet=args.quiet)
