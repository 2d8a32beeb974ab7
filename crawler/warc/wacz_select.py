"""Which records of a set of WARCs go into a WACZ limited by ``--site``, ``--since``, ``--until``.

The unit is a capture group: a ``response`` or ``revisit`` with the ``request`` and ``metadata``
records concurrent to it, so a selected page keeps its request and its crawl context. A group
belongs to a site by its metadata record's ``seed``; a redirect hop or a robots.txt fetch has
no metadata record of its own: a hop takes the seed of the page whose ``redirect:`` lines name
it, anything else the seed of the pages fetched from its host. The date is the response's
``WARC-Date``. Each file keeps its ``warcinfo`` record (so ``WARC-Filename`` still names it).
A selected revisit whose original (``WARC-Refers-To-Target-URI`` + ``-Date``) is outside the
selection brings the original's group in too: the package replays on its own.

Records are copied as the gzip members they are, in file order, byte for byte. This pass keeps
a few small fields per record in memory (unlike the unfiltered package, which streams).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from crawler.urls import url_host
from crawler.warc.cdxj import WHOLE_FILE_GZIP
from crawler.warc.reader import Corrupt, WarcRecord, iter_records
from crawler.warc.wacz_pages import metadata_fields

CHUNK = 1024 * 1024


@dataclass
class _Rec:
    offset: int
    length: int
    type: str
    group: str  # the response/revisit record id this record belongs to ("" for warcinfo)


@dataclass
class _Group:
    file: str
    url: str
    date: str
    refers: tuple[str, str] | None = None
    seed: str | None = None
    redirects: list[str] = field(default_factory=list)


def _when(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def plan(inputs: list, *, site: str | None, since: datetime | None, until: datetime | None
         ) -> tuple[dict[str, list[tuple[int, int]]], list[Corrupt]]:
    """``{input name: [(offset, length), ...]}`` of the members to copy, in file order, and the
    inputs left out because their records cannot be copied one by one (whole-file gzip)."""
    recs: dict[str, list[_Rec]] = {}
    unusable: list[Corrupt] = []
    groups: dict[str, _Group] = {}
    for inp in inputs:
        rows = recs[inp.name] = []
        plain = not inp.name.endswith(".gz")  # how it is read (gzip=False forces plain)
        with inp.open() as opened:
            fh: Any = opened if opened.seekable() else _Counted(opened)
            starts: list[int] = []  # where each record or damage begins (plain: where a record's range ends)
            for item in iter_records(fh, inp.name, want=lambda r: r.type == "metadata", gzip=inp.name.endswith(".gz")):
                if isinstance(item, Corrupt):
                    if not item.kept:
                        starts.append(item.offset)
                    continue
                starts.append(item.offset)
                if item.length is None:  # whole-file gzip: no record is a member of its own
                    unusable.append(Corrupt(inp.name, item.offset, WHOLE_FILE_GZIP))
                    rows.clear()
                    break
                rows.append(_classify(item, inp.name, groups))
            if plain:  # a plain record's length stops before its CRLF CRLF: copy up to what follows it
                _extend_to_next(rows, starts, inp.size if inp.size is not None else _size(fh))
    seeded_hosts = {url_host(g.url) for g in groups.values() if g.seed == site}
    hop_seed = {hop: g.seed for g in groups.values() for hop in g.redirects}

    def site_ok(g: _Group) -> bool:
        if site is None:
            return True
        seed = g.seed if g.seed is not None else hop_seed.get(g.url)
        return seed == site if seed is not None else url_host(g.url) in seeded_hosts

    def date_ok(g: _Group) -> bool:
        when = _when(g.date)
        return when is not None and (since is None or when >= since) and (until is None or when <= until)

    chosen = {gid for gid, g in groups.items() if site_ok(g) and date_ok(g)}
    by_capture = {(g.url, g.date): gid for gid, g in groups.items() if g.refers is None}
    for gid in list(chosen):
        refers = groups[gid].refers
        if refers and (orig := by_capture.get(refers)) is not None:
            chosen.add(orig)  # the original of a selected revisit
    out: dict[str, list[tuple[int, int]]] = {}
    for name, rows in recs.items():
        picked = [(r.offset, r.length) for r in rows if r.group in chosen]
        if picked:
            head = [(r.offset, r.length) for r in rows if r.type == "warcinfo"][:1]
            out[name] = sorted(set(head + picked))
    return out, unusable


class _Counted:
    """A stream that cannot seek (S3), counting the bytes read from it: its size once read to the end."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.pos = raw, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.pos += len(data)
        return data

    def seekable(self) -> bool:
        return False


def _size(fh: Any) -> int:
    """The stream's length (read to its end when it cannot seek)."""
    if not isinstance(fh, _Counted):
        return fh.seek(0, 2)
    while fh.read(CHUNK):
        pass
    return fh.pos


def _extend_to_next(rows: list[_Rec], starts: list[int], end: int) -> None:
    """Make each plain record's range run to the next record (or damage, or the file's end), so the
    copied bytes include the record's closing CRLF CRLF (the reader's length, as warcio's, does not)."""
    bounds = sorted(set(starts))
    for row in rows:
        i = bisect.bisect_right(bounds, row.offset)
        row.length = (bounds[i] if i < len(bounds) else end) - row.offset


def _classify(rec: WarcRecord, name: str, groups: dict[str, _Group]) -> _Rec:
    kind, rid = rec.type, rec.record_id
    assert rec.length is not None
    if kind in ("response", "revisit", "resource"):
        refers = None
        if kind == "revisit":
            uri = rec.headers.get("warc-refers-to-target-uri", "").strip("<>")
            refers = (uri, rec.headers.get("warc-refers-to-date", "")) if uri else None
        groups[rid] = _Group(name, rec.target_uri, rec.date, refers)
        return _Rec(rec.offset, rec.length, kind, rid)
    parent = rec.headers.get("warc-concurrent-to", "")
    if kind == "metadata" and parent in groups:
        fields = metadata_fields(rec.body or b"")
        groups[parent].seed = (fields.get("seed") or [None])[0] or None
        groups[parent].redirects = fields.get("redirect", [])
    return _Rec(rec.offset, rec.length, kind, "" if kind == "warcinfo" else parent)


class RangeReader:
    """A read-only stream of the chosen members of a file, one after another (the new WARC)."""

    def __init__(self, open_source: Callable[[], BinaryIO], ranges: list[tuple[int, int]]):
        self._src = open_source()
        self._ranges = ranges
        self._starts: list[int] = []  # new offset of each range
        pos = 0
        for _off, length in ranges:
            self._starts.append(pos)
            pos += length
        self.size = pos
        self._iter = self._chunks()
        self._pending = b""

    def source_offset(self, new_offset: int) -> int:
        """Where the member at ``new_offset`` of the new file sits in the source."""
        i = bisect.bisect_right(self._starts, new_offset) - 1
        return self._ranges[i][0] + (new_offset - self._starts[i])

    def _chunks(self) -> Iterator[bytes]:
        pos = 0
        for off, length in self._ranges:
            if self._src.seekable():
                self._src.seek(off)
            else:  # skip forward in a stream (S3)
                while pos < off and (data := self._src.read(min(CHUNK, off - pos))):
                    pos += len(data)
            left = length
            while left > 0 and (data := self._src.read(min(CHUNK, left))):
                left -= len(data)
                yield data
            pos = off + length

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._pending) < size:
            nxt = next(self._iter, None)
            if nxt is None:
                break
            self._pending += nxt
        if size < 0:
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def close(self) -> None:
        self._src.close()

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
