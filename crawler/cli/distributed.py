"""``newswarc worker``, ``newswarc enqueue`` and ``newswarc status``: the distributed crawl's commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crawler.cli.crawl import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    build_settings,
    check_output,
    load_seeds,
    preload_components,
    print_summary,
)
from crawler.distributed import Keys, connect, fleet
from crawler.distributed.worker import Worker, apply_distributed


def _settings(args: argparse.Namespace) -> Any:
    settings = build_settings(args)
    settings.set("NEWSWARC_DISTRIBUTED", True, priority="cmdline")
    return settings


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.idle_seconds is not None:
        settings.set("NEWSWARC_DISTRIBUTED_IDLE_SECONDS", args.idle_seconds, priority="cmdline")
    apply_distributed(settings, until_idle=args.until_idle)
    connect(settings)  # exit 3 in one line when Redis is down
    check_output(settings, exclusive=False)  # workers share the output (docs/distributed.md)
    preload_components(settings)
    worker = Worker(settings, only=args.seed)
    crawlers = worker.run()
    reports = [r for c in crawlers if (r := getattr(c, "newswarc_report", None)) is not None]
    if not args.quiet:
        print_summary(reports, extracting=settings.getbool("NEWSWARC_EXTRACT_ENABLED", True))
    # a drained SIGTERM ends a worker's crawls with "shutdown": what it did not do waits in the queue
    failed = [r for r in reports if r["status"] != "completed" and r.get("finish_reason") != "shutdown"]
    return EXIT_INCOMPLETE if failed or len(reports) < len(crawlers) else EXIT_OK


def cmd_enqueue(args: argparse.Namespace) -> int:
    settings = _settings(args)
    seeds = load_seeds(args.seed)
    server, keys = connect(settings), Keys.from_settings(settings)
    for seed in seeds:
        run = fleet.enqueue(server, keys, seed)
        if not args.quiet:
            print(f"{seed.name}: run {run} queued for the fleet ({sum(fleet.workers(server, keys).values())} "
                  f"workers alive)", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    server, keys = connect(settings), Keys.from_settings(settings)
    info = fleet.status(server, keys)
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    alive = sum(info["workers"].values())
    print(f"workers: {alive} alive, {len(info['workers']) - alive} silent (their requests go back when they time out)")
    for name, s in info["seeds"].items():
        print(f"{name}: run {s['run']}  queued {s['queued']}  in flight {s['in_flight']}  starts waiting "
              f"{s['starts_waiting']}  seen {s['seen_this_run']}  articles {s['articles']}  errors {s['errors']}")
        for domain, n in s["queued_by_domain"].items():
            print(f"  {domain}: {n} queued")
    return 0
