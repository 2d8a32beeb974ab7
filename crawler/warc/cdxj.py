"""CDXJ index lines, as cdxj-indexer writes them (``SURT TIMESTAMP {json}``), from the one reader.

Why not cdxj-indexer itself: it stops at the first damaged record, leaving nothing for the rest
of the files, and cannot read a WACZ. Here every file is indexed on its own: a damaged file is
skipped with a one-line reason and the others are indexed. The lines are cdxj-indexer's, field
for field: ``url, mime, status, digest, length, offset, filename``; ``response``, ``revisit``,
``resource`` and ``metadata`` records (not ``application/warc-fields`` ones); a payload digest
computed where the record carries none; ``mime`` left out where the record has no content type;
``filename`` the file's base name (a WACZ member's own name, as in the WACZ's index). Lines are
sorted (pywb binary-searches the index) on disk, in bounded memory (:func:`index_sources`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import surt
from warcio.timeutils import iso_date_to_timestamp

from crawler.warc.reader import Corrupt, WarcRecord, iter_records
from crawler.warc.sources import READ_ERRORS, Source, SourceSet
from crawler.warc.wacz_index import RUN_LINES, ExternalSorter

logger = logging.getLogger(__name__)

INDEXED = ("response", "revisit", "resource", "metadata")  # what cdxj-indexer (and `newswarc index`) lists
# What a WACZ's index points replay at: not metadata records, which pywb and ReplayWeb.page would
# serve for their page's URL when they are the index's only entry for it.
REPLAYED = tuple(kind for kind in INDEXED if kind != "metadata")
WHOLE_FILE_GZIP = ("whole-file gzip: its records cannot be read at an offset "
                   "(`warcio recompress` makes it indexable)")
_MIME_END = re.compile(r"[;\s]")


@dataclass
class IndexResult:
    """What an index run did: lines written, files indexed, files skipped with their reason."""

    lines: int = 0
    indexed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source name, one-line reason)
    warnings: list[str] = field(default_factory=list)


def surt_key(url: str) -> str:
    """The SURT an index line is keyed on (pywb, cdxj-indexer); an unparseable URL is its own key."""
    try:
        return surt.surt(url)
    except Exception:  # as cdxj-indexer: an unparseable URL is its own key
        return url


def timestamp14(warc_date: str) -> str:
    """``2026-12-02T00:37:41.846603Z`` -> ``20261202003741``, what pywb and cdxj-indexer key on.

    warcio's conversion where it applies (the index equals cdxj-indexer's); a date it cannot read
    (missing, cut short) gives its digits padded with zeros instead of an exception, so one odd
    record never stops an index.
    """
    try:
        return iso_date_to_timestamp(warc_date)
    except (TypeError, ValueError, OverflowError, IndexError):
        digits = "".join(ch for ch in warc_date[:19] if ch.isdigit())
        return digits.ljust(14, "0")[:14]


def cdxj_line(rec: WarcRecord, filename: str, types: tuple[str, ...] = INDEXED) -> str | None:
    """The index line of one record, or None for a record cdxj-indexer does not index (or whose type
    is not in ``types``: a WACZ gives :data:`REPLAYED`). The one line builder of `index` and `wacz`."""
    kind = rec.type
    if kind not in types:
        return None
    ctype = rec.headers.get("content-type")
    if kind in ("resource", "metadata") and ctype == "application/warc-fields":
        return None
    url = rec.target_uri
    entry: dict[str, str] = {"url": url}
    if kind == "revisit":
        mime: str | None = "warc/revisit"
    elif kind == "response":
        mime = rec.http_header("Content-Type") if rec.http_raw else None
    else:
        mime = ctype
    if mime:
        mime = _MIME_END.split(mime, 1)[0].strip()
    if mime is not None:
        entry["mime"] = mime
    if rec.http_status is not None:
        entry["status"] = str(rec.http_status)
    if digest := rec.payload_digest:
        entry["digest"] = digest
    entry["length"] = str(rec.length)
    entry["offset"] = str(rec.offset)
    entry["filename"] = filename
    return f"{surt_key(url)} {timestamp14(rec.date)} {json.dumps(entry)}"


def source_lines(source: Source, out: IO[str]) -> tuple[str | None, list[str]]:
    """``(reason the file is skipped or None, warnings)`` for one source, read to its end; its lines
    go to ``out`` (one each, ``\n``-terminated), which the caller discards for a skipped file."""
    if source.error:
        return source.error, []
    warnings: list[str] = []
    try:
        with source.open() as stream:
            for item in iter_records(stream, source.name, gzip=source.gzip, digests=True):
                if isinstance(item, Corrupt):
                    where = f"offset {item.offset}: {item.message}"
                    if not item.kept:
                        return where, warnings
                    warnings.append(f"{source.name}: {where}")
                    continue
                if item.type not in INDEXED:
                    continue
                if item.length is None:
                    return WHOLE_FILE_GZIP, warnings
                if (line := cdxj_line(item, source.basename)) is not None:
                    out.write(line + "\n")
    except READ_ERRORS as exc:
        return f"cannot read: {getattr(exc, 'strerror', None) or exc}", warnings
    return None, warnings


@contextlib.contextmanager
def index_sources(sources: Iterable[Source], *, run_lines: int = RUN_LINES,
                  tmp_dir: str | None = None) -> Iterator[tuple[Iterator[str], IndexResult]]:
    """``with index_sources(...) as (lines, result)``: every readable source is read first (``result``
    is complete), then ``lines`` yields the sorted index lines once.

    Memory stays bounded whatever the archive's size: a file's lines wait in a temporary file until
    the file has been read to its end (a damaged file is skipped whole), then go to an
    :class:`~crawler.warc.wacz_index.ExternalSorter` that keeps ``run_lines`` lines in memory and
    merges sorted runs from disk.
    """
    result = IndexResult()
    sorter = ExternalSorter(run_lines, tmp_dir)
    try:
        for source in sources:
            with tempfile.SpooledTemporaryFile(run_lines * 256, "w+", encoding="utf-8", dir=tmp_dir) as spool:
                reason, warnings = source_lines(source, spool)
                result.warnings.extend(warnings)
                if reason is not None:
                    result.skipped.append((source.name, reason))
                    continue
                result.indexed.append(source.name)
                spool.seek(0)
                for line in spool:
                    sorter.add(line.rstrip("\n"))
        result.lines = sorter.count
        yield sorter.sorted(), result
    finally:
        sorter.close()


def write_cdxj(specs: Sequence[str | os.PathLike], out: IO[str]) -> int:
    """Write the sorted CDXJ index of the SOURCE specs to ``out``; returns the number of lines."""
    source_set = SourceSet([str(s) for s in specs])
    try:
        with index_sources(source_set) as (lines, result):
            for line in lines:
                out.write(line + "\n")
    finally:
        source_set.close()
    return result.lines


def write_cdxj_file(lines: Iterable[str], path: str | os.PathLike) -> None:
    """Write ``lines`` to ``path`` atomically: a temporary file in the same directory, then a rename,
    so that an existing index is never left truncated by a failure.

    Only a regular file (or a new one) is replaced that way: ``-o /dev/null``, a FIFO or a terminal is
    written in place (renaming over a device, as root, would put a plain file where the device was).
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        with open(path, "w", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
