"""CDXJ index lines for WARC files, in the format pywb reads (``SURT TIMESTAMP {json}``).

Indexed: ``response``, ``revisit`` and ``resource`` records (what replay looks up); ``request``,
``metadata`` and ``warcinfo`` records are reachable through their response's file and offset.
Lines are sorted (pywb binary-searches the index); sorting happens in memory, about 300 bytes
per record, so for very large sets index per file and merge with ``sort``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import surt
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

INDEXED = ("response", "revisit", "resource")


def _surt(url: str) -> str:
    try:
        return surt.surt(url)
    except ValueError:
        return url


def cdxj_lines(path: str | os.PathLike) -> Iterator[str]:
    """Index lines of one WARC (unsorted), streaming through the file."""
    path = Path(path)
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for record in it:
            if record.rec_type not in INDEXED:
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            date = record.rec_headers.get_header("WARC-Date")
            entry: dict[str, str] = {"url": url}
            http = record.http_headers
            if record.rec_type == "revisit":
                entry["mime"] = "warc/revisit"
            else:
                ctype = (http.get_header("Content-Type") if http else
                         record.rec_headers.get_header("Content-Type")) or "unk"
                entry["mime"] = ctype.split(";", 1)[0].strip() or "unk"
            if http is not None and record.rec_type in ("response", "revisit"):
                entry["status"] = http.get_statuscode()
            if digest := record.rec_headers.get_header("WARC-Payload-Digest"):
                entry["digest"] = digest
            it.read_to_end(record)
            entry["length"] = str(it.get_record_length())
            entry["offset"] = str(it.get_record_offset())
            entry["filename"] = path.name
            yield f"{_surt(url)} {iso_date_to_timestamp(date)} {json.dumps(entry)}"


def write_cdxj(warc_paths: Sequence[str | os.PathLike], out: IO[str]) -> int:
    """Write the sorted CDXJ index of ``warc_paths`` to ``out``; returns the number of lines."""
    lines = sorted(line for path in warc_paths for line in cdxj_lines(path))
    for line in lines:
        out.write(line + "\n")
    return len(lines)
