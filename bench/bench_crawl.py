"""Crawl throughput and cost: newswarc (full), newswarc with archive and extraction off, and wget.

Each crawl is a fresh process measured by :func:`bench.harness.run_measured`; the variants run
back to back (alternating order when repeated) against the same static site, so that machine
noise falls on both sides. Pages and articles come from newswarc's run report, and for wget from
the response records of the WARC it wrote.
"""

from __future__ import annotations

import json
import logging
import pstats
import shutil
import statistics
import sys
from io import StringIO
from pathlib import Path
from typing import Any

from bench.harness import ROOT, Measured, run_measured

logger = logging.getLogger(__name__)

#: Benchmark settings: no AutoThrottle, enough concurrency, repeatable runs; robots.txt stays obeyed.
CRAWL_SETTINGS = {"AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS": "32",
                  "CONCURRENT_REQUESTS_PER_DOMAIN": "32", "NEWSWARC_STATE_ENABLED": "False"}
BARE_SETTINGS = {"NEWSWARC_ARCHIVE_ENABLED": "False", "NEWSWARC_EXTRACT_ENABLED": "False"}


def write_seed(directory: Path, url: str) -> Path:
    path = directory / "bench-seed.toml"
    path.write_text(f'name = "bench"\nstart_urls = ["{url.rstrip("/")}/"]\n', encoding="utf-8")
    return path


def crawl_command(seed: Path, out: Path, settings: dict[str, str], *, profile: Path | None = None) -> list[str]:
    """``newswarc crawl`` as a user runs it, optionally under cProfile."""
    prefix = [sys.executable, "-m", "cProfile", "-o", str(profile)] if profile else [sys.executable]
    cmd = [*prefix, "-m", "crawler.cli", "crawl", str(seed), "--out", str(out)]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def _summary(m: Measured, pages: int, **extra: Any) -> dict[str, Any]:
    return {**m.as_dict(), "pages": pages, "pages_per_s": pages / m.wall_s if m.wall_s else 0.0,
            "cpu_ms_per_page": 1000 * m.cpu_s / pages if pages else 0.0, **extra}


