"""The one archive reader (replay, ``replay --crawl``, ``newswarc index`` and repair): WARC 1.0/1.1
and ARC v1, plain, per-record gzip or whole-file gzip, that survives damage and says where it is.

Why not warcio or FastWARC alone: replay must report a truncated gzip member, garbage between
records or a wrong ``Content-Length`` with the file and offset, then carry on with the next
record; both libraries either stop or skip silently. zlib does the decompression one member at
a time (:mod:`crawler.warc.stream`), so every record has its member's offset and compressed
length; the framing is parsed here; nothing is read whole: blocks are skipped or read up to
``max_body`` bytes. Resync after damage: the next gzip member (``1f 8b 08``) in gzip files, the
next ``WARC/1.`` line (ARC: ``http`` line) in plain files.

What warcio tolerates is tolerated here too, as a *kept* :class:`Corrupt` note (the record is
read): one or no line break instead of two after a record, a stray line after a record whose
``Content-Length`` is a few bytes short, header lines ending in CR CR LF.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from warcio.timeutils import timestamp_to_iso_date

from crawler.warc import fast as warcfast
from crawler.warc.headers import parse_headers, read_http_head
from crawler.warc.stream import CHUNK, GZIP_MAGIC, Damage, Member, Plain, Raw, Reader

logger = logging.getLogger(__name__)

__all__ = ["CHUNK", "Corrupt", "WarcRecord", "iter_records"]

WARC_MAGIC = b"WARC/"
ARC_MAGIC = b"filedesc://"
MAX_LINE = 64 * 1024  # an ARC header line (its URL) longer than this is damage
_NO_PAYLOAD_DIGEST = ("warcinfo", "revisit")


@dataclass
class Corrupt:
    """Damage found in a source: where, and what (one line). ``kept``: the record was read all the same."""

    source: str
    offset: int
    message: str
    kept: bool = False


@dataclass
class WarcRecord:
    """One complete, well-framed record; ``body`` is filled only when the caller asked for it."""

    source: str
    offset: int
    length: int | None  # bytes in the file (gzip: the member); None when a member holds several records
    headers: dict[str, str]  # WARC headers, lower-case names, first value wins (ARC: converted as warcio does)
    http_status: int | None = None
    http_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None  # HTTP payload as stored (still transfer- and content-encoded)
    body_truncated: bool = False  # longer than max_body: only the start is in ``body``
    note: str | None = None  # the caller's verdict from ``want`` (e.g. why the body was not read)
    inner: int = 0  # decoded offset inside its gzip member (> 0 only in whole-file gzip)
    computed_digest: str | None = None  # payload digest computed while reading (``digests=True``)
    http_raw: bool = False  # the block starts with an HTTP head that was parsed
    irregular: str | None = None  # a tolerated irregularity after the record
    incomplete: str | None = None  # the block ends early (end of file or member): the body is cut short

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "")

    @property
    def target_uri(self) -> str:
        """As warcio gives it: wget 1.19's ``<...>`` removed, spaces percent-encoded."""
        uri = self.headers.get("warc-target-uri", "")
        if uri.startswith("<") and uri.endswith(">"):
            uri = uri[1:-1]
        return uri.replace(" ", "%20") if " " in uri else uri

    @property
    def record_id(self) -> str:
        return self.headers.get("warc-record-id", "")

    @property
    def date(self) -> str:
        return self.headers.get("warc-date", "")

    @property
    def payload_digest(self) -> str | None:
        return self.headers.get("warc-payload-digest") or self.computed_digest

    def http_header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.http_headers:
            if key.lower() == name:
                return value
        return None


Want = Callable[[WarcRecord], bool]


@dataclass
class _Ctx:
    source: str
    want: Want
    max_body: int
    digests: bool = False  # compute missing payload digests
    verify: bool = False  # check sha1 block digests (damage when they differ)
    arc: bool = False  # the file is an ARC (its first record was filedesc://)


