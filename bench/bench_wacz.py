"""Peak memory and speed of ``newswarc wacz`` on large archives (``python -m bench.bench_wacz``).

Writes a synthetic crawl output of each given size (``warc/`` files of 1 GB at most, one gzip
member per record: response, request and metadata per page, every fourth page a revisit of an
earlier payload, one article JSONL row per ten pages), packages each with ``newswarc wacz
--text`` in a child process, and reports the child's peak RSS (``VmHWM``, polled) and throughput. Flat
memory means the peak does not grow with the archive's size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from base64 import b32encode
from pathlib import Path

from bench.harness import ROOT

MAX_FILE = 1_000_000_000


def _digest(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode()


def _member(headers: list[tuple[str, str]], block: bytes) -> bytes:
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(block)}\r\n\r\n"
    return zlib.compress(head.encode() + block + b"\r\n\r\n", 1, 31)


def make_archive(out: Path, size: int, seed: int = 7) -> dict[str, int]:
    """A crawl output of about ``size`` compressed bytes; returns counts."""
    rng = random.Random(seed)
    (out / "warc").mkdir(parents=True)
    (out / "articles" / "bench").mkdir(parents=True)
    pages = written = files = 0
    earlier: list[tuple[str, str, bytes, str]] = []
    rows = open(out / "articles" / "bench" / "20260101T000000Z-bench-1.jsonl", "w", encoding="utf-8")
    while written < size:
        files += 1
        name = f"newswarc-20260101000000000-{files:05d}-bench-1.warc.gz"
        with open(out / "warc" / name, "wb") as fh:
            info = b"software: newswarc bench\r\nisPartOf: bench\r\n"
            fh.write(_member([("WARC-Type", "warcinfo"), ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"),
                              ("WARC-Date", "2026-01-01T00:00:00Z"), ("WARC-Filename", name),
                              ("Content-Type", "application/warc-fields")], info))
            while fh.tell() < MAX_FILE and written + fh.tell() < size:
                pages += 1
                url = f"http://bench.example/{pages // 1000}/page-{pages}.html"
                date = f"2026-01-01T{(pages // 3600) % 24:02d}:{(pages // 60) % 60:02d}:{pages % 60:02d}.{pages % 1000000:06d}Z"
                rid = f"<urn:uuid:{uuid.uuid4()}>"
                if earlier and pages % 4 == 0:
                    o_url, o_date, payload, title = rng.choice(earlier)
                    http = (f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                            f"Content-Length: {len(payload)}\r\n\r\n").encode()
                    offset = fh.tell()
                    fh.write(_member([("WARC-Type", "revisit"), ("WARC-Record-ID", rid), ("WARC-Date", date),
                                      ("WARC-Target-URI", url), ("WARC-Payload-Digest", _digest(payload)),
                                      ("WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"),
                                      ("WARC-Refers-To-Target-URI", o_url), ("WARC-Refers-To-Date", o_date),
                                      ("Content-Type", "application/http;msgtype=response")], http))
                else:
                    title = f"Bench article {pages}"
                    text = " ".join(rng.choice(("news", "city", "report", "vote", "plan", "market"))
                                    for _ in range(rng.randint(300, 1500)))
                    payload = (f"<html><head><title>{title}</title></head><body><p>{text}</p>"
                               f"<!-- {os.urandom(rng.randint(2000, 12000)).hex()} --></body></html>").encode()
                    http = (f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                            f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
                    offset = fh.tell()
                    fh.write(_member([("WARC-Type", "response"), ("WARC-Record-ID", rid), ("WARC-Date", date),
                                      ("WARC-Target-URI", url), ("WARC-Payload-Digest", _digest(payload)),
                                      ("Content-Type", "application/http;msgtype=response")], http))
                    if len(earlier) < 5000:
                        earlier.append((url, date, payload, title))
                req = f"GET /{pages // 1000}/page-{pages}.html HTTP/1.1\r\nHost: bench.example\r\n\r\n".encode()
                fh.write(_member([("WARC-Type", "request"), ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"),
                                  ("WARC-Date", date), ("WARC-Target-URI", url), ("WARC-Concurrent-To", rid),
                                  ("Content-Type", "application/http;msgtype=request")], req))
                meta = f"seed: bench\r\nroute: {'start' if pages == 1 else 'link'}\r\nfetch-time: {date}\r\n".encode()
                fh.write(_member([("WARC-Type", "metadata"), ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"),
                                  ("WARC-Date", date), ("WARC-Target-URI", url), ("WARC-Concurrent-To", rid),
                                  ("Content-Type", "application/warc-fields")], meta))
                if pages % 10 == 0:
                    rows.write(json.dumps({"id": f"b{pages}", "site": "bench", "url": url, "title": title,
                                           "text": f"Text of {title}", "warc_file": f"warc/{name}",
                                           "warc_offset": offset}) + "\n")
            written += fh.tell()
    rows.close()
    return {"bytes": written, "pages": pages, "files": files}


def _hwm_kb(pid: int) -> int | None:
    """The process's peak RSS so far (``VmHWM``; reset at exec, unlike ``ru_maxrss``, which also
    counts the parent's pages at fork)."""
    try:
        for line in open(f"/proc/{pid}/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def package(archive: Path, out: Path) -> dict[str, float]:
    """``newswarc wacz ARCHIVE -o OUT --text`` in a child; its wall time and peak RSS."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "wacz", str(archive), "-o", str(out), "--text"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _hwm_kb(proc.pid) or 0)
        time.sleep(0.05)
    wall = time.monotonic() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"newswarc wacz failed: {err[-2000:]}")
    return {"seconds": round(wall, 1), "peak_rss_mb": round(peak / 1024, 1),
            "package_bytes": out.stat().st_size, "mb_per_s": round(out.stat().st_size / wall / 1e6, 1),
            "summary": err.strip().splitlines()[0] if err.strip() else ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000000,1000000000", help="archive sizes in bytes (comma-separated)")
    parser.add_argument("--dir", default=None, help="work directory (default: a temporary one next to the repo)")
    args = parser.parse_args(argv)
    work = Path(args.dir or tempfile.mkdtemp(prefix="bench-wacz-", dir=ROOT.parent))
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            archive = work / f"archive-{size}"
            counts = make_archive(archive, size)
            result = package(archive, work / f"archive-{size}.wacz")
            print(json.dumps({"archive": counts, **result}), flush=True)
            shutil.rmtree(archive)
            (work / f"archive-{size}.wacz").unlink()
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
