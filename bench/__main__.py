"""``python -m bench`` (``make bench``): crawl, replay, extraction, memory and profile benchmarks.

Sections: ``crawl`` (newswarc full vs bare vs wget, and vs the floor: the bare crawl's CPU plus a
plain trafilatura loop over the same HTML), ``replay`` (re-extraction of the full crawl's WARCs vs a
plain warcio + trafilatura loop); both run on two static sites behind nginx (``--sites``): the demo
site and the real-page site of :mod:`bench.realsite` (the WCXB dev articles: ``--real-pages DIR``,
else ``$NEWSWARC_REAL_PAGES``, else ``--wcxb``; skipped with one line when absent), as
``crawl``/``replay`` and ``crawl_real``/``replay_real`` in the results. ``extract`` (the extraction
pool's throughput, on the ``--extraction-dev`` pages when given, else demo pages), ``quality``
(:mod:`bench.bench_quality`: body, title, authors, date and article detection of newswarc vs plain
trafilatura on WCXB dev and extraction-dev, tune/report halves; table into docs/extraction.md; the
data sets and scorers are not part of the repository: ``--wcxb``, ``--extraction-dev``, ``--scorers``
or their environment variables, else skipped; not in the default run), ``archive``
(:mod:`bench.bench_archive`: crawl time with vs without WARC capture), ``archives``
(:mod:`bench.bench_archives`: index and replay of third-party files against cdxj-indexer, reader
speed against warcio and FastWARC; not in the default run), ``profile`` (one full
crawl under cProfile; not in the default run), ``memory`` (peak RSS of the full crawl, N vs 10 N articles; not in the
default run because the large crawl alone takes longer than the rest together) and ``distributed``
(:mod:`bench.bench_distributed`: 1, 2 and 4 workers on Redis over 20 loopback sites, and Redis
memory per queued and seen URL; not in the default run: it needs redis-server). Results merge
into ``bench/results/latest.json`` section by section, and ``docs/benchmarks.md`` is rewritten
from it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bench_archive, bench_crawl, bench_extract, bench_quality, bench_replay, realsite, report
from bench.harness import ROOT, StaticSite

logger = logging.getLogger("bench")

ALL = ("crawl", "replay", "extract", "quality", "archive", "profile", "memory", "archives", "distributed")
#: ``make bench``: under 10 minutes on 2 cores; quality (both data sets through both extractors) and
#: profile (a crawl under cProfile) run with --only.
DEFAULT = ("crawl", "replay", "extract", "archive")
# full crawls with extra settings; archive_only / bare is the cost of WARC capture alone
VARIANTS = {"archive_only": {"NEWSWARC_EXTRACT_ENABLED": "False"}}
# Data sets and scorers the repository does not ship: each is an option, falling back to an
# environment variable; without either, the section (or part) that needs it is skipped with one line.
ENV = {"wcxb": "NEWSWARC_WCXB_DATA", "extraction_dev": bench_extract.EXTRACTION_DATA_ENV,
       "scorers": "NEWSWARC_SCORERS", "corpus": "NEWSWARC_WARC_CORPUS",
       "real_pages": realsite.REAL_PAGES_ENV}


def _from_env(dest: str) -> Path | None:
    value = os.environ.get(ENV[dest])
    return Path(value) if value else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=None, help="demo site size (default 2000; --quick: 300)")
    ap.add_argument("--memory-articles", type=int, default=None,
                    help="large site of the memory section (default 10x --articles)")
    ap.add_argument("--quick", action="store_true", help="small sizes everywhere: a smoke run in a minute or two")
    ap.add_argument("--only", default=None, help=f"comma-separated sections of {','.join(ALL)} "
                                                 f"(default {','.join(DEFAULT)})")
    ap.add_argument("--rounds", type=int, default=1, help="crawl pairs per variant, alternating, and replay rounds (median shown)")
    ap.add_argument("--no-nginx", action="store_true", help="serve the site with the Python fallback server")
    ap.add_argument("--no-wget", action="store_true", help="skip the wget comparison")
    ap.add_argument("--no-variants", action="store_true", help="skip the tuning variants of the full crawl")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results",
                    help="folder of latest.json (default: %(default)s)")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md",
                    help="markdown report to rewrite (default: %(default)s)")
    ap.add_argument("--wcxb", type=Path, default=_from_env("wcxb"), metavar="DIR",
                    help=f"WCXB dev pages (default: ${ENV['wcxb']}; without it that part is skipped)")
    ap.add_argument("--extraction-dev", "--extraction-data", dest="extraction_dev", type=Path,
                    default=_from_env("extraction_dev"), metavar="DIR",
                    help="the article-extraction-benchmark pages and ground truth: quality F1 and the pool's pages "
                    f"(default: ${ENV['extraction_dev']}; without it that F1 is skipped, the pool uses demo pages)")
    ap.add_argument("--scorers", type=Path, default=_from_env("scorers"), metavar="DIR",
                    help=f"folder of score_pages.py and score_extraction.py (default: ${ENV['scorers']})")
    ap.add_argument("--real-pages", type=Path, default=_from_env("real_pages"), metavar="DIR",
                    help="pages.json + html/ of real pages whose articles make the real-page site of the crawl and "
                    f"replay sections (default: ${ENV['real_pages']}, else --wcxb; skipped when absent)")
    ap.add_argument("--real-limit", type=int, default=None,
                    help="at most this many real article pages (default all; --quick: 60)")
    ap.add_argument("--sites", default="demo,real", help="sites of the crawl and replay sections: demo, real or "
                    "both (default: %(default)s)")
    ap.add_argument("--quality-doc", type=Path, default=ROOT / "docs" / "extraction.md",
                    help="where the quality table is written (default: %(default)s)")
    ap.add_argument("--render-only", action="store_true", help="measure nothing: rewrite --doc from latest.json")
    ap.add_argument("--workdir", type=Path, default=None, help="keep sites, crawls and logs here (default: temp)")
    ap.add_argument("--corpus", type=Path, default=_from_env("corpus"), metavar="DIR",
                    help="archives section: a folder of third-party WARC/ARC/WACZ files, e.g. the 43 files warcio, pywb "
                    f"and py-wacz test with (default: ${ENV['corpus']})")
    ap.add_argument("--speed-warc", type=Path, default=None,
                    help="archives section: a per-record gzip WARC to time the readers on (default: built, ~50 MB)")
    args = ap.parse_args(argv)
    args.sections = tuple(x.strip() for x in args.only.split(",")) if args.only else DEFAULT
    if unknown := set(args.sections) - set(ALL):
        ap.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL)}")
    args.sites = tuple(x.strip() for x in args.sites.split(","))
    if unknown := set(args.sites) - {"demo", "real"}:
        ap.error(f"--sites: unknown site(s) {', '.join(sorted(unknown))}; choose from demo, real")
    args.real_limit = args.real_limit if args.real_limit is not None else (60 if args.quick else 0)
    if args.real_pages is None:  # the real-page site is built from the WCXB dev articles
        args.real_pages = args.wcxb
    args.articles = args.articles or (300 if args.quick else 2000)
    args.memory_articles = args.memory_articles or 10 * args.articles
    return args


def timed(name: str, results: dict[str, Any], func: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one section, stamp it with time and load, store it in ``results['sections']``."""
    logger.info("section %s: starting", name)
    load, started = os.getloadavg(), time.perf_counter()
    section = func()
    machine = results.get("machine", {})
    section.update(measured_at=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", load_before=list(load),
                   machine=f"{machine.get('cores', '?')} cores, {machine.get('cpu_model') or 'unknown CPU'}",
                   load_after=list(os.getloadavg()), seconds=time.perf_counter() - started)
    results["sections"][name] = section
    line = report.headline(name, section)
    logger.info("section %s: done in %.0f s%s", name, section["seconds"], f": {line}" if line else "")
    return section


