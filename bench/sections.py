"""Each section of the benchmark results as lines: the crawl, replay, extraction, quality, archive,
memory, profile and distributed tables with their ratios against the baseline measured in the same
run. ``table(header, rows)`` (from :mod:`bench.report`) makes them markdown or plain text.
"""

from __future__ import annotations

from typing import Any


def _f(value: Any, digits: int = 1) -> str:
    return f"{value:,.{digits}f}" if isinstance(value, (int, float)) else str(value)


def _mib(kib: Any) -> str:
    return f"{kib / 1024:,.0f}" if isinstance(kib, (int, float)) else "-"


#: issue 22: replay at least 1.8x the plain warcio + trafilatura.extract loop, same run
REPLAY_TARGET = 1.8


def _verdict(value: float, target: float, lower_is_better: bool = True) -> str:
    ok = value <= target if lower_is_better else value >= target
    return "met" if ok else "**missed**"


def _meta(section: dict[str, Any]) -> str:
    load = section.get("load_before", [])
    where = f" on {section['machine']}" if section.get("machine") else ""  # kept sections may be older
    return (f"_measured {section.get('measured_at', '?')}{where}, {section.get('seconds', 0):.0f} s, "
            f"load average before {' / '.join(f'{x:.2f}' for x in load)}_")


def crawl_rows(crawl: dict[str, Any]) -> list[list[str]]:
    labels = {"full": "newswarc (WARC + extraction + text + JSONL)", "bare": "newswarc, archive + extraction off",
              **{v: f"newswarc full, {', '.join(f'{k}={x}' for k, x in s.items())}"
                 for v, s in crawl.get("variants", {}).items()},
              "wget": "wget -r --warc-file"}
    rows = []
    for kind, label in labels.items():
        r = crawl.get(kind)
        if not r or "skipped" in r:
            rows.append([label, *["-"] * 9, r.get("skipped", "not run") if r else "not run"])
            continue
        rows.append([label, f"{r['pages']:,}", _f(r["wall_s"]), _f(r.get("engine_s", "-")), _f(r["pages_per_s"]),
                     _f(r["cpu_s"]), _f(r["main_cpu_s"]),
                     _f(r["cpu_ms_per_page"]), _mib(r["main_rss_kib"]), _mib(r["tree_rss_kib"]),
                     f"{r.get('articles', '-')}"])
    return rows


#: the harness's kinds of process (``Measured.process_rss_kib`` / ``process_cpu_s``) in a crawl's words
PROCESS_NAMES = {"main": "crawl (reactor) process", "spawned": "WARC writer",
                 "forkserver": "extraction workers (and their fork server)", "other": "other processes"}

CRAWL_HEADER = ["crawler", "pages", "wall s", "engine s", "pages/s", "CPU s", "CPU s (main)", "CPU ms/page", "peak RSS MiB (main)",
                "peak RSS MiB (all procs)", "articles"]