def _read_record(reader: Reader, ctx: _Ctx, member: int | None) -> WarcRecord | None:
    """One record from ``reader`` (None at a clean end); raises Damage on bad framing.

    The record's offset is its gzip member's (``member``) or, in a plain file, its first line's.
    """
    line = b"\r\n"
    while line and not line.strip(b"\r\n"):  # tolerate extra blank lines between records
        line = reader.readline(MAX_LINE)
    if not line:
        return None
    start = reader.pos - len(line)
    offset = member if member is not None else start
    if line.startswith(WARC_MAGIC):
        rec, length = _warc_head(reader, ctx, offset)
    elif line.startswith(ARC_MAGIC) or ctx.arc:
        rec, length = _arc_head(reader, ctx, offset, line)
    else:
        raise Damage(offset, "not a WARC record header" + (" (not a WARC file?)" if offset == 0 else ""))
    rec.inner = start if member is not None else 0
    block = reader.pos
    block_hash = hashlib.sha1() if ctx.verify and rec.headers.get("warc-block-digest", "").lower().startswith(
        "sha1:") else None
    if block_hash is not None:
        reader.tap.append(block_hash)
    try:
        _read_block(reader, ctx, rec, length, block)
    finally:
        reader.tap.clear()
    if block_hash is not None and _b32(block_hash) != rec.headers["warc-block-digest"][5:].upper():
        raise Damage(offset, "WARC-Block-Digest does not match the block")
    if member is None:
        rec.length = reader.pos - offset  # as warcio: the line breaks after a record are not part of it
    rec.irregular = rec.incomplete or _after_record(reader, ctx, offset, length, member is not None)
    return rec


def _warc_head(reader: Reader, ctx: _Ctx, offset: int) -> tuple[WarcRecord, int]:
    headers = {name.lower(): value for name, value in reversed(parse_headers(reader, offset, "WARC"))}  # first wins
    try:
        length = int(headers.get("content-length", ""))
        if length < 0:
            raise ValueError
    except ValueError:
        raise Damage(offset, "missing or bad Content-Length") from None
    return WarcRecord(ctx.source, offset, None, headers), length


def _arc_head(reader: Reader, ctx: _Ctx, offset: int, line: bytes) -> tuple[WarcRecord, int]:
    """An ARC v1 header line (``URL IP DATE MIME LENGTH``) as the WARC headers warcio makes of it."""
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    parts = text.rsplit(" ", 4)
    if len(parts) != 5 or not parts[2][:8].isdigit():
        raise Damage(offset, f"bad ARC header line {text[:60]!r}")
    url, ip, stamp, mime, size = parts
    try:
        length = max(int(size), 0)
    except ValueError:
        length = 0
    headers = {"warc-date": timestamp_to_iso_date(stamp), "warc-ip-address": ip, "arc-mime": mime}
    if url.startswith("filedesc://"):
        ctx.arc = True
        headers.update({"warc-type": "warcinfo", "warc-filename": url[len("filedesc://"):]})
        for _ in range(2):  # the version line and the field names: part of the header, as in warcio
            length -= len(reader.readline(MAX_LINE))
        length = max(length, 0)
    else:
        headers.update({"warc-type": "response", "warc-target-uri": url,
                        "content-type": "application/http;msgtype=response"})
    headers["content-length"] = str(length)
    return WarcRecord(ctx.source, offset, None, headers), length


def _read_block(reader: Reader, ctx: _Ctx, rec: WarcRecord, length: int, start: int) -> None:
    """The record's block: the HTTP head (when there is one), then the payload, read or skipped."""
    if rec.type in ("response", "revisit") and rec.headers.get("content-type", "").startswith("application/http"):
        if (head := read_http_head(reader, length, rec.offset)) is not None:
            rec.http_status, rec.http_headers = head
            rec.http_raw = True
    left = length - (reader.pos - start)
    if left < 0:
        raise Damage(rec.offset, f"wrong Content-Length {length} (shorter than the HTTP headers)")
    payload_hash = None
    if ctx.digests and rec.type not in _NO_PAYLOAD_DIGEST and not rec.headers.get("warc-payload-digest"):
        payload_hash = hashlib.sha1()
        reader.tap.append(payload_hash)
    if ctx.want(rec):
        keep = min(left, ctx.max_body)
        rec.body = reader.read(keep)
        rec.body_truncated = keep < left
        got = len(rec.body) + reader.skip(left - keep)
    else:
        got = reader.skip(left)
    if got < left:  # the file (or member) ends inside the block: warcio reads what is there, so do we
        message = f"record ends early: Content-Length {length}, {length - left + got} bytes present"
        if ctx.verify:
            raise Damage(rec.offset, message)
        rec.incomplete = message
    if payload_hash is not None:
        rec.computed_digest = "sha1:" + _b32(payload_hash)


def _b32(h: Any) -> str:
    return base64.b32encode(h.digest()).decode("ascii")


