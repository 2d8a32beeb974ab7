"""Archives others write: `newswarc index` and `replay` over a corpus of third-party files, and the
reader's speed against warcio and FastWARC, in the same run.

``python -m bench --only archives [--corpus DIR] [--speed-warc FILE]`` or
``python -m bench.bench_archives [--corpus DIR] [--speed-warc FILE] [--rounds N]``.

- Corpus (``--corpus DIR``; default: a ``shared/warc-corpus`` folder beside the checkout; skipped with one line if absent): every file is
  indexed by ``newswarc index`` and by cdxj-indexer (a WACZ: its ``archive/`` members), and the
  lines are compared; the whole directory is replayed once. Reported: lines equal or not per
  file, the files the reference cannot read and what ours says about them, any traceback.
- Speed: CPU seconds (best of ``rounds``) to read every record of a ~50 MB per-record gzip WARC
  and of its plain copy, headers parsed, bodies skipped, by the project's reader, warcio's
  ``ArchiveIterator`` and FastWARC's; and ``newswarc index`` against ``cdxj-indexer`` on it.
  Without ``--speed-warc`` the WARC is built in a temporary directory from a demo crawl,
  concatenated with itself (records repeat; reading cost does not care).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "warc-corpus"
BIN = Path(sys.executable).parent
SPEED_BYTES = 48 * 2**20


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# --- the corpus: index lines against cdxj-indexer ------------------------------------------------

def _reference(path: Path, tmp: Path) -> tuple[str | None, str]:
    """cdxj-indexer's sorted lines for one file (a WACZ: its WARC members), or (None, its error)."""
    files = [path]
    if path.suffix == ".wacz":
        try:
            with zipfile.ZipFile(path) as z:
                members = [m for m in z.namelist() if m.startswith("archive/") and ".warc" in m]
                z.extractall(tmp, members)
        except zipfile.BadZipFile as exc:
            return None, f"not a zip: {exc}"
        files = sorted((tmp / m) for m in members)
        if not files:
            return None, "no WARC inside"
    proc = subprocess.run([str(BIN / "cdxj-indexer"), "-s", *map(str, files)], capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        return None, (proc.stderr.strip().splitlines() or ["?"])[-1][:160]
    return proc.stdout, ""


def corpus_check(corpus: Path) -> dict[str, Any]:
    files = sorted(p for p in corpus.iterdir() if p.is_file() and p.name.lower().endswith(
        (".warc", ".warc.gz", ".arc", ".arc.gz", ".wacz")))
    per_file: list[dict[str, Any]] = []
    for path in files:
        ours = subprocess.run([sys.executable, "-m", "crawler.cli", "index", str(path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        with tempfile.TemporaryDirectory() as tmp:
            ref, ref_error = _reference(path, Path(tmp))
        entry = {"file": path.name, "lines": ours.stdout.count("\n"), "exit": ours.returncode,
                 "traceback": "Traceback" in ours.stderr}
        if ref is None:
            entry.update(result="reference fails", reference=ref_error,
                         ours=next((ln.split("skipped: ", 1)[1] for ln in ours.stderr.splitlines()
                                    if "skipped: " in ln), "indexed"))
        else:
            entry.update(result="equal" if ref == ours.stdout else "different", reference_lines=ref.count("\n"))
        per_file.append(entry)
    replay = subprocess.run([sys.executable, "-m", "crawler.cli", "replay", str(corpus), "--jsonl", os.devnull,
                             "--workers", "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    summary = [ln for ln in replay.stderr.splitlines() if ln.startswith(("replay:", "  "))]
    return {"corpus": str(corpus), "files": len(files), "per_file": per_file,
            "equal": sum(e["result"] == "equal" for e in per_file),
            "different": [e["file"] for e in per_file if e["result"] == "different"],
            "reference_fails": [e for e in per_file if e["result"] == "reference fails"],
            "tracebacks": [e["file"] for e in per_file if e["traceback"]] + (
                ["replay"] if "Traceback" in replay.stderr else []),
            "replay_exit": replay.returncode, "replay_summary": summary}


# --- speed -------------------------------------------------------------------------------------

def build_speed_warc(workdir: Path) -> Path:
    """A ~50 MB per-record gzip WARC: a demo crawl's WARC, repeated."""
    demo = workdir / "demo"
    subprocess.run([sys.executable, "-m", "crawler.cli", "demo", "--articles", "600", "--out", str(demo), "-q"],
                   cwd=ROOT, check=True, capture_output=True, timeout=900)
    source = sorted(demo.glob("warc/*.warc.gz"))[0].read_bytes()
    out = workdir / "speed.warc.gz"
    with open(out, "wb") as fh:
        for _ in range(max(1, SPEED_BYTES // len(source) + 1)):
            fh.write(source)
    return out


def _ours(path: Path) -> int:
    from crawler.warc.reader import iter_records

    with open(path, "rb") as fh:
        return sum(1 for _ in iter_records(fh, str(path)))


def _ours_python(path: Path) -> int:
    from crawler.warc.reader import iter_records

    with open(path, "rb") as fh:
        return sum(1 for _ in iter_records(fh, str(path), fast=False))


def _warcio(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as fh:
        return sum(1 for _ in ArchiveIterator(fh))


def _fastwarc(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator

    with open(path, "rb") as fh:
        return sum(1 for _ in ArchiveIterator(fh, parse_http=True))


READERS = {"newswarc": _ours, "newswarc (Python reader only)": _ours_python, "warcio": _warcio,
           "FastWARC": _fastwarc}


def _best(func: Any, path: Path, rounds: int) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(rounds):
        started = _cpu_self()
        n = func(path)
        best = min(best, _cpu_self() - started)
    return best, n


def _child_cpu(cmd: list[str], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = _cpu_children()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False, timeout=900)
        best = min(best, _cpu_children() - started)
    return best


def reader_speed(warc: Path, workdir: Path, rounds: int) -> dict[str, Any]:
    plain = workdir / "speed.warc"
    with gzip.open(warc) as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    res: dict[str, Any] = {"warc": str(warc), "gz_bytes": warc.stat().st_size, "plain_bytes": plain.stat().st_size,
                           "rounds": rounds, "readers": {}}
    for name, func in READERS.items():
        try:
            gz_s, records = _best(func, warc, rounds)
            plain_s, _ = _best(func, plain, rounds)
        except ImportError as exc:
            res["readers"][name] = {"skipped": str(exc)}
            continue
        res["readers"][name] = {"gz_cpu_s": gz_s, "plain_cpu_s": plain_s, "records": records}
    ours, ref = res["readers"]["newswarc"], res["readers"]["warcio"]
    res["ratio_vs_warcio_gz"] = ref["gz_cpu_s"] / ours["gz_cpu_s"]
    res["ratio_vs_warcio_plain"] = ref["plain_cpu_s"] / ours["plain_cpu_s"]
    index_rounds = max(1, min(rounds, 2))
    res["index_cpu_s"] = _child_cpu([sys.executable, "-m", "crawler.cli", "index", str(warc), "-o", os.devnull],
                                    index_rounds)
    res["cdxj_indexer_cpu_s"] = _child_cpu([str(BIN / "cdxj-indexer"), str(warc), "-o", os.devnull], index_rounds)
    plain.unlink()
    return res


def run(corpus: Path | None = None, speed_warc: Path | None = None, *, rounds: int = 3,
        workdir: Path | None = None) -> dict[str, Any]:
    corpus = corpus or DEFAULT_CORPUS
    res: dict[str, Any] = {}
    res["corpus"] = corpus_check(corpus) if corpus.is_dir() else {"skipped": f"{corpus}: no such directory"}
    with tempfile.TemporaryDirectory(prefix="newswarc-bench-archives-", dir=workdir) as tmp:
        warc = speed_warc or build_speed_warc(Path(tmp))
        res["speed"] = reader_speed(warc, Path(tmp), rounds)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_archives", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="third-party files (default: %(default)s)")
    ap.add_argument("--speed-warc", type=Path, help="a per-record gzip WARC for the speed test (default: built)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    res = run(args.corpus, args.speed_warc, rounds=args.rounds)
    res["seconds"] = time.perf_counter() - started
    json.dump(res, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
