"""``newswarc export``: an archive's articles as one Parquet (or JSONL) dataset.

Input is the archive's own JSONL (``articles/SITE/RUN_ID[-NNN].jsonl``: every article field and
its WARC pointer), read through storage, so a local archive and ``s3://...`` work alike. The
output is partitioned by site and publication month::

    OUT/SITE/YYYY-MM/part-00000.parquet      (``unknown`` when the page states no date)
    OUT/_export.json                         what was written: files, rows, schema, filters

Directories are plain names, not ``key=value``: the site and month are columns of every file
already, and a Hive partition of the same name would clash with them in pyarrow's reader.

Memory stays flat whatever the archive's size. Pass 1 reads every line once: it appends the
line to a spill file of its partition (in a hidden temporary directory of the output) and
keeps 18 bytes for it, its id (10 bytes) and its version rank (fetch time, then line number),
in two flat arrays; numpy then sorts them once to mark the latest version of each id in a
boolean array indexed by line. Pass 2 turns each spill
file into its Parquet file with pyarrow, one row group of at most ``ROW_GROUP_ROWS`` rows or
``ROW_GROUP_BYTES`` of text at a time, gathered column by column (no dict per row is kept).
No Python object is kept per article: millions of small ones would fragment the heap. Rows keep the archive's order (files sorted by name, lines
in order), so exporting the same archive again writes the same bytes; files a previous export
listed in ``_export.json`` and this one did not write are removed (local output).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from crawler.dataset.schema import NAMES, SCHEMA, json_record, month_of, parse_utc, to_record
from crawler.errors import NewswarcError
from crawler.output.writer import safe_part
from crawler.storage.local import LocalStorage

logger = logging.getLogger(__name__)

FORMATS = ("parquet", "jsonl")
ROW_GROUP_ROWS = 10_000
ROW_GROUP_BYTES = 16 * 1024 * 1024
MANIFEST = "_export.json"
_OPEN_SPILLS = 64  # spill files kept open at once (the others are reopened to append)
_RUN_ID = re.compile(r"^(\d{8}T\d{6}Z-[^-]+-\d+)(?:-\d{3})?$")
_PART = re.compile(r"^(.*)-\d{3}$")


class ExportError(NewswarcError):
    """Bad arguments or an archive without articles (exit code 2)."""

    exit_code = 2


@dataclass
class ExportOptions:
    format: str = "parquet"
    sites: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    fields: Sequence[str] | None = None
    versions: bool = False


@dataclass
class ExportResult:
    rows: int = 0
    files: list[str] = field(default_factory=list)
    skipped_lines: int = 0  # unreadable JSONL lines (counted and logged)
    superseded: int = 0  # older versions left out (without --versions)
    filtered: int = 0


def check_fields(fields: Sequence[str] | None) -> list[str]:
    """The columns to write, in the schema's order; an unknown name is an ``ExportError``."""
    if not fields:
        return list(NAMES)
    wanted = [f.strip() for item in fields for f in item.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in NAMES]
    if unknown:
        raise ExportError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(NAMES)})")
    return [name for name in NAMES if name in wanted]


def run_id_of(key: str, siblings: set[str]) -> str:
    """The run id in ``articles/SITE/RUN_ID[-NNN].jsonl`` (part numbers stripped)."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".jsonl")
    if m := _RUN_ID.match(stem):
        return m.group(1)
    if (m := _PART.match(stem)) and m.group(1) in siblings:
        return m.group(1)
    return stem


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Lines of a binary stream read in 1 MiB chunks (an S3 body has no readline)."""
    rest = b""
    while chunk := stream.read(1 << 20):
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


