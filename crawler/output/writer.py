"""Article output: IDs, text files and JSONL rows, written through :mod:`crawler.storage`.

One set of writers serves the crawl and replay, so both produce the same layout::

    text/SITE/YYYY/MM/DD/ID.txt            one article (header block, blank line, body)
    articles/SITE/RUN_ID[-NNN].jsonl       one JSON object per article, parts of bounded size

A text file is one atomic ``storage.write_bytes``. A JSONL part is built at
``storage.local_path(key + ".open")`` with one ``os.write`` per line on an ``O_APPEND``
descriptor, so a killed run leaves at most a partial last line (:func:`repair_jsonl` drops it);
a finished part is renamed to its key and handed to ``storage.commit`` (upload for S3). The
``.open`` name (as for WARC files) keeps ``storage.sync`` from uploading a part still being
written. The writer is blocking code that the pipeline calls from a thread, hence the lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from glob import escape as glob_escape
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from crawler.dataset.neardup import NearDuplicate, row_fields
from crawler.storage.base import Storage

if TYPE_CHECKING:  # annotations only: `newswarc export` does not load the extraction stack (trafilatura)
    from crawler.extract.api import Article

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def article_id(canonical_url: str) -> str:
    """Stable across runs: the first 20 hex chars of sha256(canonical URL)."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:20]


def safe_part(part: str) -> str:
    """A path segment from a site name (no separators, no dot-files); the export's partitions too."""
    return _UNSAFE.sub("_", part).strip("._") or "_"


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())


def render_text(article: Article) -> str:
    """The text file: ``title:``, ``url:``, ``published:`` lines, a blank line, the body."""
    return (f"title: {_one_line(article.title)}\nurl: {_one_line(article.url)}\n"
            f"published: {_one_line(article.published)}\n\n{article.text}\n")


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def text_key(site: str, article: Article, fetched_at: datetime) -> str:
    """``text/SITE/YYYY/MM/DD/ID.txt``; the date is the publication day, else the fetch day (UTC)."""
    day = None
    if article.published and (m := re.match(r"^(\d{4})-(\d{2})-(\d{2})", article.published)):
        day = m.groups()
    if day is None:
        f = _utc(fetched_at)
        day = (f"{f.year:04d}", f"{f.month:02d}", f"{f.day:02d}")
    return f"text/{safe_part(site)}/{day[0]}/{day[1]}/{day[2]}/{article_id(article.canonical_url)}.txt"


def _iso_z(dt: datetime) -> str:
    return _utc(dt).isoformat().replace("+00:00", "Z")


def jsonl_row(article: Article, *, site: str, fetched_at: datetime, warc: Mapping[str, Any] | None,
              route: str | None = None, kind_reason: str | None = None,
              near: NearDuplicate | None = None) -> dict[str, Any]:
    """One JSONL object: every :class:`Article` field plus id, site, fetch time, text path, WARC
    pointer, how it was found (``route``, ``kind_reason``) and its near-duplicate group; the one
    definition of a row for the crawl and the replay (the export schema names every key)."""
    warc = warc or {}

    def pick(*names: str) -> Any:
        return next((warc[n] for n in names if warc.get(n) is not None), None)

    row = {"id": article_id(article.canonical_url), "site": site}
    row.update(article.to_dict())
    row.update(
        fetched_at=_iso_z(fetched_at),
        text_path=text_key(site, article, fetched_at),
        warc_file=pick("warc_file", "file", "filename"),
        warc_offset=pick("warc_offset", "offset"),
        warc_length=pick("warc_length", "length"),
        warc_record_id=pick("warc_record_id", "record_id"),
        route=route,
        kind_reason=kind_reason,
        **row_fields(near),
    )
    return row


class StdoutStream:
    """The JSONL stream on stdout (``--jsonl -``), shared by every writer of the process.

    A reader that goes away (``| head``) closes the pipe: the line that fails is already in the
    JSONL file, so nothing is lost; the stream stops for good, fd 1 is pointed at /dev/null (no
    second error at exit) and the listeners (each crawl's pipeline, which stops its crawl) are
    called once. ``lines`` is the number of lines the reader got.
    """

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self.closed = False
        self.lines = 0
        self._listeners: list[Any] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Any) -> None:
        self._listeners.append(callback)

    def write_line(self, line: bytes) -> bool:
        """Write one line; False once the reader has gone away."""
        with self._lock:
            if self.closed:
                return False
            try:
                self.stream.write(line.decode("utf-8"))
                self.stream.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:
                if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError) and exc.errno not in (32, 9):
                    raise
                self.closed = True
                with contextlib.suppress(OSError):
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, self.stream.fileno())
                    os.close(devnull)
                listeners = list(self._listeners)
            else:
                self.lines += 1
                return True
        for callback in listeners:
            callback()
        return False


_STDOUT: StdoutStream | None = None


def stdout_stream() -> StdoutStream:
    """The process's one :class:`StdoutStream` over ``sys.stdout``."""
    global _STDOUT
    if _STDOUT is None:
        _STDOUT = StdoutStream(sys.stdout)
    return _STDOUT