def crawl_lines(crawl: dict[str, Any] | None, table: Any) -> list[str]:
    """A crawl section (demo or real-page site): the table, ratios against bare, wget and the floor."""
    out: list[str] = []
    if not crawl:
        return out
    if "skipped" in crawl:
        return ["### Crawl (real-page site)", "", f"skipped: {crawl['skipped']}", ""]
    ratios, site = crawl["ratios"], crawl["site"]
    out += [f"### Crawl ({site['articles']:,}-article {site.get('label', 'demo site')}, {site['files']:,} files, "
            f"served by {site['server']})", "", _meta(crawl), ""]
    out += table(CRAWL_HEADER, crawl_rows(crawl))
    target = ratios["target_full_over_bare_wall"]
    out += ["", f"- full / bare wall time: **{ratios['full_over_bare_wall']:.2f}x** (target <= "
            f"{target}: {_verdict(ratios['full_over_bare_wall'], target)}); "
            f"CPU {ratios['full_over_bare_cpu']:.2f}x; reactor-process peak RSS {ratios['full_over_bare_rss']:.2f}x"]
    if "full_over_wget_wall" in ratios:
        out.append(f"- full newswarc / wget: wall time {ratios['full_over_wget_wall']:.2f}x, "
                   f"pages/s {ratios['full_over_wget_pages_per_s']:.2f}x (wget follows HTML links only, "
                   "over one connection, and extracts nothing)")
    if floor := crawl.get("floor"):
        wall_floor, bare_wall = ratios["full_wall_over_floor_cpu"], ratios["full_over_bare_wall"]
        out.append(f"- the floor (bare crawl's CPU {floor['bare_cpu_s']:.1f} s + a plain warcio + "
                   f"trafilatura.extract loop over the same HTML, {floor['loop_cpu_s']:.1f} s CPU = "
                   f"{floor['cpu_s']:.1f} s): full CPU **{ratios['full_cpu_over_floor_cpu']:.2f}x** the floor, full "
                   f"wall **{wall_floor:.2f}x** the floor's CPU (target <= 0.75: {_verdict(wall_floor, 0.75)}); full "
                   f"wall / bare wall {bare_wall:.2f}x (target <= 1.1 on real pages: {_verdict(bare_wall, 1.1)}); "
                   f"the full crawl kept {crawl['full']['cpu_s'] / crawl['full']['wall_s']:.2f} cores busy on average "
                   f"(the reactor process {crawl['full']['main_cpu_s'] / crawl['full']['wall_s']:.2f})")
    if by_kind := crawl["full"].get("process_cpu_s"):
        out.append("- the full crawl's CPU by process: " + ", ".join(
            f"{PROCESS_NAMES.get(k, k)} {by_kind[k]:.1f} s" for k in sorted(by_kind, key=by_kind.get, reverse=True)))
    for v, extra in crawl.get("variants", {}).items():
        if v == "archive_only" and v + "_over_bare_wall" in ratios:
            out.append(f"- WARC capture alone (extraction off) / bare wall time: **{ratios[v + '_over_bare_wall']:.2f}x** "
                       f"(target <= 1.15: {_verdict(ratios[v + '_over_bare_wall'], 1.15)})")
            continue
        out.append(f"- full crawl with {', '.join(f'{k}={x}' for k, x in extra.items())} / default full crawl: "
                   f"wall time {ratios[v + '_over_full_wall']:.2f}x, reactor-process CPU "
                   f"{ratios[v + '_over_full_main_cpu']:.2f}x")
    out.append(f"- crawl settings: {', '.join(f'{k}={v}' for k, v in crawl['settings'].items())}; "
               f"{crawl['rounds']} round(s), median shown")
    out.append("")
    return out


def replay_lines(rep: dict[str, Any] | None, table: Any) -> list[str]:
    """A replay section (the full crawl's WARCs of one site) against the plain warcio + trafilatura loop."""
    out: list[str] = []
    if rep and "skipped" not in rep:
        rows = [[label, f"{rep[k]['articles']:,}", _f(rep[k]["seconds"]), _f(rep[k]["articles_per_s"])]
                for label, k in (("sequential warcio + trafilatura.extract", "sequential_trafilatura"),
                                 ("sequential warcio + newswarc extractor", "sequential_newswarc_extract"),
                                 (f"newswarc replay ({rep.get('cores')} cores)", "replay"))]
        site = rep.get("site", {})
        label = f" ({site['articles']:,}-article {site['label']})" if site.get("label") else ""
        out += [f"### Replay / re-extraction of the full crawl's WARC{label}", "", _meta(rep), ""]
        out += table(["variant", "articles", "seconds", "articles/s"], rows)
        target = rep.get("target", REPLAY_TARGET)
        if "time_ratio_vs_trafilatura" in rep:
            time_ratio = rep["time_ratio_vs_trafilatura"]
            out += ["", f"- the same WARCs, each doing its whole job: replay takes **{time_ratio:.2f}x** less time "
                    f"than the plain warcio + trafilatura loop (target >= {target}, the measure of time for the "
                    f"same WARCs: {_verdict(time_ratio, target, lower_is_better=False)})"]
        out.append(f"- articles/s: replay **{rep['ratio_vs_trafilatura']:.2f}x** the loop's (the loop counts every "
                   "HTML page it extracted text from, listings and duplicates included; replay the articles it wrote)")
        out.append(f"- vs the same extractor sequentially: {rep['ratio_vs_same_extractor']:.2f}x "
                   f"(input {rep.get('input_bytes', 0) / 2**20:.1f} MiB of WARC)")
        if rep.get("rounds", 1) > 1:
            out.append(f"- {rep['rounds']} rounds, each measuring all three variants; time ratios "
                       f"{', '.join(f'{x:.2f}x' for x in rep['round_ratios'])}, the median round shown")
        out.append("")
    elif rep:
        out += ["### Replay (real-page site)", "", f"skipped: {rep['skipped']}", ""]
    return out


