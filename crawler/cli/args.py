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

EXIT_CONFIG = 2
EXIT_CODES = {
    0: "done",
    1: "the work did not complete (reason on one line)",
    2: "bad seed, profile or arguments",
    3: "unusable output location",
    4: "done, but files wait in the local spool (run `newswarc sync`)",
    130: "interrupted",
    141: "the reader of `--jsonl -` closed stdout (the output and state stay consistent; rerun to go on)",
}


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
