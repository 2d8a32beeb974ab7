"""Resolve ``revisit`` records to the record that holds their payload, across every source given.

Why a module of its own: replay and ``replay --crawl`` both need it, and the rules are easy to get
wrong. A revisit names its original by ``WARC-Refers-To`` (record ID), by
``WARC-Refers-To-Target-URI`` + ``WARC-Refers-To-Date``, and by its payload digest; the first that
is known wins. ``WARC-Truncated`` on the revisit itself says nothing about the payload (Heritrix,
``wget --warc-dedup`` and warcprox write ``WARC-Truncated: length`` on every revisit, because the
revisit's block stops after the HTTP headers), so it is ignored here. A pointer keeps the
original's decoded offset inside its gzip member and its record ID, so that a record of a
whole-file gzip WARC is found again, and a pointer can never land on another record (such as
the ``warcinfo`` at offset 0): it then counts as unresolved, with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

from crawler.warc.cdxj import timestamp14  # 14 digits: ...:21Z and ...:21.000Z compare equal
from crawler.warc.reader import WarcRecord
from crawler.warc.sources import ReadBack, Source, read_at

logger = logging.getLogger(__name__)

# why a revisit stays unresolved (stats keys ``.../revisits/unresolved/<reason>``)
NO_ORIGINAL = "no_original"  # nothing in the input has its record ID, URI + date or payload digest
UNREADABLE = "unreadable"  # the original's record cannot be read again at its offset
DIGEST_MISMATCH = "digest_mismatch"  # the record found holds another payload than the revisit names


class Pointer(NamedTuple):
    """Where an original is: source number, record offset, offset inside its gzip member, record ID."""

    source: int
    offset: int
    inner: int
    record_id: str


def _uri(value: str) -> str:
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value.replace(" ", "%20")


def _digest(value: str | None) -> str:
    return (value or "").strip().upper().removeprefix("SHA1:")


class OriginalIndex:
    """Record ID, (URI, date) and payload digest of candidate originals -> where they are (no bodies)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Pointer] = {}
        self._by_uri_date: dict[tuple[str, str], Pointer] = {}
        self._by_digest: dict[str, Pointer] = {}

    def __len__(self) -> int:
        return len(self._by_uri_date)

    def add(self, source: int, rec: WarcRecord) -> None:
        ptr = Pointer(source, rec.offset, rec.inner, rec.record_id)
        if rec.record_id:
            self._by_id.setdefault(rec.record_id, ptr)
        self._by_uri_date.setdefault((rec.target_uri, timestamp14(rec.date)), ptr)
        if digest := _digest(rec.payload_digest):
            self._by_digest.setdefault(digest, ptr)

    def find(self, revisit: WarcRecord) -> Pointer | None:
        """The revisit's original, by record ID, then URI + date, then payload digest; None if unknown."""
        headers = revisit.headers
        if (refers := headers.get("warc-refers-to")) and (ptr := self._by_id.get(refers.strip())):
            return ptr
        uri, date = headers.get("warc-refers-to-target-uri"), headers.get("warc-refers-to-date")
        if uri and date and (ptr := self._by_uri_date.get((_uri(uri), timestamp14(date)))):
            return ptr
        if (digest := _digest(headers.get("warc-payload-digest"))) and (ptr := self._by_digest.get(digest)):
            return ptr
        return None


def read_original(sources: Sequence[Source], ptr: Pointer, revisit: WarcRecord, *, max_body: int,
                  readback: ReadBack | None = None) -> tuple[WarcRecord | None, str | None]:
    """``(original with its body, None)``, or ``(None, reason)`` when it cannot be used.

    ``readback``: the caller's :class:`ReadBack` (linear read-back from whole-file gzip)."""
    read = readback.read if readback is not None else read_at
    try:
        original = read(sources[ptr.source], ptr.offset, max_body=max_body, inner=ptr.inner,
                        record_id=ptr.record_id or None)
    except OSError as exc:
        logger.debug("cannot read %s at %d: %s", sources[ptr.source].name, ptr.offset, exc)
        original = None
    if original is None or original.body is None:
        return None, UNREADABLE
    want, got = _digest(revisit.headers.get("warc-payload-digest")), _digest(original.payload_digest)
    if want and got and want != got:
        return None, DIGEST_MISMATCH
    return original, None