def newswarc_crawl(url: str, out: Path, *, full: bool = True, profile: Path | None = None,
                   extra: dict[str, str] | None = None, timeout: float = 3600) -> dict[str, Any]:
    """One measured ``newswarc crawl`` of the site at ``url`` into ``out`` (replaced if present)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    seed = write_seed(out.parent, url)
    settings = {**CRAWL_SETTINGS, **({} if full else BARE_SETTINGS), **(extra or {})}
    log = out.parent / f"{out.name}.log"
    m = run_measured(crawl_command(seed, out, settings, profile=profile), log=log, timeout=timeout)
    reports = sorted((out / "runs").glob("*.json"))
    if m.returncode != 0 or not reports:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"newswarc crawl exited with {m.returncode} (log {log}):\n{tail}")
    report = json.loads(reports[-1].read_text(encoding="utf-8"))
    counts = report["counts"]
    return _summary(m, counts["pages"], articles=counts["articles"], errors=counts["errors"],
                    engine_s=report["duration_seconds"], warc_bytes=report["bytes"]["warc"],
                    warcs=[str(p) for p in sorted((out / "warc").glob("*.warc.gz"))])


def wget_crawl(url: str, out: Path, *, timeout: float = 3600) -> dict[str, Any]:
    """One measured recursive ``wget`` with a WARC; pages = response records in that WARC."""
    from warcio.archiveiterator import ArchiveIterator

    wget = shutil.which("wget")
    if not wget:
        return {"skipped": "wget is not installed"}
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [wget, "-r", "-l", "inf", f"--warc-file={out / 'wget'}", "--no-verbose", "-e", "robots=on",
           "-P", str(out / "files"), f"{url.rstrip('/')}/"]
    m = run_measured(cmd, cwd=out, log=out.parent / f"{out.name}.log", timeout=timeout)
    if m.returncode not in (0, 8):  # 8: some URL answered an error (the demo site has 404 links)
        raise RuntimeError(f"wget exited with {m.returncode} (log {out.parent / (out.name + '.log')})")
    pages = 0
    with open(out / "wget.warc.gz", "rb") as fh:
        pages = sum(1 for rec in ArchiveIterator(fh) if rec.rec_type == "response")
    return _summary(m, pages)


def run(url: str, workdir: Path, *, rounds: int = 1, with_wget: bool = True,
        variants: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """Full, bare and wget crawls of ``url``, ``rounds`` times each, alternating; medians and ratios.

    ``variants`` adds full crawls with extra settings (name -> settings), e.g. a tuning to try.
    """
    variants = variants or {}
    runs: dict[str, list[dict[str, Any]]] = {"full": [], "bare": [], "wget": [], **{v: [] for v in variants}}
    for i in range(rounds):
        wget = ["wget"] if with_wget else []
        order = ["full", "bare", *variants, *wget] if i % 2 == 0 else ["bare", "full", *variants, *wget]
        for kind in order:
            out = workdir / f"{kind}-{i}"
            if kind == "wget":
                runs[kind].append(wget_crawl(url, out))
            else:
                runs[kind].append(newswarc_crawl(url, out, full=kind != "bare", extra=variants.get(kind)))
            logger.info("%s crawl %d: %s", kind, i, {k: runs[kind][-1].get(k) for k in ("wall_s", "pages")})
    res: dict[str, Any] = {"rounds": rounds, "settings": CRAWL_SETTINGS, "runs": runs, "variants": variants}
    for kind, items in runs.items():
        if items and "skipped" not in items[0]:
            res[kind] = min(items, key=lambda r: abs(r["wall_s"] - statistics.median(x["wall_s"] for x in items)))
        elif items:
            res[kind] = items[0]
    full, bare = res["full"], res["bare"]
    res["ratios"] = {"full_over_bare_wall": full["wall_s"] / bare["wall_s"],
                     "full_over_bare_cpu": full["cpu_s"] / bare["cpu_s"],
                     "full_over_bare_rss": full["main_rss_kib"] / bare["main_rss_kib"],
                     "target_full_over_bare_wall": 1.25}
    for v in variants:
        res["ratios"][f"{v}_over_full_wall"] = res[v]["wall_s"] / full["wall_s"]
        res["ratios"][f"{v}_over_full_main_cpu"] = res[v]["main_cpu_s"] / full["main_cpu_s"]
        res["ratios"][f"{v}_over_bare_wall"] = res[v]["wall_s"] / bare["wall_s"]
    wget = res.get("wget", {})
    if wget.get("pages"):
        res["ratios"]["full_over_wget_wall"] = full["wall_s"] / wget["wall_s"]
        res["ratios"]["full_over_wget_pages_per_s"] = full["pages_per_s"] / wget["pages_per_s"]
    return res


def add_floor(crawl: dict[str, Any], loop_cpu_s: float) -> None:
    """The floor of issue 22: the bare crawl's CPU (fetching the same URLs) + a plain trafilatura loop's CPU.

    ``loop_cpu_s`` is that loop over the full crawl's WARCs (every HTML page fetched), measured in
    the same run. On 2 cores the full job's wall time can go below the floor's CPU only when
    extraction and archiving run beside the fetching.
    """
    full, bare = crawl["full"], crawl["bare"]
    floor = bare["cpu_s"] + loop_cpu_s
    crawl["floor"] = {"bare_cpu_s": bare["cpu_s"], "loop_cpu_s": loop_cpu_s, "cpu_s": floor}
    crawl["ratios"].update(full_cpu_over_floor_cpu=full["cpu_s"] / floor, full_wall_over_floor_cpu=full["wall_s"] / floor,
                           target_full_wall_over_floor_cpu=0.75, target_full_over_bare_wall_real=1.1)


def profile_crawl(url: str, workdir: Path, *, top: int = 40) -> dict[str, Any]:
    """One full crawl under cProfile (the reactor process only); top functions by own and cumulative time."""
    prof = workdir / "crawl.prof"
    res = newswarc_crawl(url, workdir / "profiled", profile=prof)
    stats = pstats.Stats(str(prof))
    total = stats.total_tt  # type: ignore[attr-defined]

    def rows(key: str) -> list[dict[str, Any]]:
        buf = StringIO()
        ordered = pstats.Stats(str(prof), stream=buf).sort_stats(key)
        out = []
        for func in ordered.fcn_list[:top]:  # type: ignore[attr-defined]
            cc, nc, tt, ct, _ = ordered.stats[func]  # type: ignore[attr-defined]
            out.append({"function": _name(func), "calls": nc, "own_s": tt, "cumulative_s": ct})
        return out

    return {"crawl": {k: res[k] for k in ("wall_s", "cpu_s", "main_cpu_s", "pages")}, "profiled_s": total,
            "by_own": rows("tottime"), "by_cumulative": rows("cumulative"), "profile_file": str(prof)}


def _name(func: tuple[str, int, str]) -> str:
    path, line, name = func
    if path == "~":
        return name
    for marker in ("site-packages/", "lib/python3.11/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line}({name})"