def _extract_lines(ext: dict[str, Any], table: Any) -> list[str]:
    """The extract section: the extraction pool against the plain loop (F1 is the quality section's)."""
    out: list[str] = []
    out += ["### Extraction", "", _meta(ext), ""]
    pool = ext.get("pool", {})
    if pool and "skipped" not in pool:
        rows = [[label, f"{pool[k]['pages']:,}" if "pages" in pool[k] else f"{pool['pages']:,}",
                 _f(pool[k]["seconds"], 2), _f(pool[k]["pages_per_s"])]
                for label, k in (("sequential trafilatura.extract", "sequential"),
                                 ("sequential extract_article", "sequential_extract_article"),
                                 (f"ExtractionPool ({pool.get('workers')} workers)", "pool"))]
        out += ["", *table(["variant", "pages", "seconds", "pages/s"], rows), "",
                f"- pool vs trafilatura loop: {pool['speedup']:.2f}x; pool vs the same work sequentially: "
                f"{pool['pool_scaling']:.2f}x"]
    elif pool:
        out.append(f"- extraction pool benchmark: skipped ({pool['skipped']})")
    out.append("")
    return out


def _archive_lines(arc: dict[str, Any]) -> list[str]:
    """The archive section: crawl time with vs without WARC capture."""
    out: list[str] = []
    out += ["### WARC capture cost (`bench.bench_archive`: its own gzip article server)", "", _meta(arc), ""]
    if "skipped" in arc:
        out.append(f"skipped: {arc['skipped']}")
    else:
        out.append(f"- {arc['pages']} pages, {arc['rounds']} rounds alternating, median engine time: with WARC "
                   f"{arc['with_warc_s']:.2f} s, without {arc['without_warc_s']:.2f} s: **{arc['ratio']:.2f}x** "
                   f"(target <= {arc['target_ratio']}: {_verdict(arc['ratio'], arc['target_ratio'])}); "
                   f"{arc['warc_bytes'] / 2**20:.1f} MiB of WARC")
    out.append("")
    return out


def _memory_lines(mem: dict[str, Any], table: Any) -> list[str]:
    """The memory section: peak RSS of a small and a large crawl."""
    out: list[str] = []
    small, big = mem["small"], mem["large"]
    rows = [[f"{r['articles_site']:,} articles", f"{r['pages']:,}", _f(r["wall_s"]), _mib(r["main_rss_kib"]),
             _mib(r["tree_rss_kib"])] for r in (small, big)]
    out += ["### Memory growth of the full crawl", "", _meta(mem), ""]
    out += table(["site", "pages", "wall s", "peak RSS MiB (main)", "peak RSS MiB (all procs)"], rows)
    g, target = mem["growth_main_rss"], mem.get("target", 1.5)
    out += ["", f"- {big['articles_site']:,} vs {small['articles_site']:,} articles: reactor-process peak RSS "
            f"**{g:.2f}x** (target <= {target}: {_verdict(g, target)}); all processes {mem['growth_tree_rss']:.2f}x"]
    growth = mem.get("growth_by_process") or {}
    for kind in sorted(growth, key=lambda k: list(PROCESS_NAMES).index(k) if k in PROCESS_NAMES else len(PROCESS_NAMES)):
        ratio = growth[kind]
        out.append(f"- {PROCESS_NAMES.get(kind, kind)}: {_mib(small['process_rss_kib'][kind])} / "
                   f"{_mib(big['process_rss_kib'][kind])} MiB peak, **{ratio:.2f}x** (target <= {target}: "
                   f"{_verdict(ratio, target)})")
    out.append("")
    return out


