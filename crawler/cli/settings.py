"""Scrapy settings for a command: project defaults < profile < command-line flags.

Apart from :mod:`crawler.cli.crawl` so that a command that crawls nothing (``export``,
``report``) starts without the crawl's stack (Twisted's reactor, the extraction pool,
trafilatura): its peak memory is mostly what it imported.
"""

from __future__ import annotations

import argparse
from typing import Any

from scrapy.settings import Settings

from crawler.cli.args import CliError
from crawler.cli.logs import log_file_handler
from crawler.config.check import check_setting_name, check_settings
from crawler.config.profiles import default_profile, find_profile, load_profile


def build_settings(args: argparse.Namespace) -> Any:
    """Scrapy settings: project defaults < profile < command-line flags."""

    settings = Settings()
    settings.setmodule("crawler.config.settings", priority="project")
    profile = getattr(args, "settings", None)
    profile = find_profile(profile) if profile is not None else default_profile()
    if profile is not None:
        settings.setdict(load_profile(profile), priority="project")
    if getattr(args, "out", None):
        settings.set("NEWSWARC_OUTPUT_URI", args.out, priority="cmdline")
    if getattr(args, "max_pages", None):
        settings.set("NEWSWARC_CRAWL_MAX_PAGES", args.max_pages, priority="cmdline")
    if getattr(args, "jsonl", None) == "-":
        settings.set("NEWSWARC_OUTPUT_JSONL_STDOUT", True, priority="cmdline")
    for item in getattr(args, "set", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.isupper():
            raise CliError(f"-s {item}: expected NAME=VALUE with an upper-case Scrapy setting name")
        check_setting_name(key)
        settings.set(key, value, priority="cmdline")
    settings.set("LOG_LEVEL", "DEBUG" if args.verbose > 1 else "INFO" if args.verbose else
                 ("ERROR" if args.quiet else "WARNING"), priority="cmdline")
    if getattr(args, "log_file", None):
        log_file_handler(args.log_file, args.verbose).close()  # one line if it cannot be written, not Scrapy's traceback
        settings.set("LOG_FILE", args.log_file, priority="cmdline")
        settings.set("LOG_LEVEL", "DEBUG" if args.verbose > 1 else "INFO", priority="cmdline")
    check_settings(settings)  # one line and exit 2 for a bad value, before anything starts
    return settings
