"""Benchmark results as text: the machine, the terminal table and ``docs/benchmarks.md``.

The doc is regenerated from ``bench/results/latest.json`` on every run; the hand-written
analysis below the ``NOTES_MARKER`` line of the existing doc is kept as it is.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from bench.sections import ORDER, SECTION_MARK, blocks, sections

NOTES_MARKER = "<!-- hand-written notes below: kept when python -m bench rewrites this file -->"


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, memory, OS and the versions that matter for the numbers."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
        with open("/proc/meminfo", encoding="utf-8") as fh:
            mem_kib = int(next(ln.split()[1] for ln in fh if ln.startswith("MemTotal")))
    except (OSError, StopIteration, ValueError):
        mem_kib = 0
    versions = {"python": platform.python_version()}
    for dist in ("scrapy", "twisted", "trafilatura", "warcio", "lxml", "newswarc"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    for tool, flag in (("wget", "--version"), ("nginx", "-v")):
        path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.access(f"/usr/sbin/{tool}", os.X_OK) else None)
        if path:
            out = subprocess.run([path, flag], capture_output=True, text=True)
            versions[tool] = (out.stdout or out.stderr).splitlines()[0].strip()
    return {"cores": os.cpu_count(), "cpu_model": model, "memory_gib": round(mem_kib / 2**20, 1),
            "os": platform.platform(), "versions": versions}


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                                       strict=True)))
    return [line(header), *(line(r) for r in rows)]


def headline(name: str, section: dict[str, Any]) -> str | None:
    """A section's ratio against the baseline measured with it, in one line (None when it has none)."""
    if "skipped" in section:
        return f"skipped ({section['skipped']})"
    if name.startswith("crawl") and "ratios" in section:
        r = section["ratios"]
        return (f"full / bare wall {r['full_over_bare_wall']:.2f}x, CPU {r['full_over_bare_cpu']:.2f}x"
                + (f"; full / wget wall {r['full_over_wget_wall']:.2f}x" if "full_over_wget_wall" in r else ""))
    if name.startswith("replay") and "ratio_vs_trafilatura" in section:
        return (f"replay takes {section['time_ratio_vs_trafilatura']:.2f}x less time than the plain warcio + "
                f"trafilatura loop on the same WARCs, {section['ratio_vs_trafilatura']:.2f}x its articles/s")
    if name == "extract" and "speedup" in (pool := section.get("pool", {})):
        return f"extraction pool {pool['speedup']:.2f}x the plain trafilatura loop"
    if name == "archive" and "ratio" in section:
        return f"crawl with WARC / without {section['ratio']:.2f}x"
    if name == "memory":
        return f"reactor-process peak RSS {section['growth_main_rss']:.2f}x for the larger crawl"
    if name == "archives" and "speed" in section:
        return f"newswarc reader {section['speed']['ratio_vs_warcio_gz']:.2f}x warcio on .warc.gz"
    if name == "distributed" and "speedup" in section:
        return ", ".join(f"{n} workers {x:.2f}x one worker" for n, x in section["speedup"].items())
    return None


def terminal(results: dict[str, Any]) -> str:
    return "\n".join(sections(results, _text_table)) + "\n"


def markdown(results: dict[str, Any], notes: str, kept: dict[str, str] | None = None) -> str:
    """The doc: machine, every section (measured ones from ``results``, the others as ``kept`` from the old doc), notes."""
    m = results["machine"]
    v = m["versions"]
    lines = ["# Benchmarks", "",
             "Written by `python -m bench` (`make bench`); raw numbers in `bench/results/latest.json` "
             "(git-ignored). Sections can be re-measured alone with `--only`; each says when it was measured "
             "and under what load (other work shared this 2-core machine, so numbers are noisy). The crawl and replay "
             "sections run on two sites: the synthetic demo site and a site of real pages (`bench/realsite.py`: "
             "the WCXB dev article pages, `--real-pages DIR`). The default run (crawl, replay, extract, archive) "
             "takes under 10 minutes here; quality, profile, archives, distributed and memory (a 20,000-article "
             "crawl, about 20 minutes) run with `python -m bench --only SECTION`.", "",
             "## Machine", "",
             f"- {m['cores']} cores, {m['cpu_model'] or 'unknown CPU'}, {m['memory_gib']} GiB RAM, {m['os']}",
             f"- Python {v['python']}, Scrapy {v.get('scrapy')}, Twisted {v.get('twisted')}, trafilatura "
             f"{v.get('trafilatura')}, warcio {v.get('warcio')}, lxml {v.get('lxml')}",
             f"- {v.get('nginx', 'nginx not installed')}; {v.get('wget', 'wget not installed')}",
             f"- document written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
             "## Results", ""]
    measured, kept = blocks(results, _md_table), kept or {}
    for name in ORDER:
        if name in measured:
            lines += [SECTION_MARK.format(name), *measured[name]]
        elif name in kept:
            lines += [SECTION_MARK.format(name), kept[name].strip("\n"), ""]
    lines += [NOTES_MARKER, notes.strip("\n"), ""]
    return "\n".join(lines)


def old_blocks(text: str) -> dict[str, str]:
    """The marked section blocks of an existing doc, by name (what a rewrite keeps of sections not re-measured)."""
    parts = re.split(r"^<!-- section: (\w+) -->\n", text.split(NOTES_MARKER, 1)[0], flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def existing_notes(text: str) -> str:
    return text.split(NOTES_MARKER, 1)[1] if NOTES_MARKER in text else ""