def _replay(warcs: list[str], rounds: int) -> dict[str, Any]:
    return bench_replay.run([Path(w) for w in warcs], memory=False, rounds=rounds)


def _extract(quick: bool, data: Path | None) -> dict[str, Any]:
    """The extraction pool's throughput; body F1 on the benchmark pages is the quality section's."""
    return {"pool": bench_extract.run(data, target=60 if quick else 300)}


def _archive(quick: bool) -> dict[str, Any]:
    return bench_archive.run(100 if quick else 300, rounds=1 if quick else 3)


def _site_info(site: StaticSite) -> dict[str, Any]:
    return {"articles": site.n_articles, "files": site.files, "server": site.server, "label": site.label,
            "build_s": round(site.build_seconds, 1)}


def _site_sections(args: argparse.Namespace, results: dict[str, Any], workdir: Path, site: StaticSite,
                   suffix: str, *, need_full: bool = False) -> dict[str, Any] | None:
    """The crawl, replay and profile sections on one site (``suffix`` "" for the demo site, "_real" for real pages).

    The floor (bare crawl's CPU + a plain trafilatura loop over the same HTML) takes the loop from
    the replay section when it runs, else measures the loop alone on the full crawl's WARCs.
    """
    wanted = set(args.sections)
    logger.info("site: %s, %d articles, %d files at %s, %s", site.label, site.n_articles, site.files, site.url,
                site.server)
    full: dict[str, Any] | None = None
    crawl: dict[str, Any] | None = None
    if "crawl" in wanted:
        crawl = timed("crawl" + suffix, results, lambda: bench_crawl.run(
            site.url, workdir / ("crawl" + suffix), rounds=args.rounds, with_wget=not args.no_wget,
            variants={} if args.no_variants else VARIANTS))
        crawl["site"] = _site_info(site)
        if suffix:  # issue 22: on the real-page site the whole job within 1.1x bare Scrapy's wall time
            crawl["ratios"]["target_full_over_bare_wall"] = 1.1
        full = crawl["full"]
    if ("replay" in wanted or need_full) and full is None:
        full = bench_crawl.newswarc_crawl(site.url, workdir / ("crawl" + suffix) / "full-extra")
    loop_cpu = None
    if "replay" in wanted:
        assert full is not None
        rep = timed("replay" + suffix, results, lambda: _replay(full["warcs"], args.rounds))
        rep["site"] = _site_info(site)
        loop_cpu = rep.get("sequential_trafilatura", {}).get("cpu_s")
    if crawl is not None:
        if loop_cpu is None:
            loop_cpu = bench_replay.sequential_cpu([Path(w) for w in crawl["full"]["warcs"]])
        bench_crawl.add_floor(crawl, loop_cpu)
        r = crawl["ratios"]
        logger.info("crawl%s: full wall / floor CPU %.2fx, full CPU / floor CPU %.2fx (the floor: bare crawl CPU "
                    "%.1f s + trafilatura loop CPU %.1f s, same run)", suffix, r["full_wall_over_floor_cpu"],
                    r["full_cpu_over_floor_cpu"], crawl["floor"]["bare_cpu_s"], crawl["floor"]["loop_cpu_s"])
    if "profile" in wanted:
        prof = timed("profile" + suffix, results, lambda: bench_crawl.profile_crawl(
            site.url, workdir / ("profile" + suffix)))
        prof["site"] = _site_info(site)
    return full


