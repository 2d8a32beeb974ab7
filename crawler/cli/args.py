"""The parser's own rules for the user: one line per mistake, exit code 2, ranges checked.

argparse prints its usage block and ``error:`` line; newswarc prints one line that names the
command, the argument and the problem (with the close command name for a typo) and points at
``--help``.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Callable
from typing import NoReturn

from crawler.errors import UsageError

# the exit codes of every command (each command's --help lists those it returns)
EXIT_OK, EXIT_INCOMPLETE, EXIT_CONFIG, EXIT_STORAGE, EXIT_SPOOLED, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_STDOUT_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for `yes | head`
EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_INCOMPLETE: "the work did not complete (reason on one line)",
    EXIT_CONFIG: "bad seed, profile or arguments",
    EXIT_STORAGE: "unusable output location",
    EXIT_SPOOLED: "done, but files wait in the local spool (run `newswarc sync`)",
    EXIT_INTERRUPTED: "interrupted",
    EXIT_STDOUT_CLOSED: "the reader of `--jsonl -` closed stdout (the output and state stay consistent; rerun to go on)",
}


class CliError(UsageError):
    """Arguments that cannot be used (together, or for what they name): one line, exit code 2."""


def exit_codes(*codes: int, **meaning: str) -> str:
    """The ``Exit codes:`` epilog of a command: the codes it can return, with what they mean there."""
    words = {**{str(c): EXIT_CODES[c] for c in codes}, **{k.lstrip("_"): v for k, v in meaning.items()}}
    return "Exit codes: " + "; ".join(f"{code} {text}" for code, text in sorted(words.items(), key=lambda i: int(i[0]))) + "."


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"^argument ([^:]+): ", lambda m: f"{m.group(1).split('/')[-1]}: ", message)
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            given, listed = choice.group(1), choice.group(2)
            options = re.findall(r"'([^']*)'", listed) or [c.strip() for c in listed.split(",")]
            close = difflib.get_close_matches(given, options, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            if message.startswith("COMMAND:"):
                message = f"unknown command {given!r}{hint} (commands: {', '.join(options)})"
            else:
                message = message[:choice.start()] + f"{given!r} is not one of {', '.join(options)}{hint}"
        self.exit(EXIT_CONFIG, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def whole_number(minimum: int, why: str = "", *, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an int of at least ``minimum`` (``why`` says what a smaller one would mean)
    and, when given, at most ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {value}{why}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"expected a whole number <= {maximum}, got {value}")
        return value

    parse.__name__ = "whole number"
    return parse
