"""Replay throughput and memory: ``python -m bench.bench_replay [--articles N] [WARC...]``.

1. articles/s of :func:`crawler.replay.api.replay` (all cores) against a plain sequential loop
   (warcio ``ArchiveIterator`` + ``trafilatura.extract``) and against a sequential loop of our own
   ``extract_with_reason`` (same work per page, so the ratio is the parallel speed-up), same run.
2. Peak RSS of a ``newswarc replay`` subprocess on the input once and concatenated 10x: streaming
   reading keeps it flat.

Without WARC arguments the input is written from the demo site (``crawler.demo.site``): every
article page and listing page, as 200 responses, half of them gzip-encoded.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import read_rss_kib, via_fresh_parent

ROOT = Path(__file__).resolve().parents[1]
#: The warm-up replay reads the whole first WARC but extracts only the section pages (a few), not
#: every article again: on the real-page site a full warm-up cost as much as the measured replay.
WARM_UP = re.compile(r"/category/[^/]+/$")


def demo_warc(path: Path, n_articles: int = 300) -> Path:
    """A WARC of the demo site's pages (written with warcio; no crawl needed)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from crawler.demo.site import build_site

    site = build_site(n_articles)
    paths = [a.path for a in site.articles if not a.private] + ["/", "/category/politics/", "/category/sport/"]
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i, p in enumerate(paths):
            resp = site.response(p, {"Accept-Encoding": "gzip"} if i % 2 else None)
            headers = [(k, v) for k, v in resp.headers if k.lower() not in ("transfer-encoding",)]
            http = StatusAndHeaders(f"{resp.status} OK", headers, protocol="HTTP/1.1")
            rec = writer.create_warc_record(f"http://demo.test{p}", "response", payload=io.BytesIO(resp.body),
                                            http_headers=http)
            writer.write_record(rec)
    return path


def sequential(warcs: list[Path], func: str) -> tuple[int, float]:
    """(articles, seconds) of a one-process loop: warcio + ``trafilatura.extract`` or our extractor."""
    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    from crawler.extract.api import extract_with_reason

    started, articles = time.perf_counter(), 0
    for path in warcs:
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type != "response" or rec.http_headers.get_statuscode() != "200":
                    continue
                if "html" not in (rec.http_headers.get_header("Content-Type") or ""):
                    continue
                body = rec.content_stream().read()
                url = rec.rec_headers.get_header("WARC-Target-URI")
                if func == "trafilatura":
                    articles += trafilatura.extract(body, url=url) is not None
                else:
                    articles += extract_with_reason(body, url)[0] is not None
    return articles, time.perf_counter() - started


def sequential_cpu(warcs: list[Path]) -> float:
    """CPU seconds of the plain warcio + ``trafilatura.extract`` loop: the extraction half of the crawl's floor."""
    started = time.process_time()
    sequential(warcs, "trafilatura")
    return time.process_time() - started


def parallel(warcs: list[Path], workers: int = 0, url_pattern: re.Pattern[str] | None = None) -> tuple[int, float]:
    """(articles, seconds) of :func:`crawler.replay.api.replay`, pool start-up included."""
    from crawler.replay.api import replay
    from crawler.replay.options import ReplayOptions

    started = time.perf_counter()
    result = replay([str(p) for p in warcs], jsonl=io.StringIO(),
                    options=ReplayOptions(workers=workers, url_pattern=url_pattern))
    return result.articles, time.perf_counter() - started