def _quality_lines(quality: dict[str, Any]) -> list[str]:
    """The quality section (its full table is in docs/extraction.md)."""
    from bench.bench_quality import markdown as quality_lines  # bench_quality is heavy; only when measured

    out: list[str] = []
    out += ["### Extraction quality (WCXB dev, extraction-dev)", "", _meta(quality), ""]
    out += quality_lines(quality) + [""]
    return out


#: The order of the sections in the report; each is marked ``<!-- section: NAME -->`` in the doc so that a
#: rewrite keeps the blocks of sections not measured since (latest.json is git-ignored: a fresh checkout has none)
ORDER = ("crawl", "replay", "crawl_real", "replay_real", "quality", "extract", "archive", "archives", "memory",
         "distributed", "profile", "profile_real")
SECTION_MARK = "<!-- section: {} -->"


def blocks(results: dict[str, Any], table: Any) -> dict[str, list[str]]:
    """Each measured section's lines by name, with ``table(header, rows)`` choosing markdown or plain text."""
    s = results.get("sections", {})
    out: dict[str, list[str]] = {}
    for suffix in ("", "_real"):
        out["crawl" + suffix] = crawl_lines(s.get("crawl" + suffix), table)
        out["replay" + suffix] = replay_lines(s.get("replay" + suffix), table)
        if prof := s.get("profile" + suffix):
            out["profile" + suffix] = (["### Profile (real-page site)", "", f"skipped: {prof['skipped']}", ""]
                                       if "skipped" in prof else profile_lines(prof, table))
    if (quality := s.get("quality")) is not None:
        out["quality"] = _quality_lines(quality)
    if ext := s.get("extract"):
        out["extract"] = _extract_lines(ext, table)
    if arc := s.get("archive"):
        out["archive"] = _archive_lines(arc)
    if arcs := s.get("archives"):
        out["archives"] = _archives(arcs, table)
    if mem := s.get("memory"):
        out["memory"] = _memory_lines(mem, table)
    if dist := s.get("distributed"):
        out["distributed"] = distributed_lines(dist, table)
    return {k: v for k, v in out.items() if v}


def sections(results: dict[str, Any], table: Any) -> list[str]:
    """Every measured section as lines, in :data:`ORDER`."""
    measured = blocks(results, table)
    return [line for name in ORDER for line in measured.get(name, [])]


def profile_lines(prof: dict[str, Any], table: Any) -> list[str]:
    """The profile section of one site: top functions by own and cumulative time."""
    site = prof.get("site", {}).get("label", "demo site")
    out = [f"### Profile of one full crawl of the {site} (cProfile, reactor process; "
           f"{prof['crawl']['pages']:,} pages, {prof['crawl']['wall_s']:.0f} s under the profiler)", "", _meta(prof), ""]
    for key, label in (("by_own", "own time"), ("by_cumulative", "cumulative time")):
        # the entry-point chain (runpy, cli.main, reactor.run, ...) holds ~all cumulative time: not news
        shown = [r for r in prof[key] if key == "by_own" or r["cumulative_s"] < 0.9 * prof["profiled_s"]]
        rows = [[r["function"].replace("|", "\\|"), f"{r['calls']:,}", _f(r["own_s"], 2), _f(r["cumulative_s"], 2)]
                for r in shown[:15]]
        out += [f"Top functions by {label}:", "", *table(["function", "calls", "own s", "cumulative s"], rows), ""]
    return out


