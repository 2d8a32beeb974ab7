"""Revisit records back to their payloads: the one resolution that replay and ``replay --crawl`` share.

A ``revisit`` record stores no payload, only the digest of one archived before (WARC 1.1,
``identical-payload-digest`` and ``server-not-modified`` profiles). :class:`Originals` remembers
where each payload was first seen (any location the caller can read back: a source number and
an offset) and finds a revisit's original by its ``WARC-Payload-Digest``; revisits whose
original has not been read yet wait in :attr:`Originals.later` until the end of the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Originals:
    """Payload digest -> where that payload was first archived, and the revisits still waiting for theirs."""

    def __init__(self) -> None:
        self._where: dict[str, Any] = {}
        self.later: list[Any] = []

    def remember(self, digest: str | None, where: Any) -> None:
        """A response record with this payload; the first one seen stays the original."""
        if digest:
            self._where.setdefault(digest, where)

    def find(self, revisit_headers: Mapping[str, str]) -> Any:
        """Where the revisit's payload is (what :meth:`remember` was given), or None."""
        return self.find_digest(revisit_headers.get("warc-payload-digest", ""))

    def find_digest(self, digest: str | None) -> Any:
        return self._where.get(digest) if digest else None

    def clear(self) -> None:
        self._where.clear()
        self.later.clear()
