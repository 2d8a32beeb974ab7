"""WACZ 1.1.1 packages of WARC archives, written as a stream (see docs/archive.md, "WACZ").

Layout: ``archive/*.warc.gz`` (the WARC files byte for byte, ZIP ``STORE`` so every record
stays at a readable offset), ``indexes/index.cdx.gz`` (CDXJ; ZipNum with ``index.idx`` when
large), ``pages/pages.jsonl``, ``datapackage.json`` (path, size and sha256 of every resource)
and ``datapackage-digest.json``. Each WARC is read once: the bytes go into the ZIP entry and
through the reader that makes the index lines at the same time, and hashes are taken as the
bytes are written. Nothing is held whole in memory: index lines are sorted on disk
(:mod:`crawler.warc.wacz_index`), pages are written from the article rows streamed again.

Revisits are copied as they are (``WARC-Refers-To-Target-URI`` / ``-Date`` kept). One whose
original is in none of the package's WARCs is resolved through earlier packages: the ones
given as ``earlier`` that hold the original are named in ``datapackage.json`` under
``requires`` (file name and the sha256 of their ``datapackage.json``), and a replay tool opens
them together (``newswarc browse`` does; ReplayWeb.page opens the multi-WACZ
``collection.json`` that :func:`crawler.warc.wacz_collection.write_collection` writes).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from crawler import __version__
from crawler.errors import NewswarcError
from crawler.storage.base import temp_path
from crawler.warc import wacz_index, wacz_pages
from crawler.warc.cdxj import REPLAYED, WHOLE_FILE_GZIP, cdxj_line, surt_key, timestamp14
from crawler.warc.codecs import decode_content, header_values
from crawler.warc.reader import Corrupt, WarcRecord, iter_records
from crawler.warc.sources import Source, read_at
from crawler.warc.wacz_collection import NAME_UNSAFE, requires
from crawler.warc.wacz_select import RangeReader, plan

logger = logging.getLogger(__name__)

WACZ_VERSION = "1.1.1"

CHUNK = 1024 * 1024


class WaczError(NewswarcError):
    """A package cannot be written (no input, a name given twice, an unreadable input)."""

    exit_code = 1


class WaczInputError(WaczError):
    """Bad arguments: a source that does not exist or is not a WARC, an output not named .wacz."""

    exit_code = 2


@dataclass(frozen=True)
class WarcInput:
    """One WARC to package: ``name`` is its file name in ``archive/``."""

    name: str
    open: Callable[[], BinaryIO]
    size: int | None = None


@dataclass
class WaczOptions:
    site: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: bool = False
    title: str | None = None
    earlier: list[Path] = field(default_factory=list)  # packages of earlier runs (for `requires`)
    zipnum_threshold: int = wacz_index.ZIPNUM_THRESHOLD
    zipnum_block_lines: int = wacz_index.BLOCK_LINES


@dataclass
class WaczSummary:
    path: Path
    warcs: int = 0
    records: int = 0
    index_lines: int = 0
    pages: int = 0
    zipnum: bool = False
    damaged: list[Corrupt] = field(default_factory=list)  # copied, not indexed (exit 1)
    warnings: list[Corrupt] = field(default_factory=list)  # tolerated irregularities: the record was indexed
    unresolved_revisits: int = 0
    requires: list[dict[str, Any]] = field(default_factory=list)
    bytes: int = 0


class _HashingWriter:
    """Counts and hashes what goes into a ZIP entry."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.size, self.sha = raw, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)