def _archives(arcs: dict[str, Any], table: Any) -> list[str]:
    """The ``archives`` section: third-party files against cdxj-indexer, reader speed."""
    out = ["### Archives others write (`bench.bench_archives`)", "", _meta(arcs), ""]
    corpus = arcs.get("corpus", {})
    if "skipped" in corpus:
        out.append(f"- corpus: skipped ({corpus['skipped']})")
    elif corpus:
        out.append(f"- `{corpus['corpus']}`: {corpus['files']} files; `newswarc index` lines equal to cdxj-indexer's "
                   f"on **{corpus['equal']}**, different on {len(corpus['different'])} "
                   f"({', '.join(corpus['different']) or 'none'}); tracebacks: {', '.join(corpus['tracebacks']) or 'none'}")
        for e in corpus["reference_fails"]:
            out.append(f"  - {e['file']}: cdxj-indexer fails ({e['reference']}); newswarc skips it: {e['ours']}")
        out.append(f"- replay of the whole directory: exit {corpus['replay_exit']}; "
                   + "; ".join(line.strip() for line in corpus["replay_summary"]))
    if speed := arcs.get("speed"):
        rows = [[name, *(("skipped", "", "") if "skipped" in r else
                         (f"{r['records']:,}", _f(r["gz_cpu_s"], 2), _f(r["plain_cpu_s"], 2)))]
                for name, r in speed["readers"].items()]
        out += ["", f"Reading every record (headers parsed, bodies skipped), CPU seconds, best of {speed['rounds']}: "
                f"{speed['gz_bytes'] / 2**20:.0f} MiB per-record gzip WARC and its {speed['plain_bytes'] / 2**20:.0f} MiB "
                "plain copy", "", *table(["reader", "records", ".warc.gz s", ".warc s"], rows), "",
                f"- newswarc reader vs warcio: **{speed['ratio_vs_warcio_gz']:.2f}x** (.warc.gz), "
                f"{speed['ratio_vs_warcio_plain']:.2f}x (.warc) (target >= 2: "
                f"{_verdict(speed['ratio_vs_warcio_gz'], 2, lower_is_better=False)})",
                f"- `newswarc index` {speed['index_cpu_s']:.2f} s CPU vs `cdxj-indexer` {speed['cdxj_indexer_cpu_s']:.2f} s "
                "on the same .warc.gz (processes, start-up included)"]
    return out


def distributed_lines(dist: dict[str, Any], table: Any) -> list[str]:
    """The distributed section: throughput by workers, per-domain concurrency, Redis memory."""
    out = [f"### Distributed crawl ({dist['sites']} loopback sites on 127.0.0.x, {dist['latency_s']} s latency each, "
           f"fleet politeness: 1 request at a time per domain, DOWNLOAD_DELAY {dist['download_delay_s']} s)", "",
           _meta(dist), ""]
    rows = []
    for n, r in dist["runs"].items():
        rows.append([n, f"{r['requests']:,}", str(r["duplicates"]), _f(r["span_s"]), _f(r["pages_per_s"]),
                     "1.00" if n == "1" else f"{dist['speedup'][n]:.2f}", str(r["max_in_flight_per_domain"]),
                     " / ".join(str(p) for p in r["pages_by_worker"])])
    out += table(["workers", "requests", "fetched twice", "seconds", "pages/s", "speed-up", "max per domain",
                  "pages by worker"], rows)
    targets = dist.get("targets", {})
    out += [""] + [f"- {n} workers: **{dist['speedup'][n]:.2f}x** one worker's pages/s (target >= {t}: "
                   f"{_verdict(dist['speedup'][n], t, lower_is_better=False)})" for n, t in targets.items()]
    out.append(f"- each worker has CONCURRENT_REQUESTS={dist['per_worker']}; the fleet's politeness allows at most "
               f"{dist['fleet_cap_pages_per_s']} pages/s over these sites; extraction off (per page, the same for any "
               "number of workers)")
    if mem := dist.get("memory"):
        out.append(f"- Redis memory (used_memory, {mem['n']:,} of each): **{mem['queued_mb_per_100k']} MB per 100k "
                   f"queued requests** ({mem['queued_bytes_per_url']} B each; the JSON form of a sitemap-found "
                   f"article request is {mem['json_request_bytes']} B), **{mem['seen_mb_per_100k']} MB per 100k seen "
                   f"URLs** ({mem['seen_bytes_per_url']} B each)"
                   + (f"; crawl state {mem['state_bytes_per_url']} B per archived URL ({mem['state_n']:,} measured)"
                      if "state_bytes_per_url" in mem else ""))
    out.append("")
    return out
