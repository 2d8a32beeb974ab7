"""Peak memory and time of ``newswarc export`` on a large synthetic archive (target: < 300 MiB).

``python -m bench.bench_export [N_ARTICLES] [--format parquet|jsonl] [--keep DIR]``. The archive is
written here, not crawled: ``articles/SITE/RUN_ID.jsonl`` files with N rows shaped as the crawl
writes them (every field, a WARC pointer, ~2.5 KB of text each), over 4 sites, 2 runs and 14
months, 5 % of them a second version of an article of the first run. The export runs in its own
process under a minimal parent (:func:`bench.harness.via_fresh_parent`), and its peak RSS is the
kernel's ``ru_maxrss`` for it: not inflated by the size of whoever runs the bench (pytest).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import read_rss_kib, via_fresh_parent

ROOT = Path(__file__).resolve().parent.parent
SITES = ("alpha", "bravo", "charlie", "delta")
RUNS = ("20261101T060000Z-bench-100", "20261102T060000Z-bench-200")
_WORDS = ("the minister said on tuesday that council budget plan would cut school transport costs across "
          "region while opposition parties asked for vote before end of year and unions planned strike").split()


def _text(rng: random.Random, words: int) -> str:
    paras = []
    for _ in range(max(1, words // 60)):
        paras.append(" ".join(rng.choice(_WORDS) for _ in range(60)).capitalize() + ".")
    return "\n".join(paras)


def _row(rng: random.Random, n: int, site: str, run: int, version: int = 0) -> dict:
    url = f"https://{site}.example/2026/{n % 12 + 1:02d}/story-{n}/"
    ident = hashlib.sha256(url.encode()).hexdigest()[:20]
    text = _text(rng, 400) + (f"\nCorrection {version}." if version else "")
    month = (n % 14) + 1
    year, month = (2025, month) if month <= 12 else (2026, month - 12)
    return {
        "id": ident, "site": site, "url": url, "canonical_url": url, "title": f"Story {n}", "text": text,
        "authors": ["A. Writer"], "published": f"{year}-{month:02d}-{n % 28 + 1:02d}T08:00:00+01:00",
        "updated": None, "language": "en", "site_name": site.title(), "description": "A story.",
        "categories": ["News"], "tags": ["budget", "council"], "image": None, "word_count": 400,
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(), "is_accessible_for_free": None,
        "truncated_by_paywall": False, "near_duplicate_of": None, "near_duplicate_similarity": None,
        "fetched_at": f"2026-11-0{run + 1}T06:{n % 60:02d}:00Z", "text_path": f"text/{site}/x/{ident}.txt",
        "warc_file": f"warc/bench-{run}.warc.gz", "warc_offset": 1000 + 5000 * n, "warc_length": 4800,
        "warc_record_id": f"<urn:uuid:{ident}-{run}>", "route": "sitemap",
        **({"version_of": ident} if version else {}),
    }


def write_synthetic_archive(root: Path, n_articles: int, seed: int = 1) -> int:
    """Write ``n_articles`` rows (95 % first versions in run 1, 5 % new versions in run 2); returns rows."""
    rng = random.Random(seed)
    originals = n_articles - n_articles // 20
    handles = {}
    try:
        for site in SITES:
            (root / "articles" / site).mkdir(parents=True, exist_ok=True)
            for run_no, run in enumerate(RUNS):
                handles[site, run_no] = open(root / "articles" / site / f"{run}.jsonl", "w", encoding="utf-8")
        for n in range(originals):
            site = SITES[n % len(SITES)]
            handles[site, 0].write(json.dumps(_row(rng, n, site, 0)) + "\n")
        for k in range(n_articles - originals):
            n = k * 19 % originals
            site = SITES[n % len(SITES)]
            handles[site, 1].write(json.dumps(_row(rng, n, site, 1, version=1)) + "\n")
    finally:
        for fh in handles.values():
            fh.close()
    return n_articles


def measure_export(archive: Path, out: Path, fmt: str = "parquet") -> dict:
    """Run ``newswarc export`` in a child process; its exit code, seconds and peak RSS (MiB)."""
    started = time.perf_counter()
    rss_file = Path(out).parent / f".{Path(out).name}.rss"
    cmd = [sys.executable, "-m", "crawler.cli", "export", str(archive), "--out", str(out), "--format", fmt, "-q"]
    proc = subprocess.run(via_fresh_parent(cmd, rss_file), cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_kib = read_rss_kib(rss_file)
    rss_file.unlink(missing_ok=True)
    return {"returncode": proc.returncode, "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mib": round(peak_kib / 1024, 1), "stderr": proc.stderr.decode("utf-8", "replace")[-2000:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_export", description=__doc__.split("\n\n")[0])
    ap.add_argument("articles", nargs="?", type=int, default=200_000)
    ap.add_argument("--format", choices=("parquet", "jsonl"), default="parquet")
    ap.add_argument("--keep", type=Path, help="build the archive and export here (kept)")
    ap.add_argument("--reuse", action="store_true", help="with --keep: use the archive already there")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        archive, out = base / "archive", base / "export"
        t = time.perf_counter()
        if not (args.reuse and archive.is_dir()):
            write_synthetic_archive(archive, args.articles)
        size = sum(p.stat().st_size for p in archive.rglob("*.jsonl"))
        print(f"archive: {args.articles} rows, {size / 2**20:.0f} MiB of JSONL ({time.perf_counter() - t:.0f} s)")
        result = measure_export(archive, out, args.format)
        exported = sum(p.stat().st_size for p in out.rglob(f"*.{args.format}"))
        print(f"export ({args.format}): exit {result['returncode']}, {result['seconds']} s, "
              f"peak RSS {result['peak_rss_mib']} MiB, {exported / 2**20:.0f} MiB written")
        if result["returncode"]:
            print(result["stderr"], file=sys.stderr)
    return result["returncode"]


if __name__ == "__main__":
    sys.exit(main())