def peak_rss(warcs: list[Path], workers: int = 2) -> int:
    """Peak RSS (KiB) of a ``newswarc replay`` process, measured under a minimal parent."""
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        cmd = [sys.executable, "-m", "crawler.cli", "replay", *map(str, warcs), "--jsonl", os.devnull,
               "--workers", str(workers), "-q"]
        subprocess.run(via_fresh_parent(cmd, rss_file), cwd=ROOT, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        return read_rss_kib(rss_file)


def measure_round(warcs: list[Path], workers: int = 0) -> dict[str, Any]:
    """One round: the plain loop, our extractor's loop and replay, one after the other on the same WARCs."""
    cpu0 = time.process_time()
    seq_n, seq_t = sequential(warcs, "trafilatura")
    seq_cpu = time.process_time() - cpu0
    own_n, own_t = sequential(warcs, "newswarc")
    par_n, par_t = parallel(warcs, workers)
    res: dict[str, Any] = {
        "sequential_trafilatura": {"articles": seq_n, "seconds": seq_t, "cpu_s": seq_cpu,
                                   "articles_per_s": seq_n / seq_t},
        "sequential_newswarc_extract": {"articles": own_n, "seconds": own_t, "articles_per_s": own_n / own_t},
        "replay": {"articles": par_n, "seconds": par_t, "articles_per_s": par_n / par_t},
    }
    res["ratio_vs_trafilatura"] = res["replay"]["articles_per_s"] / res["sequential_trafilatura"]["articles_per_s"]
    # the same WARCs, each side doing its whole job: the loop extracts every HTML page (listings
    # too, and duplicates), replay only the article pages, once each
    res["time_ratio_vs_trafilatura"] = seq_t / par_t
    res["ratio_vs_same_extractor"] = res["replay"]["articles_per_s"] / res["sequential_newswarc_extract"]["articles_per_s"]
    return res


def run(warcs: list[Path] | None = None, *, articles: int = 300, workers: int = 0, memory: bool = True,
        rounds: int = 1) -> dict[str, Any]:
    """Run the benchmark; returns every number (and prints nothing).

    With ``rounds`` > 1 the round with the median time ratio is reported (this machine's speed
    drifts by 10-15 % from minute to minute; each round compares sides measured together). The
    time for the same WARCs is the target's measure: the loop's articles/s counts every HTML page
    it got text from, listings and duplicates too, where replay counts the articles it wrote.
    """
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        if not warcs:
            warcs = [demo_warc(Path(tmp) / "demo.warc.gz", articles)]
        parallel(warcs[:1], workers, WARM_UP)  # warm the page cache and the fork server's imports
        measured = [measure_round(warcs, workers) for _ in range(max(1, rounds))]
        # the median round; of an even number, the lower of the middle two (never the luckier one)
        res: dict[str, Any] = dict(sorted(measured, key=lambda r: r["time_ratio_vs_trafilatura"])[(len(measured) - 1) // 2])
        res.update(cores=os.cpu_count(), input_bytes=sum(p.stat().st_size for p in warcs), rounds=len(measured),
                   round_ratios=[r["time_ratio_vs_trafilatura"] for r in measured])
        if memory:
            big = Path(tmp) / "x10.warc.gz"
            with open(big, "wb") as out:
                for _ in range(10):
                    for p in warcs:
                        out.write(p.read_bytes())
            res["peak_rss_kib_1x"] = peak_rss(warcs)
            res["peak_rss_kib_10x"] = peak_rss([big])
            res["rss_growth_10x"] = res["peak_rss_kib_10x"] / res["peak_rss_kib_1x"]
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warc", nargs="*", type=Path)
    parser.add_argument("--articles", type=int, default=300, help="demo site size when no WARC is given")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="report the median of this many rounds")
    args = parser.parse_args(argv)
    r = run(args.warc, articles=args.articles, workers=args.workers, memory=not args.no_memory, rounds=args.rounds)
    rows = [("sequential warcio + trafilatura.extract", r["sequential_trafilatura"]),
            ("sequential warcio + newswarc extract", r["sequential_newswarc_extract"]),
            (f"newswarc replay ({r['cores']} cores)", r["replay"])]
    out = sys.stdout
    out.write(f"{'variant':<42} {'articles':>8} {'seconds':>8} {'articles/s':>10}\n")
    for name, v in rows:
        out.write(f"{name:<42} {v['articles']:>8} {v['seconds']:>8.2f} {v['articles_per_s']:>10.1f}\n")
    out.write(f"replay vs trafilatura loop: {r['time_ratio_vs_trafilatura']:.2f}x less time for the same WARCs, "
              f"{r['ratio_vs_trafilatura']:.2f}x articles/s; "
              f"vs the same extractor sequentially: {r['ratio_vs_same_extractor']:.2f}x\n")
    if r["rounds"] > 1:
        out.write(f"rounds: {', '.join(f'{x:.2f}x' for x in r['round_ratios'])} (median shown)\n")
    if "peak_rss_kib_1x" in r:
        out.write(f"peak RSS of replay: {r['peak_rss_kib_1x'] / 1024:.0f} MiB on 1x input, "
                  f"{r['peak_rss_kib_10x'] / 1024:.0f} MiB on 10x ({r['rss_growth_10x']:.2f}x)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
