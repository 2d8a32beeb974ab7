"""Extraction throughput: ExtractionPool on all cores vs a sequential ``trafilatura.extract`` loop.

``python -m bench.bench_extract [DIR]`` reads ``*.html``/``*.html.gz`` pages from DIR; by default the
benchmark pages in ``../shared/extraction-dev`` (repeated to ~300 pages), else pages from the demo
site generator. Both sides run in the same process, on the same pages; :func:`run` returns the
numbers so that ``bench/__main__`` can reuse them.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO.parent / "shared" / "extraction-dev"


def load_pages(directory: Path | None = None, target: int = 300) -> list[tuple[bytes, str]]:
    """(html bytes, url) pairs, repeated up to about ``target`` pages."""
    directory = directory or DEFAULT_DIR
    pages: list[tuple[bytes, str]] = []
    if directory.is_dir():
        for path in sorted(directory.rglob("*.html*")):
            if path.name.endswith(".html.gz"):
                with gzip.open(path, "rb") as fh:
                    pages.append((fh.read(), f"https://bench.example/{path.name[:-8]}"))
            elif path.suffix == ".html":
                pages.append((path.read_bytes(), f"https://bench.example/{path.stem}"))
    if not pages:
        pages = _demo_pages(min(target, 100))
    if not pages:
        raise SystemExit(f"no HTML pages in {directory} and the demo site is not available")
    repeat = max(1, round(target / len(pages)))
    return [(html, f"{url}?r={i}") for i in range(repeat) for html, url in pages]


def _demo_pages(n: int) -> list[tuple[bytes, str]]:
    try:
        from crawler.demo.site import build_site
    except ImportError:
        return []
    site = build_site(n, 1)
    return [(site.response(a.path).body, f"https://demo.example{a.path}") for a in site.articles[:n]]


def _sequential(pages: list[tuple[bytes, str]]) -> tuple[float, int]:
    import trafilatura
    t0 = time.perf_counter()
    ok = sum(1 for html, url in pages if trafilatura.extract(html, url=url, include_comments=False))
    return time.perf_counter() - t0, ok


def _sequential_ours(pages: list[tuple[bytes, str]]) -> tuple[float, int]:
    from crawler.extract import extract_article
    t0 = time.perf_counter()
    ok = sum(1 for html, url in pages if extract_article(html, url) is not None)
    return time.perf_counter() - t0, ok


def _pooled(pages: list[tuple[bytes, str]], workers: int) -> tuple[float, int]:
    from crawler.extract_pool import ExtractionPool
    with ExtractionPool(workers=workers, timeout=60) as pool:
        warm = [pool.submit(html, url) for html, url in pages[: pool.workers]]  # worker start-up is not throughput
        for f in warm:
            f.result()
        t0 = time.perf_counter()
        futures = [pool.submit(html, url) for html, url in pages]
        ok = sum(1 for f in futures if f.result().article is not None)
        return time.perf_counter() - t0, ok


def run(directory: Path | None = None, *, target: int = 300, workers: int = 0) -> dict[str, Any]:
    """Time each side on the same pages; returns pages, seconds, pages/s and the speed-ups."""
    logging.disable(logging.WARNING)  # trafilatura logs each discarded page
    try:
        pages = load_pages(directory, target)
        seq_s, seq_ok = _sequential(pages)
        own_s, own_ok = _sequential_ours(pages)
        pool_s, pool_ok = _pooled(pages, workers)
    finally:
        logging.disable(logging.NOTSET)
    return {
        "pages": len(pages), "cores": os.cpu_count(), "workers": workers or os.cpu_count(),
        "sequential": {"seconds": seq_s, "pages_per_s": len(pages) / seq_s, "articles": seq_ok},
        "sequential_extract_article": {"seconds": own_s, "pages_per_s": len(pages) / own_s, "articles": own_ok},
        "pool": {"seconds": pool_s, "pages_per_s": len(pages) / pool_s, "articles": pool_ok},
        "speedup": seq_s / pool_s,
        "pool_scaling": own_s / pool_s,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", nargs="?", type=Path, help=f"folder of HTML pages (default: {DEFAULT_DIR})")
    ap.add_argument("--pages", type=int, default=300, help="repeat pages up to about this many")
    ap.add_argument("--workers", type=int, default=0, help="pool workers (0 = all cores)")
    args = ap.parse_args(argv)
    res = run(args.dir, target=args.pages, workers=args.workers)
    out = sys.stdout
    out.write(f"{res['pages']} pages, {res['cores']} cores, {res['workers']} workers\n")
    out.write(f"{'':<34}{'seconds':>9}{'pages/s':>10}{'articles':>10}\n")
    for label, key in (("sequential trafilatura.extract", "sequential"),
                       ("sequential extract_article", "sequential_extract_article"),
                       ("ExtractionPool (extract_article)", "pool")):
        r = res[key]
        out.write(f"{label:<34}{r['seconds']:>9.2f}{r['pages_per_s']:>10.1f}{r['articles']:>10}\n")
    out.write(f"speed-up vs trafilatura.extract: {res['speedup']:.2f}x; "
              f"pool vs the same work sequentially: {res['pool_scaling']:.2f}x\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
