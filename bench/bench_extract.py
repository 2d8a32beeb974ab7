"""Extraction throughput: ExtractionPool on all cores vs a sequential ``trafilatura.extract`` loop.

``python -m bench.bench_extract [DIR]`` reads ``*.html``/``*.html.gz`` pages from DIR (real news
pages, such as those of the article-extraction-benchmark, repeated to ~300 pages; default
``$NEWSWARC_EXTRACTION_DATA``, as ``python -m bench --extraction-dev``), else pages from the demo site
generator. All sides run on the same pages, in rounds that alternate them (the machine may be
shared with other jobs: compare within a round); one-off start-up costs (imports, the language
model, worker start) are paid before timing. :func:`run` returns the numbers so that
``bench/__main__`` can reuse them.
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

from crawler.demo.site import build_site

EXTRACTION_DATA_ENV = "NEWSWARC_EXTRACTION_DATA"


def load_pages(directory: Path | None = None, target: int = 300) -> list[tuple[bytes, str]]:
    """(html bytes, url) pairs, repeated up to about ``target`` pages (demo pages without ``directory``)."""
    pages: list[tuple[bytes, str]] = []
    if directory is not None and directory.is_dir():
        for path in sorted(directory.rglob("*.html*")):
            if path.name.endswith(".html.gz"):
                with gzip.open(path, "rb") as fh:
                    pages.append((fh.read(), f"https://bench.example/{path.name[:-8]}"))
            elif path.suffix == ".html":
                pages.append((path.read_bytes(), f"https://bench.example/{path.stem}"))
    if not pages:
        pages = _demo_pages(min(target, 100))
    repeat = max(1, round(target / len(pages)))
    return [(html, f"{url}?r={i}") for i in range(repeat) for html, url in pages]


def _demo_pages(n: int) -> list[tuple[bytes, str]]:
    site = build_site(n, 1)
    return [(site.response(a.path).body, f"https://demo.example{a.path}") for a in site.articles[:n]]


def _cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of other processes (Linux ``/proc``; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def _sequential(pages: list[tuple[bytes, str]]) -> tuple[float, float, int]:
    import trafilatura
    t0, c0 = time.perf_counter(), time.process_time()
    ok = sum(1 for html, url in pages if trafilatura.extract(html, url=url, include_comments=False))
    return time.perf_counter() - t0, time.process_time() - c0, ok


def _sequential_ours(pages: list[tuple[bytes, str]]) -> tuple[float, float, int]:
    from crawler.extract.api import extract_article
    t0, c0 = time.perf_counter(), time.process_time()
    ok = sum(1 for html, url in pages if extract_article(html, url) is not None)
    return time.perf_counter() - t0, time.process_time() - c0, ok


def _pooled(pool: Any, pages: list[tuple[bytes, str]]) -> tuple[float, float, int]:
    """Wall time, CPU time of the workers and of this process (dispatch, pickling), articles."""
    pids = pool.worker_pids
    w0, c0, t0 = _cpu_of(pids), time.process_time(), time.perf_counter()
    futures = [pool.submit(html, url) for html, url in pages]
    ok = sum(1 for f in futures if f.result().article is not None)
    return time.perf_counter() - t0, _cpu_of(pids) - w0 + time.process_time() - c0, ok


def _side(pages: int, seconds: float, cpu: float, articles: int) -> dict[str, Any]:
    return {"seconds": seconds, "pages_per_s": pages / seconds, "articles": articles,
            "cpu_ms_per_page": 1000 * cpu / pages}


def run(directory: Path | None = None, *, target: int = 300, workers: int = 0, rounds: int = 1) -> dict[str, Any]:
    """Time each side on the same pages, ``rounds`` times interleaved (the machine may be shared).

    Returns the round with the median speed-up (pages, seconds, pages/s, speed-ups), every
    round's numbers under ``rounds`` and the load average before and after.
    """
    from crawler.extract.api import warm_up
    from crawler.extract.pool import ExtractionPool
    logging.disable(logging.WARNING)  # trafilatura logs each discarded page
    try:
        pages = load_pages(directory, target)
        load_before = os.getloadavg()
        warm_up()  # one-off costs (language model) are not throughput, here as in the workers
        _sequential(pages[:5])
        results = []
        with ExtractionPool(workers=workers, timeout=60) as pool:
            if not pool.wait_ready(timeout=120):
                raise SystemExit("extraction workers did not start within 120 s")
            for _ in range(max(1, rounds)):
                seq, own, pooled = _sequential(pages), _sequential_ours(pages), _pooled(pool, pages)
                results.append({
                    "pages": len(pages), "cores": os.cpu_count(), "workers": pool.workers,
                    "sequential": _side(len(pages), *seq),
                    "sequential_extract_article": _side(len(pages), *own),
                    "pool": _side(len(pages), *pooled),
                    "speedup": seq[0] / pooled[0],
                    "pool_scaling": own[0] / pooled[0],
                    # what the wall clock would show with the cores to ourselves: all pool CPU
                    # (workers + dispatcher) spread over min(workers, cores)
                    "cpu_bound_speedup": seq[1] / (pooled[1] / min(pool.workers, os.cpu_count() or 1)),
                })
        load_after = os.getloadavg()
    finally:
        logging.disable(logging.NOTSET)
    median = sorted(results, key=lambda r: r["speedup"])[(len(results) - 1) // 2]  # of an even number, the lower
    return {**median, "load_avg": [round(load_before[0], 2), round(load_after[0], 2)],
            "rounds": [{k: r[k]["pages_per_s"] if isinstance(r[k], dict) else r[k]
                        for k in ("sequential", "sequential_extract_article", "pool", "speedup", "pool_scaling",
                                  "cpu_bound_speedup")}
                       for r in results]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", nargs="?", type=Path, default=os.environ.get(EXTRACTION_DATA_ENV) or None,
                    help=f"folder of HTML pages (default: ${EXTRACTION_DATA_ENV}; else demo pages)")
    ap.add_argument("--pages", type=int, default=300, help="repeat pages up to about this many")
    ap.add_argument("--workers", type=int, default=0, help="pool workers (0 = all cores)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median one is shown")
    args = ap.parse_args(argv)
    res = run(args.dir, target=args.pages, workers=args.workers, rounds=args.rounds)
    out = sys.stdout
    out.write(f"{res['pages']} pages, {res['cores']} cores, {res['workers']} workers, "
              f"load average {res['load_avg'][0]:.1f} before, {res['load_avg'][1]:.1f} after\n")
    for i, r in enumerate(res["rounds"], 1):
        out.write(f"round {i}: pages/s trafilatura.extract {r['sequential']:.1f}, extract_article "
                  f"{r['sequential_extract_article']:.1f}, pool {r['pool']:.1f}: speed-up {r['speedup']:.2f}x, "
                  f"pool scaling {r['pool_scaling']:.2f}x, CPU-bound speed-up {r['cpu_bound_speedup']:.2f}x\n")
    out.write("median round:\n")
    out.write(f"{'':<34}{'seconds':>9}{'pages/s':>10}{'articles':>10}{'CPU ms/page':>13}\n")
    for label, key in (("sequential trafilatura.extract", "sequential"),
                       ("sequential extract_article", "sequential_extract_article"),
                       ("ExtractionPool (extract_article)", "pool")):
        r = res[key]
        out.write(f"{label:<34}{r['seconds']:>9.2f}{r['pages_per_s']:>10.1f}{r['articles']:>10}"
                  f"{r['cpu_ms_per_page']:>13.1f}\n")
    out.write(f"speed-up vs trafilatura.extract: {res['speedup']:.2f}x; "
              f"pool vs the same work sequentially: {res['pool_scaling']:.2f}x; "
              f"CPU-bound speed-up: {res['cpu_bound_speedup']:.2f}x\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
