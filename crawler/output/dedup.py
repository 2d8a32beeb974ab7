"""One article per canonical URL and per text: the deduplication that the crawl and replay share.

Within a run, the first article with a canonical URL or a text (SHA-256 of the normalized
text) is written and later ones are duplicates. With a crawl state (incremental crawls), a text
archived by an earlier run under another article id is a duplicate too: a syndicated copy.

:class:`DigestSet` is the compact set behind every per-URL memory of a run (this dedup, the
spider's requested and emitted URLs, the crawl's dupefilter): 8 bytes a member instead of the
150-250 bytes of a Python ``set`` of strings, so that a crawl's memory stays flat in its size.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from crawler.extract.api import Article
from crawler.output.writer import article_id

_MASK = (1 << 64) - 1


def digest_key(value: str | bytes) -> int:
    """64 bits that stand for ``value`` in a :class:`DigestSet`.

    Bytes are a digest already (a Scrapy request fingerprint, a SHA-1): their first 8 bytes.
    A string (or any other hashable value) is hashed with Python's own string hash (SipHash, computed once per string object):
    keys live in one process only, like the sets they replace. Two members of a million share
    a key with odds of 3 in 100 million, and then the later one counts as seen.
    """
    if isinstance(value, bytes):
        return int.from_bytes(value[:8], "big")
    return hash(value) & _MASK


class DigestSet:
    """A set of strings or digests kept as 64-bit keys (:func:`digest_key`): a sorted ``uint64`` array
    and a short buffer of the latest ones (a Python set, merged into the array when ``buffer`` long,
    or 1/64 of the array).

    Membership costs about a microsecond (a binary search); memory is 8 bytes a member plus the
    buffer (about 1 byte a member), whatever the crawl's size. One thread uses it (or its owner's lock guards it).
    """

    def __init__(self, values: Any = (), *, buffer: int = 4096):
        self._sorted = np.empty(0, dtype=np.uint64)
        self._recent: set[int] = set()
        self._buffer = buffer
        for value in values:
            self.add(value)

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def __contains__(self, value: object) -> bool:
        return self._has(digest_key(value))  # type: ignore[arg-type]

    def _has(self, key: int) -> bool:
        if key in self._recent:
            return True
        keys = self._sorted
        at = int(keys.searchsorted(np.uint64(key)))
        return at < len(keys) and int(keys[at]) == key

    def add(self, value: str | bytes) -> None:
        key = digest_key(value)
        if self._has(key):
            return
        self._recent.add(key)
        # a merge copies the array: the buffer grows with it (1/64), so merging stays O(n log n) overall
        if len(self._recent) >= max(self._buffer, len(self._sorted) >> 6):
            new = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
            new.sort()
            self._sorted = np.insert(self._sorted, self._sorted.searchsorted(new), new)
            self._recent = set()

    def update(self, values: Any) -> None:
        for value in values:
            self.add(value)

    def discard(self, value: str | bytes) -> None:
        key = digest_key(value)
        if key in self._recent:
            self._recent.discard(key)
            return
        at = int(self._sorted.searchsorted(np.uint64(key)))
        if at < len(self._sorted) and int(self._sorted[at]) == key:
            self._sorted = np.delete(self._sorted, at)

    @property
    def nbytes(self) -> int:
        """Bytes of the keys (the sorted array's 8 a member; the buffer's Python ints not counted)."""
        return self._sorted.nbytes


class Dedup:
    """Remembers the articles written; :meth:`duplicate_of` says why a new one is not written, or None."""

    def __init__(self, state: Any = None):
        self.state = state  # a CrawlState: texts of earlier runs count too
        self._urls = DigestSet()
        self._hashes = DigestSet()
        self._lock = threading.Lock()  # the crawl's pipeline asks from several threads

    def duplicate_of(self, article: Article) -> str | None:
        """``canonical_url``, ``text_hash`` or ``text_hash_earlier_run``; None for a new article (now remembered)."""
        with self._lock:
            if article.canonical_url in self._urls:
                return "canonical_url"
            if article.text_sha256 in self._hashes:
                return "text_hash"
            if self.state is not None and self.state.has_text_hash(article.text_sha256) not in (
                    None, article_id(article.canonical_url)):
                return "text_hash_earlier_run"  # syndicated copy of an article archived before
            self._urls.add(article.canonical_url)
            self._hashes.add(article.text_sha256)
            return None

    def forget(self, article: Article) -> None:
        """Undo :meth:`duplicate_of` remembering ``article``: it was not written after all (the fleet's
        claim failed), so the request done again later must not find it a duplicate of itself."""
        with self._lock:
            self._urls.discard(article.canonical_url)
            self._hashes.discard(article.text_sha256)
