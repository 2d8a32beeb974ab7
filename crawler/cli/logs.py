"""What reaches the terminal at each log level.

By default the user reads newswarc's own lines (``newswarc: ...``), without timestamps or
tracebacks; Scrapy's, Twisted's, botocore's and tldextract's lines appear only with ``-v`` (or
in ``--log-file``). What they mean that matters reaches the user through newswarc's own lines
(a failed fetch, in plain words) and the end-of-run summary.
"""

from __future__ import annotations

import logging

from crawler.errors import UsageError

OWN = ("crawler", "newswarc")
# third-party ERRORs that newswarc reports in its own words (a fetch that failed): not counted as hidden
EXPLAINED = ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt", "scrapy.core.scraper")
VERBOSE_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


class OwnLinesOnly(logging.Filter):
    """Passes newswarc's own records; counts the third-party errors it holds back."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden_errors = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] in OWN:
            return True
        if record.levelno >= logging.ERROR and not record.name.startswith(EXPLAINED):
            self.hidden_errors += 1
        return False


class PlainFormatter(logging.Formatter):
    """``newswarc: message`` (``newswarc: error: message``); never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        level = "error: " if record.levelno >= logging.ERROR else ""
        return f"newswarc: {level}{record.getMessage()}"


def level_for(verbose: int, quiet: bool) -> int:
    return logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING


def log_file_handler(path: str, verbose: int) -> logging.FileHandler:
    """``--log-file``'s handler: the full log (INFO, DEBUG with -vv), appended to as Scrapy's LOG_FILE
    is. A FILE that cannot be written is one line (exit 2), not the traceback of logging's open."""
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--log-file {path}: cannot write: {exc.strerror or exc}") from None
    handler.setFormatter(logging.Formatter(VERBOSE_FORMAT))
    handler.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    return handler


def plain_default(handler: logging.Handler, verbose: int) -> OwnLinesOnly | None:
    """At the default level, ``handler`` shows newswarc's own lines only, plainly; returns the filter."""
    if verbose:
        return None
    own = OwnLinesOnly()
    handler.addFilter(own)
    handler.setFormatter(PlainFormatter())
    return own


def hidden_note(own: OwnLinesOnly | None) -> str | None:
    """The line that says library errors were held back, when some were."""
    if own is None or not own.hidden_errors:
        return None
    n = own.hidden_errors
    return (f"newswarc: {n} error{'' if n == 1 else 's'} from Scrapy or a library {'was' if n == 1 else 'were'} "
            "not shown; run with -v (or --log-file FILE) to see them")
