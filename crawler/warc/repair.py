"""Close out ``.open`` WARC files left by a crashed run: keep whole records, drop the tail.

Each gzip member must decompress completely and hold exactly one complete WARC record (header,
``Content-Length`` bytes of block, matching ``WARC-Block-Digest``), as the one reader checks it. The file is
truncated after the last good member and renamed to its final name. Files locked by a live
writer (``flock``) are left alone, so two runs sharing an output directory are safe.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import IO

from crawler.warc.reader import Corrupt, iter_records

logger = logging.getLogger(__name__)


def whole_records_end(fh: IO[bytes]) -> tuple[int, int]:
    """``(end offset, count)`` of the whole records at the start of a per-record gzip WARC.

    Read with the one reader (:func:`crawler.warcread.iter_records`), checking block digests: the
    first damage, irregularity, or gzip member holding more than one record ends the good part.
    A trailing response or revisit whose request record did not make it is dropped too: our
    writer always writes the response and then its request, flushed together.
    """
    ends: list[tuple[int, str]] = []
    fh.seek(0)
    for item in iter_records(fh, getattr(fh, "name", "<open WARC>"), gzip=True, verify=True):
        if isinstance(item, Corrupt) or item.length is None or item.irregular:
            break
        ends.append((item.offset + item.length, item.type))
    return _drop_orphan(ends)


def _drop_orphan(ends: list[tuple[int, str]]) -> tuple[int, int]:
    if ends and ends[-1][1] in ("response", "revisit"):
        ends.pop()
    return (ends[-1][0], len(ends)) if ends else (0, 0)


def repair_file(path: Path) -> Path | None:
    """Repair one ``NAME.open`` file into ``NAME``; None when it is in use or had no whole record."""
    path = Path(path)
    with open(path, "r+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("Skipping %s: a running crawl is writing it", path)
            return None
        end, count = whole_records_end(fh)
        size = os.fstat(fh.fileno()).st_size
        if count == 0:
            fh.close()
            path.unlink()
            logger.warning("Removed %s: no whole WARC record in it (%d bytes)", path, size)
            return None
        if end < size:
            fh.truncate(end)
            logger.warning("Truncated %s from %d to %d bytes (last whole record)", path, size, end)
        fh.flush()
        os.fsync(fh.fileno())
        final = path.with_name(path.name[: -len(".open")])
        os.replace(path, final)
    logger.info("Repaired WARC file %s (%d records)", final, count)
    return final


def repair_open_files(directory: str | os.PathLike) -> list[Path]:
    """Close out every ``*.warc.gz.open`` file in ``directory``; returns the repaired final paths."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    repaired = []
    for path in sorted(directory.glob("*.warc.gz.open")):
        if (final := repair_file(path)) is not None:
            repaired.append(final)
    return repaired
