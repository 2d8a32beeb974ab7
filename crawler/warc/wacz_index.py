"""The index of a WACZ: CDXJ lines as ``cdxj-indexer`` writes them, sorted on disk, gzip or ZipNum.

Lines are ``crawler.warc.cdxj.cdxj_line``'s (cdxj-indexer's) for ``response``, ``revisit`` and
``resource`` records (``cdxj.REPLAYED``).
Sorting never holds the whole index: :class:`ExternalSorter` keeps a bounded run in memory,
spills sorted runs to temporary files and merges them. A small index is one gzip stream
(``indexes/index.cdx.gz``); past ``zipnum_threshold`` lines it is ZipNum, as py-wacz and
ReplayWeb.page use it: ``index.cdx.gz`` made of independent gzip blocks of ``block_lines``
lines, and ``index.idx`` with the first key, offset, length and sha256 of each block, so a
reader fetches one block per lookup instead of the whole index.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
import os
import tempfile
import zlib
from collections.abc import Iterator
from typing import IO

RUN_LINES = 50_000  # lines sorted in memory (~17 MB) before a run is spilled to disk
BLOCK_LINES = 1024  # lines per ZipNum block (py-wacz's default)
ZIPNUM_THRESHOLD = 3 * BLOCK_LINES


class ExternalSorter:
    """Sorts any number of lines with at most ``run_lines`` of them in memory."""

    def __init__(self, run_lines: int = RUN_LINES, tmp_dir: str | None = None):
        self.run_lines = run_lines
        self.tmp_dir = tmp_dir
        self.count = 0
        self._lines: list[str] = []
        self._runs: list[IO[str]] = []

    def add(self, line: str) -> None:
        self._lines.append(line)
        self.count += 1
        if len(self._lines) >= self.run_lines:
            self._spill()

    def _spill(self) -> None:
        self._lines.sort()
        run = tempfile.TemporaryFile("w+", encoding="utf-8", dir=self.tmp_dir, prefix="newswarc-cdx-")
        run.writelines(line + "\n" for line in self._lines)
        run.seek(0)
        self._runs.append(run)
        self._lines = []

    def sorted(self) -> Iterator[str]:
        """Every line once, in order (call once)."""
        self._lines.sort()
        if not self._runs:
            yield from self._lines
            return
        streams = [(line.rstrip("\n") for line in run) for run in self._runs]
        yield from heapq.merge(iter(self._lines), *streams)

    def close(self) -> None:
        for run in self._runs:
            run.close()
        self._runs, self._lines = [], []


def write_gzip_index(lines: Iterator[str], out: IO[bytes]) -> int:
    """One gzip stream of sorted lines; returns the line count."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    count, batch = 0, []
    for line in lines:
        batch.append(line)
        count += 1
        if len(batch) >= BLOCK_LINES:
            out.write(comp.compress(("\n".join(batch) + "\n").encode("utf-8")))
            batch = []
    if batch:
        out.write(comp.compress(("\n".join(batch) + "\n").encode("utf-8")))
    out.write(comp.flush())
    return count


def write_zipnum_index(lines: Iterator[str], out: IO[bytes], idx: IO[str], *,
                       data_name: str = "index.cdx.gz", block_lines: int = BLOCK_LINES) -> int:
    """ZipNum: ``out`` gets gzip blocks of ``block_lines`` lines, ``idx`` one summary line per block."""
    idx.write(f"!meta 0 {json.dumps({'format': 'cdxj-gzip-1.0', 'filename': data_name})}\n")
    offset = count = 0
    block: list[str] = []

    def flush() -> None:
        nonlocal offset
        data = zlib.compress(("\n".join(block) + "\n").encode("utf-8"), 6, 16 + zlib.MAX_WBITS)
        key = block[0].split(" {", 1)[0]
        summary = {"offset": offset, "length": len(data), "digest": "sha256:" + hashlib.sha256(data).hexdigest()}
        idx.write(f"{key} {json.dumps(summary)}\n")
        out.write(data)
        offset += len(data)
        block.clear()

    for line in lines:
        block.append(line)
        count += 1
        if len(block) >= block_lines:
            flush()
    if block:
        flush()
    return count


def iter_index_lines(stream: IO[bytes]) -> Iterator[str]:
    """The CDXJ lines of an ``index.cdx.gz`` (plain gzip or ZipNum blocks: both are gzip members)."""
    with gzip.GzipFile(fileobj=stream) as gz:
        for raw in gz:
            if line := raw.decode("utf-8").rstrip("\n"):
                yield line


def tmp_dir_for(path: str | os.PathLike) -> str:
    """Spill next to the output (same disk as the package), not in a small /tmp."""
    return os.path.dirname(os.path.abspath(path)) or "."