class _Spills:
    """Per-partition spill files, appended in input order; at most ``_OPEN_SPILLS`` open."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.paths: dict[tuple[str, str], Path] = {}
        self._open: OrderedDict[tuple[str, str], IO[bytes]] = OrderedDict()

    def append(self, partition: tuple[str, str], data: bytes) -> None:
        fh = self._open.pop(partition, None)
        if fh is None:
            path = self.paths.setdefault(partition, self.dir / f"{len(self.paths):06d}.spill")
            fh = open(path, "ab")
            if len(self._open) >= _OPEN_SPILLS:
                self._open.popitem(last=False)[1].close()
        self._open[partition] = fh
        fh.write(data)

    def close(self) -> None:
        for fh in self._open.values():
            fh.close()
        self._open.clear()


def _in_range(record_time: datetime | None, options: ExportOptions) -> bool:
    if record_time is None:
        return options.since is None and options.until is None
    if options.since is not None and record_time < options.since:
        return False
    return options.until is None or record_time <= options.until


def _id_key(ident: str) -> bytes:
    """10 bytes per id: ours are 20 hex digits; any other string is hashed to 10 bytes."""
    if len(ident) == 20:
        try:
            return bytes.fromhex(ident)
        except ValueError:
            pass
    return hashlib.blake2b(ident.encode("utf-8"), digest_size=10).digest()


def _version_rank(fetched_at: Any, ordinal: int) -> int:
    """Later fetch first, then later line: one int (seconds since 1970 above 32 bits of line number)."""
    when = parse_utc(fetched_at) if isinstance(fetched_at, str) else None
    return (max(0, int(when.timestamp())) << 32 if when else 0) | ordinal


def _latest(ids: bytearray, ranks: array) -> np.ndarray:
    """``keep[line - 1]``: whether that line is the latest version of its id (highest rank)."""
    keys, order_by = np.frombuffer(bytes(ids), dtype="S10"), np.frombuffer(ranks, dtype=np.uint64)
    keep = np.zeros(len(keys), dtype=bool)
    if len(keys):
        order = np.lexsort((order_by, keys))  # by id, then rank: the last of each run of an id wins
        sorted_keys = keys[order]
        last = np.ones(len(keys), dtype=bool)
        last[:-1] = sorted_keys[1:] != sorted_keys[:-1]
        keep[order[last]] = True
    return keep


def _scan(archive: Any, options: ExportOptions, spills: _Spills, result: ExportResult) -> np.ndarray:
    """Pass 1: spill every wanted line to its partition; return which lines are latest versions."""
    keys = [k for k in archive.list("articles/") if k.endswith(".jsonl")]
    if not keys:
        raise ExportError(f"{archive.display('articles/')}: no article JSONL files (is this a newswarc archive?)")
    stems: dict[str, set[str]] = {}
    for key in keys:
        directory, _, name = key.rpartition("/")
        stems.setdefault(directory, set()).add(name.removesuffix(".jsonl"))
    ids, ranks = bytearray(), array("Q")
    ordinal = 0
    for key in keys:
        directory = key.rpartition("/")[0]
        run_id = run_id_of(key, stems[directory]).encode("utf-8")
        with archive.open_read(key) as stream:
            for number, line in enumerate(_lines(stream), start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    ident, site = row["id"], row.get("site") or directory.rpartition("/")[2]
                    if not isinstance(row, dict) or not isinstance(ident, str):
                        raise TypeError("not an article object")
                except (ValueError, KeyError, TypeError) as exc:
                    result.skipped_lines += 1
                    logger.warning("%s: line %d skipped (%s)", archive.display(key), number, exc)
                    continue
                if options.sites and site not in options.sites:
                    result.filtered += 1
                    continue
                if not _in_range(parse_utc(row.get("published")) or parse_utc(row.get("fetched_at")), options):
                    result.filtered += 1
                    continue
                ordinal += 1
                ids += _id_key(ident)
                ranks.append(_version_rank(row.get("fetched_at"), ordinal))
                partition = (safe_part(str(site)), month_of(row.get("published")) or "unknown")
                spills.append(partition, b"%d\t%s\t%s\n" % (ordinal, run_id, line.rstrip(b"\r")))
    return _latest(ids, ranks)


def _records(path: Path, latest: np.ndarray | None, result: ExportResult) -> Iterator[dict[str, Any]]:
    """Pass 2 input: the records of one spill file, older versions left out unless ``latest`` is None."""
    with open(path, "rb") as fh:
        for line in fh:
            ordinal, run_id, raw = line.rstrip(b"\n").split(b"\t", 2)
            if latest is not None and not latest[int(ordinal) - 1]:
                result.superseded += 1
                continue
            yield to_record(json.loads(raw), run_id=run_id.decode("utf-8"))


def _write_parquet(target: Path, records: Iterator[dict[str, Any]], columns: list[str]) -> int:
    schema = pa.schema([SCHEMA.field(name) for name in columns])
    rows = 0
    writer = pq.ParquetWriter(target, schema, compression="zstd", write_statistics=True)

    def flush(batch: dict[str, list[Any]], n: int) -> None:
        writer.write_table(pa.Table.from_pydict(batch, schema=schema), row_group_size=max(1, n))

    try:
        batch: dict[str, list[Any]] = {name: [] for name in columns}
        n = size = 0
        for record in records:
            for name in columns:
                batch[name].append(record[name])
            n, size = n + 1, size + len(record.get("text") or "")
            if n >= ROW_GROUP_ROWS or size >= ROW_GROUP_BYTES:
                flush(batch, n)
                rows, n, size = rows + n, 0, 0
                batch = {name: [] for name in columns}
        if n or rows == 0:
            flush(batch, n)
            rows += n
    finally:
        writer.close()
    return rows


def _write_jsonl(target: Path, records: Iterator[dict[str, Any]], columns: list[str]) -> int:
    rows = 0
    with open(target, "w", encoding="utf-8") as fh:
        for record in records:
            out = json_record({name: record[name] for name in columns})
            fh.write(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n")
            rows += 1
    return rows


def export(archive: Any, out: Any, options: ExportOptions) -> ExportResult:
    """Export ``archive`` (a Storage) to ``out`` (a Storage); see the module docstring."""
    if options.format not in FORMATS:
        raise ExportError(f"unknown format {options.format!r} (use {' or '.join(FORMATS)})")
    columns = check_fields(options.fields)
    result = ExportResult()
    spill_dir = Path(tempfile.mkdtemp(prefix=".export-", dir=out.work_dir))
    spills = _Spills(spill_dir)
    try:
        latest = _scan(archive, options, spills, result)
        spills.close()
        write = _write_parquet if options.format == "parquet" else _write_jsonl
        for (site, month), path in sorted(spills.paths.items()):
            key = f"{site}/{month}/part-00000.{options.format}"
            target = out.local_path(key)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            rows = write(tmp, _records(path, None if options.versions else latest, result), columns)
            path.unlink()
            if rows == 0:  # every line of the partition was an older version
                tmp.unlink()
                continue
            os.replace(tmp, target)
            out.commit(key)
            result.rows += rows
            result.files.append(key)
            logger.info("wrote %s (%d rows)", out.display(key), rows)
    finally:
        spills.close()
        shutil.rmtree(spill_dir, ignore_errors=True)
    _finish(out, options, columns, result)
    return result


def _finish(out: Any, options: ExportOptions, columns: list[str], result: ExportResult) -> None:
    """Write the manifest; remove files an earlier export wrote and this one did not (local output)."""
    if isinstance(out, LocalStorage) and out.exists(MANIFEST):
        try:
            old = json.loads(out.local_path(MANIFEST).read_text(encoding="utf-8")).get("files", [])
        except (OSError, ValueError, AttributeError):
            old = []
        for key in set(old) - set(result.files):
            stale = out.local_path(key)
            if isinstance(key, str) and not key.startswith(("/", "..")) and stale.is_file():
                stale.unlink()
                logger.info("removed %s (not part of this export)", out.display(key))
    manifest = {
        "format": options.format, "rows": result.rows, "files": result.files, "columns": columns,
        "versions": options.versions, "sites": sorted(options.sites),
        "since": options.since.isoformat() if options.since else None,
        "until": options.until.isoformat() if options.until else None,
        "skipped_lines": result.skipped_lines,
    }  # fmt: skip
    out.write_bytes(MANIFEST, json.dumps(manifest, indent=2).encode("utf-8") + b"\n")