def _real_site(args: argparse.Namespace, results: dict[str, Any], workdir: Path) -> None:
    """The crawl, replay and profile sections on the real-page site, or one line saying why not."""
    if not realsite.available(args.real_pages):
        logger.info("real-page site skipped: no data set %s (--real-pages DIR, $%s or --wcxb)",
                    f"at {args.real_pages}" if args.real_pages else "given", realsite.REAL_PAGES_ENV)
        for name in ("crawl", "replay", "profile"):
            if name in args.sections:
                results["sections"][name + "_real"] = {"skipped": f"no real pages at {args.real_pages}"}
        return

    def build(www: Path, base_url: str) -> int:
        return realsite.write_site(args.real_pages, www, base_url, limit=args.real_limit)

    with StaticSite(workdir / "site-real", use_nginx=not args.no_nginx, build=build,
                    label="real-page site of WCXB dev articles") as site:
        _site_sections(args, results, workdir, site, "_real")
    shutil.rmtree(workdir / "site-real", ignore_errors=True)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Measure the chosen sections; returns this run's results."""
    results: dict[str, Any] = {"machine": report.machine_info(), "sections": {},
                               "options": {"articles": args.articles, "memory_articles": args.memory_articles,
                                           "quick": args.quick, "rounds": args.rounds, "sites": list(args.sites)}}
    wanted = set(args.sections)
    full: dict[str, Any] | None = None
    if wanted & {"crawl", "replay", "profile", "memory"} and "demo" in args.sites:
        with StaticSite(workdir / "site", args.articles, use_nginx=not args.no_nginx) as site:
            full = _site_sections(args, results, workdir, site, "", need_full="memory" in wanted)
        shutil.rmtree(workdir / "site", ignore_errors=True)
    if wanted & {"crawl", "replay", "profile"} and "real" in args.sites:
        _real_site(args, results, workdir)
    if "memory" in wanted and full is None:
        logger.info("memory skipped: it crawls the demo site (--sites demo)")
    if "memory" in wanted and full is not None:
        small = {**full, "articles_site": args.articles}

        def memory() -> dict[str, Any]:
            with StaticSite(workdir / "site-large", args.memory_articles, use_nginx=not args.no_nginx) as big_site:
                big = bench_crawl.newswarc_crawl(big_site.url, workdir / "memory" / "large")
                big.update(articles_site=args.memory_articles, server=big_site.server)
            kinds = small.get("process_rss_kib", {}).keys() & big.get("process_rss_kib", {}).keys()
            growth = {k: big["process_rss_kib"][k] / small["process_rss_kib"][k] for k in sorted(kinds)
                      if small["process_rss_kib"][k]}
            return {"small": small, "large": big, "growth_main_rss": big["main_rss_kib"] / small["main_rss_kib"],
                    "growth_tree_rss": big["tree_rss_kib"] / small["tree_rss_kib"], "growth_by_process": growth,
                    "target": 1.2}

        timed("memory", results, memory)
    if "archive" in wanted:
        timed("archive", results, lambda: _archive(args.quick))
    if "archives" in wanted:
        from bench import bench_archives

        timed("archives", results, lambda: bench_archives.run(args.corpus, args.speed_warc,
                                                              rounds=max(args.rounds, 3), workdir=workdir))
    if "extract" in wanted:
        timed("extract", results, lambda: _extract(args.quick, args.extraction_dev))
    if "distributed" in wanted:
        from bench import bench_distributed

        timed("distributed", results, lambda: bench_distributed.run(args.quick, workdir / "distributed"))
    if "quality" in wanted:
        _quality(args, results)
    return results