class _Tee:
    """A read stream that copies every byte it hands out into ``sink``."""

    def __init__(self, src: BinaryIO, sink: _HashingWriter):
        self.src, self.sink = src, sink

    def read(self, size: int = -1) -> bytes:
        data = self.src.read(size)
        if data:
            self.sink.write(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class PackageWriter:
    """A ZIP written entry by entry (streamed); remembers each entry as a datapackage resource."""

    def __init__(self, path: Path):
        self.path = path
        self.zf = zipfile.ZipFile(path, "w", allowZip64=True)
        self.resources: list[dict[str, Any]] = []
        self._stamp = time.gmtime()[:6]

    @contextlib.contextmanager
    def entry(self, name: str, *, deflate: bool = False, size: int | None = None) -> Iterator[_HashingWriter]:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        if size is not None:
            info.file_size = size
        with self.zf.open(info, "w", force_zip64=size is None or size >= zipfile.ZIP64_LIMIT) as raw:
            writer = _HashingWriter(raw)
            yield writer
        base = name.rsplit("/", 1)[-1]
        self.resources.append({"name": NAME_UNSAFE.sub("-", base.lower()), "path": name,
                               "hash": "sha256:" + writer.sha.hexdigest(), "bytes": writer.size})

    def write_json(self, name: str, obj: Any) -> bytes:
        data = (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        self.zf.writestr(info, data)
        return data

    def close(self) -> None:
        self.zf.close()


def title_reader(inputs: list[WarcInput]) -> Callable[[wacz_pages.Capture], str]:
    """``<title>`` of a captured page, read again from its input (only for start pages)."""
    sources = {i.name: Source(i.name, i.open, i.name.endswith(".gz")) for i in inputs}
    return lambda cap: _title(sources.get(cap.source), cap.offset)


def rfc3339(dt: datetime | None = None) -> str:
    dt = (dt or datetime.now(UTC)).astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_wacz(inputs: list[WarcInput], out_path: str | os.PathLike, *,
               articles: list[Callable[[], IO[bytes]]] | None = None,
               options: WaczOptions | None = None) -> WaczSummary:
    """Write the package of ``inputs`` (and their article rows) to ``out_path``, atomically."""
    opts = options or WaczOptions()
    out_path = Path(out_path)
    if not inputs:
        raise WaczError("no WARC files to package")
    names = [i.name for i in inputs]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise WaczError(f"two input WARCs have the same file name ({', '.join(dup)}): package them separately")
    articles = articles or []

    def rows() -> Iterator[dict[str, Any]]:
        for row in wacz_pages.iter_rows(articles):
            if opts.site is None or row.get("site") == opts.site:
                yield row

    filtered = opts.site is not None or opts.since is not None or opts.until is not None
    ranges, unusable = plan(inputs, site=opts.site, since=opts.since, until=opts.until) if filtered else (None, [])
    if ranges is not None and not ranges:
        why = f" ({unusable[0].source}: {unusable[0].message})" if unusable else ""
        raise WaczError(f"no record matches --site/--since/--until: nothing to package{why}")
    summary = WaczSummary(out_path, damaged=list(unusable))
    pages = wacz_pages.PageCollector({wacz_pages.pointer(r) for r in rows()})
    sorter = wacz_index.ExternalSorter(tmp_dir=wacz_index.tmp_dir_for(out_path))
    revisit_targets: set[tuple[str, str]] = set()
    tmp = temp_path(out_path)  # a killed run's is removed by the next run holding the output lock
    out_path.parent.mkdir(parents=True, exist_ok=True)
    pkg = PackageWriter(tmp)
    try:
        for inp in inputs:
            if ranges is not None and inp.name not in ranges:
                continue
            _add_warc(pkg, inp, ranges.get(inp.name) if ranges is not None else None,
                      sorter, pages, revisit_targets, summary)
        _add_index(pkg, sorter, revisit_targets, opts, summary)
        with pkg.entry("pages/pages.jsonl", deflate=True) as out:
            summary.pages = pages.write(out, rows, text=opts.text, title_of=title_reader(inputs))
        first = next(((u, c) for u, _f, c in pages.starts if c is not None), None)
        package: dict[str, Any] = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": opts.title or f"newswarc archive of {len(inputs)} WARC file(s)",
            "description": _description(opts, summary),
            "created": rfc3339(),
            "modified": rfc3339(),
            "software": f"newswarc {__version__}",
        }
        if first is not None:
            package["mainPageUrl"], package["mainPageDate"] = first[1].url, first[1].ts
        package["resources"] = pkg.resources
        if summary.requires:
            package["requires"] = summary.requires
        data = pkg.write_json("datapackage.json", package)
        pkg.write_json("datapackage-digest.json", {"path": "datapackage.json",
                                                   "hash": "sha256:" + hashlib.sha256(data).hexdigest()})
        pkg.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        with contextlib.suppress(Exception):
            pkg.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        sorter.close()
    summary.bytes = out_path.stat().st_size
    return summary


class _NullWriter:
    """A sink that only counts (scanning without writing a package)."""

    size = 0

    def write(self, data: bytes) -> int:
        return len(data)


def _add_warc(pkg: PackageWriter | None, inp: WarcInput, ranges: list[tuple[int, int]] | None,
              sorter: wacz_index.ExternalSorter, pages: wacz_pages.PageCollector,
              revisit_targets: set[tuple[str, str]], summary: WaczSummary) -> None:
    """Copy one WARC into ``archive/`` while indexing it (``ranges``: only those members)."""
    try:
        src: Any = RangeReader(inp.open, ranges) if ranges is not None else inp.open()
    except OSError as exc:
        raise WaczError(f"{inp.name}: cannot be read ({exc.strerror or exc})") from None
    size = src.size if ranges is not None else inp.size
    entry = pkg.entry(f"archive/{inp.name}", size=size) if pkg is not None else contextlib.nullcontext(_NullWriter())
    with src, entry as out:
        scan_warc(_Tee(src, out), inp, ranges, src, sorter, pages, revisit_targets, summary)
    summary.warcs += 1


def scan_warc(stream: _Tee, inp: WarcInput, ranges: Any, src: Any, sorter: wacz_index.ExternalSorter,
              pages: wacz_pages.PageCollector, revisit_targets: set[tuple[str, str]], summary: WaczSummary) -> None:
    """Index lines, page candidates and revisit targets of one WARC, read once through ``stream``."""
    want = lambda rec: rec.type == "metadata"  # noqa: E731 - the crawl context of each page
    whole_file = False
    for item in iter_records(stream, inp.name, want=want, gzip=inp.name.endswith(".gz")):
        if isinstance(item, Corrupt):  # listed by the caller (the CLI prints each once)
            (summary.warnings if item.kept else summary.damaged).append(item)
            logger.debug("%s: offset %d: %s", item.source, item.offset, item.message)
            continue
        summary.records += 1
        if item.length is None:  # whole-file gzip: no record can be read at an offset
            if not whole_file:  # one reason for the file, not one per record
                whole_file = True
                summary.damaged.append(Corrupt(inp.name, item.offset, WHOLE_FILE_GZIP))
            continue
        _index_record(item, inp, ranges, src, sorter, pages, revisit_targets)
    stream.drain()


def scan_inputs(inputs: list[WarcInput], articles: list[Callable[[], IO[bytes]]], sorter: wacz_index.ExternalSorter,
                *, site: str | None = None) -> tuple[wacz_pages.PageCollector, WaczSummary, Callable]:
    """Index and pages of WARCs read in place (``newswarc browse`` over an archive directory)."""
    def rows() -> Iterator[dict[str, Any]]:
        for row in wacz_pages.iter_rows(articles):
            if site is None or row.get("site") == site:
                yield row

    pages = wacz_pages.PageCollector({wacz_pages.pointer(r) for r in rows()})
    summary = WaczSummary(Path("."))
    for inp in inputs:
        _add_warc(None, inp, None, sorter, pages, set(), summary)
    return pages, summary, rows


def _index_record(rec: WarcRecord, inp: WarcInput, ranges: Any, src: Any, sorter: wacz_index.ExternalSorter,
                  pages: wacz_pages.PageCollector, revisit_targets: set[tuple[str, str]]) -> None:
    assert rec.length is not None
    if (line := cdxj_line(rec, inp.name, REPLAYED)) is not None:
        sorter.add(line)
    if rec.type in ("response", "revisit"):
        source_offset = src.source_offset(rec.offset) if ranges is not None else rec.offset
        pages.capture(rec, inp.name, source_offset=source_offset)
        if rec.type == "revisit":
            uri = rec.headers.get("warc-refers-to-target-uri", "").strip("<>")
            when = rec.headers.get("warc-refers-to-date", "")
            if uri and when:
                revisit_targets.add((surt_key(uri), timestamp14(when)))
    elif rec.type == "metadata":
        pages.metadata(rec, wacz_pages.metadata_fields(rec.body or b""))


def _add_index(pkg: PackageWriter, sorter: wacz_index.ExternalSorter, revisit_targets: set[tuple[str, str]],
               opts: WaczOptions, summary: WaczSummary) -> None:
    """``indexes/index.cdx.gz`` (+ ``index.idx`` past the threshold); finds unresolved revisits."""

    def lines() -> Iterator[str]:
        for line in sorter.sorted():
            if revisit_targets:
                key, ts, rest = line.split(" ", 2)
                if (key, ts) in revisit_targets and '"mime": "warc/revisit"' not in rest:
                    revisit_targets.discard((key, ts))
            yield line

    if sorter.count > opts.zipnum_threshold:
        summary.zipnum = True
        with tempfile.TemporaryFile("w+", encoding="utf-8", dir=wacz_index.tmp_dir_for(summary.path)) as idx:
            with pkg.entry("indexes/index.cdx.gz") as out:
                summary.index_lines = wacz_index.write_zipnum_index(lines(), out, idx,
                                                                         block_lines=opts.zipnum_block_lines)
            idx.seek(0)
            with pkg.entry("indexes/index.idx", deflate=True) as out:
                while chunk := idx.read(CHUNK):
                    out.write(chunk.encode("utf-8"))
    else:
        with pkg.entry("indexes/index.cdx.gz") as out:
            summary.index_lines = wacz_index.write_gzip_index(lines(), out)
    if revisit_targets:
        summary.requires = requires(revisit_targets, opts.earlier)
        summary.unresolved_revisits = len(revisit_targets)  # the caller says so, once


def _title(source: Source | None, offset: int) -> str:
    if source is None:
        return ""
    rec = read_at(source, offset, max_body=512 * 1024)
    if rec is None or not rec.body:
        return ""
    try:
        body = decode_content(rec.body, header_values(rec.http_headers, "Content-Encoding"), 512 * 1024)
    except Exception:  # an undecodable body has no title we can show
        return ""
    return wacz_pages.html_title(body)


def _description(opts: WaczOptions, summary: WaczSummary) -> str:
    parts = ["Web archive written by newswarc: WARC files as captured, a CDXJ index and the archived "
             "articles and start pages as pages."]
    if opts.site:
        parts.append(f"Site: {opts.site}.")
    if opts.since or opts.until:
        parts.append(f"Captures from {rfc3339(opts.since) if opts.since else 'the start'} to "
                     f"{rfc3339(opts.until) if opts.until else 'the end'} (and the originals of their revisits).")
    return " ".join(parts)