class _Part:
    """An open JSONL part: its key, final path, ``.open`` path (where it is built), descriptor and size."""

    def __init__(self, key: str, path: Path):
        self.key, self.path = key, path
        self.open_path = path.with_name(path.name + ".open")
        if path.exists() and not self.open_path.exists():
            os.replace(path, self.open_path)  # a resumed run appends to the part it finished
        if self.open_path.exists():
            repair_jsonl(self.open_path)  # a resumed run appends after what a killed one left
        self.fd = os.open(self.open_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self.fd).st_size


class OutputWriter:
    """Writes each article's text file and JSONL line; thread-safe, blocking (call it off the reactor)."""

    def __init__(self, storage: Storage, *, run_id: str, jsonl_stdout: StdoutStream | IO[str] | None = None,
                 jsonl_max_bytes: int = 64 * 1024 * 1024, text_files: bool = True):
        self.storage = storage
        self.text_files = text_files
        self.run_id = safe_part(run_id)
        if jsonl_stdout is not None and not isinstance(jsonl_stdout, StdoutStream):
            jsonl_stdout = StdoutStream(jsonl_stdout)  # replay's --jsonl FILE|- beside --out
        self.jsonl_stdout = jsonl_stdout
        self.jsonl_max_bytes = jsonl_max_bytes
        self._parts: dict[str, _Part] = {}
        self._seq: dict[str, int] = {}
        self._lock = threading.Lock()
        self.articles = 0

    def write(self, row: dict[str, Any], text: str) -> None:
        """Write the text file (atomic) at ``row["text_path"]``, then append the JSONL line.

        Without text files (``text_files=False``: JSONL is all the user asked for) the row's
        ``text_path`` is null, so it never names a file that is not there.
        """
        if self.text_files:
            self.storage.write_bytes(row["text_path"], text.encode("utf-8"))
        else:
            row = {**row, "text_path": None}
        line = (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            part = self._part(safe_part(row.get("site") or "_"), len(line))
            try:
                _write_all(part.fd, line)
            except OSError:
                os.ftruncate(part.fd, part.size)  # disk full: no partial line left in the part
                raise
            part.size += len(line)
            self.articles += 1
            if self.jsonl_stdout is not None and not self.jsonl_stdout.write_line(line):
                self.jsonl_stdout = None  # the reader went away: the files and the state go on

    def _part(self, site: str, incoming: int) -> _Part:
        part = self._parts.get(site)
        if part is not None and part.size > 0 and part.size + incoming > self.jsonl_max_bytes:
            self._commit(site)
            part = None
        if part is None:
            seq = self._seq.get(site, -1) + 1
            self._seq[site] = seq
            name = self.run_id if seq == 0 else f"{self.run_id}-{seq:03d}"
            key = f"articles/{site}/{name}.jsonl"
            part = self._parts[site] = _Part(key, self.storage.local_path(key))
            logger.info("JSONL part opened: %s", self.storage.display(key))
        return part

    def _commit(self, site: str) -> None:
        part = self._parts.pop(site)
        os.fsync(part.fd)
        os.close(part.fd)
        os.replace(part.open_path, part.path)  # finished: only now may sync() upload it
        self.storage.commit(part.key)
        logger.info("JSONL part closed: %s (%d bytes)", self.storage.display(part.key), part.size)

    def close(self) -> None:
        """Commit every open JSONL part."""
        with self._lock:
            for site in list(self._parts):
                self._commit(site)


def _write_all(fd: int, data: bytes) -> None:
    """One ``os.write`` per line (O_APPEND keeps lines whole); loop only on a short write."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def run_parts(articles_dir: Path, site: str, run_id: str) -> list[Path]:
    """The JSONL parts one run wrote for ``site`` (``RUN_ID.jsonl``, ``RUN_ID-NNN.jsonl``, and their
    ``.open`` forms), sorted; not those of a run whose id merely starts with ``run_id`` (``run1`` and
    ``run10`` are two runs when a user names them)."""
    part = re.compile(re.escape(run_id) + r"(-\d{3,})?\.jsonl(\.open)?")
    return sorted(p for p in (articles_dir / site).glob(f"{glob_escape(run_id)}*.jsonl*") if part.fullmatch(p.name))


def repair_jsonl(path: Path) -> None:
    """Drop a trailing partial line (left by a killed run) so every line parses."""
    with open(path, "r+b") as fh:
        end = fh.seek(0, os.SEEK_END)
        pos = end
        while pos > 0:
            step = min(65536, pos)
            fh.seek(pos - step)
            chunk = fh.read(step)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                keep = pos - step + nl + 1
                break
            pos -= step
        else:
            keep = 0
        if keep != end:
            fh.truncate(keep)
            logger.warning("%s: dropped a partial last line (%d bytes)", path, end - keep)


class JsonlOnly:
    """The JSONL half of :class:`~crawler.output.OutputWriter` (``--jsonl`` without ``--out``)."""

    def __init__(self, stream: IO[str] | StdoutStream):
        self.stream = stream if isinstance(stream, StdoutStream) else StdoutStream(stream)
        self.articles = 0

    def write(self, row: dict[str, Any], text: str) -> None:
        row = {**row, "text_path": None}  # no text file is written
        if self.stream.write_line((json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode()):
            self.articles += 1

    def close(self) -> None:
        """Nothing is buffered: every line is flushed as it is written."""
