"""Every newswarc setting checked when a command starts: one line naming it, exit 2.

Scrapy reads settings lazily, where they are used: a bad value then surfaced as a Twisted
traceback half-way through start-up, or, worse, as a silent zero (``[extract] timeout = 0``
extracted nothing and exited 0). :func:`check_settings` reads each one as its user will and
refuses what is out of range before anything runs.
"""

from __future__ import annotations

from typing import Any

from crawler.safepath import check_name


def label(setting: str) -> str:
    """``NEWSWARC_ARCHIVE_PREFIX ([archive] prefix)``: the setting and its profile key, when it has one."""
    from crawler.config import PROFILE_KEYS

    for section, keys in PROFILE_KEYS.items():
        for key, (name, _) in keys.items():
            if name == setting:
                return f"{setting} ([{section}] {key})"
    return setting


def check_settings(settings: Any) -> None:
    """Raise :class:`ConfigError` (exit 2) for the first setting that is malformed or out of range."""
    check_name(settings.get("NEWSWARC_ARCHIVE_PREFIX") or "newswarc", label("NEWSWARC_ARCHIVE_PREFIX"))
    if run_id := settings.get("NEWSWARC_RUN_ID"):
        check_name(run_id, label("NEWSWARC_RUN_ID"))
