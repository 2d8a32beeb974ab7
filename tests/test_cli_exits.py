"""The CLI's one exit-code table, and the command-line mends of the review (priorities, typos, paths)."""

from __future__ import annotations

import crawler.cli.crawl
import crawler.replay.replayer
import crawler.warc.wacz
from crawler.cli.args import EXIT_CODES
from crawler.errors import NewswarcError

LOADED = (crawler.cli.crawl, crawler.replay.replayer, crawler.warc.wacz)  # the commands' error classes


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_user_error_exits_with_a_code_of_the_table():
    """An exception class's ``exit_code`` is one the ``Exit codes:`` help explains."""
    for cls in [NewswarcError, *_subclasses(NewswarcError)]:
        assert cls.exit_code in EXIT_CODES, cls
