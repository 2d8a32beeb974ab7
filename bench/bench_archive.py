"""Crawl wall time with WARC capture vs without, same run, same local site (target: <= 15 % slower).

``python -m bench.bench_archive [PAGES]``. Each crawl runs in a fresh process (Twisted's reactor
cannot restart); the time measured is Scrapy's ``elapsed_time_seconds`` (engine start to close,
which includes draining the writer queue and closing the file), so interpreter start-up does
not dilute the difference. Runs alternate to spread machine noise over both sides.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)


def run(n_pages: int = 300, rounds: int = 3, concurrency: int = 16) -> dict:
    """Crawl ``n_pages`` gzip article pages ``rounds`` times each way; returns timings and the ratio."""
    from tests.archive_server import ArchiveServer, crawl_subprocess

    times: dict[bool, list[float]] = {True: [], False: []}
    warc_bytes = 0
    with ArchiveServer(site_pages=n_pages) as srv, tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            for enabled in (True, False) if i % 2 == 0 else (False, True):
                out = Path(tmp) / f"{enabled}-{i}"
                stats = crawl_subprocess(srv.url + "/", out, {
                    "NEWSWARC_ARCHIVE_ENABLED": enabled, "LOG_LEVEL": "WARNING",
                    "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency}, timeout=600)
                if stats.get("downloader/response_count", 0) < n_pages:
                    raise RuntimeError(f"crawl fetched only {stats.get('downloader/response_count')} pages")
                times[enabled].append(stats["elapsed_time_seconds"])
                if enabled:
                    warc_bytes = sum(p.stat().st_size for p in (out / "warc").glob("*.warc.gz"))
    with_s, without_s = statistics.median(times[True]), statistics.median(times[False])
    return {"pages": n_pages, "rounds": rounds, "with_warc_s": round(with_s, 3), "without_warc_s": round(without_s, 3),
            "ratio": round(with_s / without_s, 3), "warc_bytes": warc_bytes, "target_ratio": 1.15}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    result = run(int(argv[0]) if argv else 300)
    sys.stdout.write(
        f"archive bench: {result['pages']} pages, with WARC {result['with_warc_s']} s, "
        f"without {result['without_warc_s']} s, ratio {result['ratio']} (target <= {result['target_ratio']}), "
        f"{result['warc_bytes']} WARC bytes\n")
    return 0 if result["ratio"] <= result["target_ratio"] else 1


if __name__ == "__main__":
    sys.exit(main())