def _quality(args: argparse.Namespace, results: dict[str, Any]) -> None:
    section = timed("quality", results, lambda: bench_quality.run(
        args.wcxb, args.extraction_dev, args.scorers, limit=60 if args.quick else 0))
    parts = (("WCXB dev", section["wcxb"]), ("extraction-dev", section["extraction_dev"]))
    for name, part in parts:
        if "skipped" in part:
            logger.info("quality: %s skipped (%s)", name, part["skipped"])
    if all("skipped" in part for _, part in parts):
        # nothing measured: the table and the report keep what was last measured
        del results["sections"]["quality"]
        logger.info("quality: nothing measured, %s left as it was", args.quality_doc)
        return
    bench_quality.write_doc(args.quality_doc, section)
    logger.info("quality: table written into %s", args.quality_doc)


def merge(path: Path, new: dict[str, Any]) -> dict[str, Any]:
    """Sections measured now replace their older selves; the others stay as last measured."""
    merged = {"sections": {}}
    if path.is_file():
        try:
            merged = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            logger.warning("%s is not valid JSON: starting afresh", path)
    merged.setdefault("sections", {}).update(new["sections"])
    merged["machine"], merged["options"] = new["machine"], new["options"]
    return merged


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    os.chdir(ROOT)
    latest = args.results / "latest.json"
    if args.render_only:
        return write_doc(args.doc, json.loads(latest.read_text(encoding="utf-8")))
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        workdir, cleanup = args.workdir.resolve(), False
    else:
        workdir, cleanup = Path(tempfile.mkdtemp(prefix="newswarc-bench-")), True
    try:
        results = run(args, workdir)
    finally:
        if cleanup:
            shutil.rmtree(workdir, ignore_errors=True)
    args.results.mkdir(parents=True, exist_ok=True)
    merged = merge(latest, results)
    latest.write_text(json.dumps(merged, indent=2, sort_keys=True), encoding="utf-8")
    sys.stdout.write(report.terminal(results))
    sys.stdout.write(f"raw results: {latest}\n")
    return write_doc(args.doc, merged)


def write_doc(doc: Path, results: dict[str, Any]) -> int:
    """Rewrite the markdown report, keeping the hand-written notes of the existing one and its sections not measured."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(report.markdown(results, report.existing_notes(text), report.old_blocks(text)), encoding="utf-8")
    sys.stdout.write(f"report: {doc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
