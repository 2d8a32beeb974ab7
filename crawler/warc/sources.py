"""WARC sources: files, directories, globs, WACZ members and s3:// prefixes as readable streams."""

from __future__ import annotations

import contextlib
import functools
import glob
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from crawler.storage import open_storage
from crawler.warc.reader import CHUNK, Corrupt, WarcRecord, iter_records

__all__ = ["ARCHIVE_SUFFIXES", "READ_ERRORS", "ReadBack", "Source", "SourceSet", "is_archive_name", "open_sources",
           "read_at"]


WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
WACZ_SUFFIX = ".wacz"
ARCHIVE_SUFFIXES = (*WARC_SUFFIXES, WACZ_SUFFIX)


@dataclass(frozen=True)
class Source:
    """One WARC/ARC stream: ``name`` is what JSONL rows call ``warc_file``; ``open`` gives a fresh stream.

    ``error`` is set (and ``open`` must not be called) for a source that holds no archive at all,
    such as a WACZ with no WARC inside: it is reported, never silently empty.
    """

    name: str
    open: Callable[[], BinaryIO]
    gzip: bool | None = None
    error: str | None = None

    @property
    def basename(self) -> str:
        """The file name CDXJ lines carry (for a WACZ member: the member's own name)."""
        return self.name.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def _no_stream() -> BinaryIO:
    raise OSError("no archive in this source")


def _is_warc(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES)


def _gzip_hint(name: str) -> bool | None:
    return True if name.lower().endswith(".gz") else None


class SourceSet:
    """Resolves SOURCE arguments into WARC streams; holds WACZ archives open until :meth:`close`."""

    def __init__(self, specs: list[str], *, s3_storage: Callable[[str], Any] | None = None):
        self._stack = contextlib.ExitStack()
        self._s3_storage = s3_storage
        self.entries: list[tuple[str, Any]] = []  # ("file", Path) | ("s3", (storage, key))
        for spec in specs:
            self.entries.extend(self._expand(spec))

    def _expand(self, spec: str) -> list[tuple[str, Any]]:
        if spec.startswith("s3://"):
            if self._s3_storage is None:
                raise ValueError("s3 sources need an s3_storage factory")
            storage = self._s3_storage(spec)
            keys = [k for k in storage.list("") if is_archive_name(k)]
            if not keys:
                raise FileNotFoundError(f"{spec}: no .warc, .warc.gz, .arc, .arc.gz or .wacz objects there")
            return [("s3", (storage, k)) for k in keys]
        path = Path(spec).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_archive_name(p.name))
            if not found:
                raise FileNotFoundError(f"{spec}: no .warc, .warc.gz, .arc, .arc.gz or .wacz files in this directory")
            return [("file", p) for p in found]
        if path.is_file():
            return [("file", path)]
        matches = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        if not matches:
            raise FileNotFoundError(f"{spec}: no such file, directory or matching files")
        return [("file", p) for p in matches]

    def __iter__(self) -> Iterator[Source]:
        for kind, item in self.entries:
            if kind == "file":
                name = str(item)
                if name.lower().endswith(WACZ_SUFFIX):
                    yield from self._wacz(item, name)
                else:
                    yield Source(name, functools.partial(open, item, "rb"), _gzip_hint(name))
            else:
                storage, key = item
                name = storage.display(key)
                if key.lower().endswith(WACZ_SUFFIX):
                    yield from self._wacz(self._download(storage, key), name)
                else:
                    yield Source(name, functools.partial(storage.open_read, key), _gzip_hint(name))

    def _download(self, storage: Any, key: str) -> Path:
        """A WACZ is a zip (needs seeks): copy it from S3 to a temporary file, in chunks."""
        tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="newswarc-wacz-"))) / "a.wacz"
        with storage.open_read(key) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        return tmp

    def _wacz(self, path: Path, name: str) -> Iterator[Source]:
        try:
            archive = self._stack.enter_context(zipfile.ZipFile(path))
        except zipfile.BadZipFile:
            yield Source(name, functools.partial(open, path, "rb"))  # reported as "not a WARC" by the reader
            return
        members = sorted(n for n in archive.namelist() if n.startswith("archive/") and _is_warc(n))
        if not members:
            yield Source(name, _no_stream, error="a WACZ with no archive/*.warc or *.warc.gz file inside")
        for member in members:
            yield Source(f"{name}#{member}", functools.partial(archive.open, member), _gzip_hint(member))

    def close(self) -> None:
        self._stack.close()