def _after_record(reader: Reader, ctx: _Ctx, offset: int, length: int, in_member: bool) -> str | None:
    """Consume the line breaks after a record; a note when stray bytes were skipped (record kept).

    In a gzip member, whatever is left that is not another record is skipped to the member's
    end. In a plain file, one stray line is tolerated (a ``Content-Length`` a few bytes short, as
    warcio tolerates it); more means the length is wrong and the record is damage.
    """
    stray = 0
    while True:
        head = reader.peek(16)
        if (blank := len(head) - len(head.lstrip(b"\r\n"))):
            reader.skip(blank)
            head = head[blank:] or reader.peek(16)
            if head[:1] in (b"\r", b"\n"):
                continue
        if not head:
            break
        if head.startswith(WARC_MAGIC) or (ctx.arc and not stray):
            break
        if in_member:  # the rest of this member is not a record: skip it
            while reader.skip(CHUNK):
                pass
            return f"stray bytes after the record in its gzip member (Content-Length {length} too short?); record kept"
        if stray:
            raise Damage(offset, f"wrong Content-Length {length} (record not followed by CRLF CRLF)")
        stray = len(reader.readline(MAX_LINE))
    if not stray:
        return None
    return f"stray bytes after the record (Content-Length {length} too short?); record kept"


def iter_records(stream: BinaryIO, source: str, *, want: Want = lambda rec: False,
                 max_body: int = 50 * 1024 * 1024, gzip: bool | None = None, digests: bool = False,
                 verify: bool = False, fast: bool = True) -> Iterator[WarcRecord | Corrupt]:
    """Records of a WARC or ARC stream (gzip per record, whole-file gzip or plain), in file order.

    Damage yields a :class:`Corrupt` and reading goes on at the next record; a tolerated
    irregularity yields a ``kept`` Corrupt after its record. ``want(record)`` is called once the
    WARC and HTTP headers are parsed; when it returns True the payload is read into
    ``record.body`` (at most ``max_body`` bytes), otherwise it is skipped, never kept.
    ``gzip``: None = sniff the first bytes (pass True for ``.gz`` names so that a damaged first
    member still resyncs as gzip). ``digests``: compute the payload digest of records that carry
    none (``record.computed_digest``). ``verify``: a sha1 ``WARC-Block-Digest`` that does not
    match is damage. ``fast``: let FastWARC parse the clean stretches of a local file
    (:mod:`crawler.warc.fast`; the records are the same either way).
    """
    ctx = _Ctx(source, want, max_body, digests, verify)
    if fast and not verify and warcfast.usable(stream):
        head = stream.read(3)
        stream.seek(0)
        gz = bool(gzip or (gzip is None and head == GZIP_MAGIC))
        convert = warcfast.converter(source, want, max_body, digests, WarcRecord)
        yield from warcfast.iter_fast(stream, gz, convert, lambda base: _iter_from(stream, ctx, gz, base))
        return
    yield from _iter_from(stream, ctx, gzip, 0)


def _iter_from(stream: BinaryIO, ctx: _Ctx, gzip: bool | None, base: int) -> Iterator[WarcRecord | Corrupt]:
    """The Python reader from offset ``base`` (where ``stream`` is positioned)."""
    raw = Raw(stream, base)
    head = raw.view(base, 3)
    if not head:
        return
    if gzip or (gzip is None and head == GZIP_MAGIC):
        yield from _iter_gzip(raw, ctx)
    else:
        yield from _iter_plain(raw, ctx)


def _iter_gzip(raw: Raw, ctx: _Ctx) -> Iterator[WarcRecord | Corrupt]:
    pos = raw.start
    while raw.view(pos, 1):
        try:
            member = Member(raw, pos)
            multi = False
            while (rec := _read_record(member, ctx, pos)) is not None:
                last = member.at_end()
                if not last:
                    multi = True  # several records in one member (whole-file gzip): no seekable length
                elif not multi:
                    rec.length = member.cursor - pos
                yield rec
                if rec.irregular:
                    yield Corrupt(rec.source, rec.offset, rec.irregular, kept=True)
                if last:
                    break
            pos = member.finish()
        except Damage as exc:
            yield Corrupt(ctx.source, exc.offset, exc.message)
            pos = raw.find(GZIP_MAGIC, exc.offset + 1)
            if pos < 0:
                return


def _iter_plain(raw: Raw, ctx: _Ctx) -> Iterator[WarcRecord | Corrupt]:
    reader = Plain(raw, raw.start)
    while True:
        try:
            rec = _read_record(reader, ctx, None)
        except Damage as exc:
            yield Corrupt(ctx.source, exc.offset, exc.message)
            # resync at the next record line after the damage (looking back a few MiB at most)
            nxt = raw.find(b"\nhttp" if ctx.arc else b"\nWARC/1.", exc.offset)
            if nxt < 0:
                return
            reader = Plain(raw, nxt + 1)
            continue
        if rec is None:
            return
        yield rec
        if rec.irregular:
            yield Corrupt(rec.source, rec.offset, rec.irregular, kept=True)
