"""``newswarc demo``: serve the bundled demo news site and crawl it end to end."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy.settings import SETTINGS_PRIORITIES

from crawler.cli.crawl import EXIT_OK, build_settings, check_output, print_summary, run_crawl
from crawler.cli.summary import demo_line
from crawler.config.seeds import Seed, bundled_dir, load_seed
from crawler.demo._variants import add_paywalled, add_syndicated
from crawler.demo.server import DemoServer
from crawler.demo.site import build_site
from crawler.errors import NewswarcError

logger = logging.getLogger("newswarc")


@contextlib.contextmanager
def _demo_server(site: Any, seed: Any, port: int | None = None) -> Iterator[Any]:
    """The demo server on ``port`` (``--port``: busy is an error), else on the seed's own port when
    it is free, else on any free port.

    On the seed's port the archive's URLs are the bundled seed's, so ``newswarc replay --crawl
    --seed demo`` finds them; a busy port (another demo running) must not stop the demo. A given
    port keeps the URLs the same from one run to the next whatever else is running.
    """
    server = None
    if port is not None:
        try:
            server = DemoServer(site, port=port).start()
        except OSError as exc:
            raise NewswarcError(f"--port {port}: cannot serve the demo site there ({exc.strerror or exc})") from None
    elif port := (urlsplit(seed.start_urls[0]).port if seed.start_urls else None):
        try:
            server = DemoServer(site, port=port).start()
        except OSError:
            logger.info("port %d is busy: the demo site is served on a free port", port)
    server = server or DemoServer(site).start()
    try:
        yield server
    finally:
        server.stop()


def cmd_demo(args: argparse.Namespace) -> int:
    site = build_site(args.articles)
    if getattr(args, "variants", False):
        add_syndicated(site, 6)
        add_paywalled(site, "truncated")
        add_paywalled(site, "full")
    seed_file = bundled_dir("seeds") / "demo.toml"  # the bundled demo seed, from any directory
    base = Seed(name="demo", start_urls=("http://127.0.0.1/",), allowed_domains=("127.0.0.1",), language="en")
    seed = load_seed(seed_file) if seed_file.exists() else base
    with _demo_server(site, seed, getattr(args, "port", None)) as server:
        seed = seed.with_start_urls([server.url + "/"])
        print(f"Demo news site ({len(site.articles)} articles) serving at {server.url}/", file=sys.stderr)
        if args.serve:
            print("Serving until Ctrl-C.", file=sys.stderr)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return EXIT_OK
        args.max_pages = None
        settings = build_settings(args)
        # our own server on loopback: no need to wait for AutoThrottle's latency probes. Above the
        # profile (which sets it at "project" priority), below the user's own -s AUTOTHROTTLE_ENABLED=...
        if (settings.getpriority("AUTOTHROTTLE_ENABLED") or 0) < SETTINGS_PRIORITIES["cmdline"]:
            settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
        check_output(settings)
        public = sum(1 for a in site.articles if not a.private)
        code, reports = run_crawl([seed], settings, progress=not args.quiet, total_articles=public)
    if args.quiet:
        return code
    extracting = settings.getbool("NEWSWARC_EXTRACT_ENABLED", True)
    print_summary(reports, extracting=extracting)
    print(demo_line(reports, public, extracting=extracting), file=sys.stderr)
    print(f"Output: {reports[0]['output'] if reports else args.out}", file=sys.stderr)
    if reports and not str(reports[0]["output"]).startswith("s3://"):
        print(f"Look at it: newswarc browse {reports[0]['output']}", file=sys.stderr)
    return code