def read_at(source: Source, offset: int, *, max_body: int, inner: int = 0,
            record_id: str | None = None) -> WarcRecord | None:
    """The record at ``offset`` of ``source`` with its body (to resolve a revisit); None if damaged.

    ``inner``: the record's decoded offset inside a gzip member that holds several records
    (whole-file gzip). ``record_id``: the record read must have this WARC-Record-ID, or None is
    returned, so that a pointer never resolves to the wrong record.
    """
    with source.open() as stream:
        _skip_to(stream, offset)
        for item in iter_records(stream, source.name, want=lambda rec: True, max_body=max_body,
                                 gzip=source.gzip):
            if isinstance(item, Corrupt):
                if item.kept:
                    continue
                return None
            if item.offset != 0:  # past the record's own member (or, plain, past the record)
                return None
            if item.inner < inner:
                continue
            if item.inner != inner or (record_id and item.record_id != record_id):
                return None
            item.offset = offset
            return item
    return None


class ReadBack:
    """Reads records back at their pointers (revisits' originals, ``replay --crawl``'s captures).

    A record inside a gzip member that holds several (whole-file gzip) can only be reached by
    decompressing its member from the start: done for every record, reading n of them back costs
    n decompressions of the member (quadratic). Here a member is decompressed once, to a
    temporary plain file, and each record is read there at its decoded offset. Thread-safe
    (``replay --crawl`` reads in the reactor's thread pool); :meth:`close` removes the copies.
    """

    def __init__(self, tmp_dir: str | None = None):
        self._tmp_dir = tmp_dir
        self._stack = contextlib.ExitStack()
        self._plain: dict[tuple[str, int], Source] = {}
        self._lock = threading.Lock()

    def read(self, source: Source, offset: int, *, max_body: int, inner: int = 0,
             record_id: str | None = None) -> WarcRecord | None:
        """As :func:`read_at`, in linear time over the records of a whole-file gzip."""
        if not inner:
            return read_at(source, offset, max_body=max_body, record_id=record_id)
        with self._lock:
            plain = self._plain.get((source.name, offset))
            if plain is None:
                plain = self._plain[(source.name, offset)] = self._decompress(source, offset)
        rec = read_at(plain, inner, max_body=max_body, record_id=record_id)
        if rec is not None:
            rec.offset, rec.inner = offset, inner
        return rec

    def _decompress(self, source: Source, offset: int) -> Source:
        """The gzip member at ``offset``, decompressed (up to its end or its damage) to a temporary file."""
        copy = self._stack.enter_context(tempfile.NamedTemporaryFile(prefix="newswarc-gunzip-", dir=self._tmp_dir))
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        with source.open() as stream:
            _skip_to(stream, offset)
            try:
                while not inflate.eof and (data := stream.read(CHUNK)):
                    while data and not inflate.eof:  # bounded output per step: memory stays flat
                        copy.write(inflate.decompress(data, CHUNK))
                        data = inflate.unconsumed_tail
            except zlib.error:  # damaged past here: the records before it are still read back
                pass
        copy.flush()
        return Source(source.name, functools.partial(open, copy.name, "rb"), gzip=False)

    def close(self) -> None:
        self._stack.close()
        self._plain.clear()


def _skip_to(stream: BinaryIO, offset: int) -> None:
    if stream.seekable():
        stream.seek(offset)
        return
    left = offset
    while left > 0 and (data := stream.read(min(left, CHUNK))):
        left -= len(data)


try:  # what a failing source stream raises: OSError, and botocore's errors for S3 bodies
    from botocore.exceptions import BotoCoreError

    READ_ERRORS: tuple[type[BaseException], ...] = (OSError, BotoCoreError)
except ImportError:  # pragma: no cover - boto3 is a dependency
    READ_ERRORS = (OSError,)


def open_sources(specs: Sequence[str], settings: Any = None) -> SourceSet:
    """The SOURCE arguments (files, directories, globs, WACZ, ``s3://``); FileNotFoundError for a missing one."""
    return SourceSet(list(specs), s3_storage=lambda uri: open_storage(uri, SourceSettings(settings)))


class SourceSettings:
    """The settings for reading an ``s3://`` source: the output's spool directory is not ours to claim."""

    def __init__(self, settings: Any):
        self.settings = settings

    def get(self, name: str, default: Any = None) -> Any:
        if name == "NEWSWARC_SPOOL_DIR" or self.settings is None:
            return default
        return self.settings.get(name, default)
