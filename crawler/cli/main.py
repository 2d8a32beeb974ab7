"""The ``newswarc`` command: logging set-up and the one place exceptions become exit codes.

The exit codes are those of :data:`crawler.cli.args.EXIT_CODES` (one table for every command).

Each command group has its own module (``crawl``, ``demo``, ``archive``, ``replay``), the parser
its own (``parser``); this one runs the command the parser names.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from crawler.cli.args import EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_STDOUT_CLOSED
from crawler.cli.logs import VERBOSE_FORMAT, level_for, log_file_handler, plain_default
from crawler.cli.parser import make_parser
from crawler.errors import NewswarcError
from crawler.urls import RedactCredentials


def _command(target: str) -> Any:
    """``module:function`` of a command, imported when it runs: a dependency that fails to import
    is then an ImportError inside :func:`main` (one line), and ``--help`` does not load Scrapy."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(f"crawler.cli.{module}"), name)


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


def command_log_handlers(args: Any) -> list[logging.Handler]:
    """The log of a command that does not crawl: stderr at the -v/-q level (``schedule``: INFO, its
    runs), and with ``--log-file`` the full log in FILE, as a crawl writes it."""
    verbose, quiet = getattr(args, "verbose", 0), getattr(args, "quiet", False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(VERBOSE_FORMAT))
    plain_default(handler, verbose)
    handler.setLevel(level_for(verbose, quiet) if args.command != "schedule" or quiet or verbose else logging.INFO)
    handlers: list[logging.Handler] = [handler]
    if getattr(args, "log_file", None):
        handlers.append(log_file_handler(args.log_file, verbose))
    return handlers


_LATE_POSITIONALS = {"replay": "source", "index": "warc"}  # commands whose SOURCEs may come after options


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # `replay A --since X B`: sources may follow options
        target = _LATE_POSITIONALS.get(args.command)
        if target is None or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        getattr(args, target).extend(extra)
    if args.command == "demo" and not args.out:
        args.out = "newswarc-demo"
    try:
        # crawls (replay --crawl and workers too) log through Scrapy's root handler, set up in cli/crawl.py
        if args.command not in ("crawl", "demo", "worker") and not getattr(args, "crawl", False):
            handlers = command_log_handlers(args)
            logging.basicConfig(level=min(h.level for h in handlers), handlers=handlers)
            for h in logging.getLogger().handlers:
                h.addFilter(RedactCredentials())  # no password of a URL in any log line
        code = _command(args.func)(args)
        sys.stdout.flush()  # a closed pipe shows here, not as an "Exception ignored" at interpreter exit
        return code
    except ImportError as exc:
        if getattr(args, "verbose", 0):
            traceback.print_exc()
        print(f"newswarc: {import_failure(exc)}", file=sys.stderr)
        return EXIT_INCOMPLETE
    except NewswarcError as exc:  # one line per problem (a seed file may have several)
        for line in str(exc).splitlines():
            print(f"newswarc: {line}", file=sys.stderr)
        return exc.exit_code  # ConfigError and UsageError: EXIT_CONFIG
    except KeyboardInterrupt:
        print("newswarc: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `newswarc index A.warc | head`: quiet, and 141 as a shell reports `yes | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_STDOUT_CLOSED


if __name__ == "__main__":
    sys.exit(main())
