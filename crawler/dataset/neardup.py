"""Near-duplicates: syndicated or lightly edited copies of one story, grouped across sites and runs.

Exact copies (the same normalized text) never get this far: the pipeline drops them by text
hash. For the rest, each article's text becomes a set of word shingles (``SHINGLE`` words),
summarized by a datasketch ``MinHash`` (``NUM_PERM`` permutations; the share of equal values
estimates the Jaccard similarity of two shingle sets). Candidates are found with LSH: the
signature is cut into ``b`` bands of ``r`` values, the (b, r) that datasketch's ``MinHashLSH``
chooses for the threshold, and two articles are candidates when one band is equal. The bands
and signatures live in the crawl state (tables ``minhash`` and ``minhash_bands``), so a copy is
found whatever run archived its original, and memory does not grow with the archive.

A candidate whose estimated similarity reaches the threshold makes the article a near-duplicate:
``near_duplicate_of`` is the id of the first archived copy of the group (the root its closest
candidate belongs to) and ``near_duplicate_similarity`` the estimate against that closest copy.
The first copy itself has neither. Changing the threshold re-cuts the stored bands once.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import weakref
from typing import Any, NamedTuple

import numpy as np

from crawler.config import settings as defaults

logger = logging.getLogger(__name__)

SHINGLE = 3
NUM_PERM = 128
DEFAULT_THRESHOLD = defaults.NEWSWARC_NEAR_DUPLICATE_THRESHOLD
_SEED = 1
_WORD = re.compile(r"\w+")
_PARAMS_KEY = "minhash_params"
_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()
_WARNED_NO_TABLES = False  # open_index said once that the state cannot hold signatures


class NearDuplicate(NamedTuple):
    """The group an article joined: the first copy's id and the similarity to its closest copy."""

    of: str
    similarity: float


def shingles(text: str, k: int = SHINGLE) -> list[bytes]:
    """Lower-cased word ``k``-grams of ``text`` (one shingle for a shorter text)."""
    words = _WORD.findall(text.lower())
    if len(words) <= k:
        return [" ".join(words).encode("utf-8")]
    return list({" ".join(words[i:i + k]).encode("utf-8") for i in range(len(words) - k + 1)})


def signature(text: str, num_perm: int = NUM_PERM) -> np.ndarray:
    """The MinHash signature of ``text`` as uint32 values (datasketch keeps them below 2**32)."""
    from datasketch import (
        MinHash,  # datasketch imports scipy (about 2 s): paid only where signatures are made
    )

    m = MinHash(num_perm=num_perm, seed=_SEED)
    m.update_batch(shingles(text))
    return m.hashvalues.astype(np.uint32)


def lsh_params(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows per band) that datasketch's MinHashLSH picks for ``threshold``."""
    from datasketch import MinHashLSH  # the same start-up cost as in signature()

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def _bucket(values: np.ndarray) -> int:
    return int.from_bytes(hashlib.blake2b(values.tobytes(), digest_size=8).digest(), "little", signed=True)


class NearDuplicateIndex:
    """Finds and remembers near-duplicates in a store with ``query``/``execute`` (the CrawlState)."""

    def __init__(self, store: Any, threshold: float = DEFAULT_THRESHOLD, num_perm: int = NUM_PERM):
        if not 0 < threshold <= 1:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], not {threshold}")
        self.store, self.threshold, self.num_perm = store, threshold, num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm)
        with _LOCKS_LOCK:  # one lock per store: crawls of one process may share a state file
            self.lock = _LOCKS.setdefault(store, threading.RLock())
        self._ensure_params()

    def _ensure_params(self) -> None:
        params = f"{self.num_perm},{self.bands},{self.rows},{SHINGLE}"
        row = self.store.query("SELECT value FROM meta WHERE key = ?", (_PARAMS_KEY,))
        if row and row[0][0] == params:
            return
        old = row[0][0].split(",") if row else None
        if old and (old[0] != str(self.num_perm) or old[3:] != [str(SHINGLE)]):
            self.store.execute("DELETE FROM minhash", ())  # signatures of another kind: start afresh
        self.store.execute("DELETE FROM minhash_bands", ())
        for article_id, blob in self.store.query("SELECT article_id, signature FROM minhash"):
            self._add_bands(article_id, np.frombuffer(blob, dtype=np.uint32))
        self.store.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_PARAMS_KEY, params))

    def _keys(self, sig: np.ndarray) -> list[tuple[int, int]]:
        r = self.rows
        return [(b, _bucket(sig[b * r:(b + 1) * r])) for b in range(self.bands)]

    def _add_bands(self, article_id: str, sig: np.ndarray) -> None:
        for band, bucket in self._keys(sig):
            self.store.execute("INSERT OR IGNORE INTO minhash_bands (band, bucket, article_id) VALUES (?, ?, ?)",
                               (band, bucket, article_id))

    def find(self, article_id: str, sig: np.ndarray) -> NearDuplicate | None:
        """The group ``sig`` belongs to, or None (a new story, or the first copy of one)."""
        known = self.store.query("SELECT root_id, similarity FROM minhash WHERE article_id = ?", (article_id,))
        if known:  # a new version of an archived article keeps its group
            root, sim = known[0]
            return NearDuplicate(root, sim) if root != article_id else None
        candidates: set[str] = set()
        for band, bucket in self._keys(sig):
            rows = self.store.query("SELECT article_id FROM minhash_bands WHERE band = ? AND bucket = ?",
                                    (band, bucket))
            candidates.update(r[0] for r in rows)
        best: tuple[float, str] | None = None
        for cand in sorted(candidates - {article_id}):
            found = self.store.query("SELECT root_id, signature FROM minhash WHERE article_id = ?", (cand,))
            if not found:
                continue
            root, blob = found[0]
            sim = float(np.count_nonzero(np.frombuffer(blob, dtype=np.uint32) == sig)) / len(sig)
            if sim >= self.threshold and (best is None or sim > best[0]):
                best = (sim, root)
        return NearDuplicate(best[1], round(best[0], 4)) if best else None

    def add(self, article_id: str, sig: np.ndarray, group: NearDuplicate | None) -> None:
        """Remember an article (the first claim of an id wins)."""
        if self.store.query("SELECT 1 FROM minhash WHERE article_id = ?", (article_id,)):
            return
        self.store.execute("INSERT INTO minhash (article_id, root_id, similarity, signature) VALUES (?, ?, ?, ?)",
                           (article_id, group.of if group else article_id, group.similarity if group else None,
                            sig.tobytes()))
        self._add_bands(article_id, sig)

    def recover(self, row: Any) -> None:
        """Re-remember an article a killed run wrote (its JSONL row) with the group it was given."""
        of = row.get("near_duplicate_of")
        group = NearDuplicate(of, row.get("near_duplicate_similarity")) if of else None
        with self.lock:
            self.add(row["id"], signature(row["text"], self.num_perm), group)


def row_fields(group: NearDuplicate | None) -> dict[str, Any]:
    """The JSONL fields: ``near_duplicate_of`` and ``near_duplicate_similarity`` (both null for none)."""
    return {"near_duplicate_of": group.of if group else None,
            "near_duplicate_similarity": group.similarity if group else None}


def open_index(state: Any, settings: Any) -> NearDuplicateIndex | None:
    """The crawl's index, or None when near-duplicates are off or there is no crawl state."""
    enabled = settings.getbool("NEWSWARC_NEAR_DUPLICATES_ENABLED", defaults.NEWSWARC_NEAR_DUPLICATES_ENABLED)
    if state is None or not enabled:
        return None
    if not (hasattr(state, "query") and hasattr(state, "execute")):  # the Redis state of distributed workers
        global _WARNED_NO_TABLES
        if not _WARNED_NO_TABLES:  # once per process, not once per crawler of a worker
            _WARNED_NO_TABLES = True
            logger.warning("near-duplicate grouping needs the SQLite crawl state: off with %s", type(state).__name__)
        return None
    threshold = settings.getfloat("NEWSWARC_NEAR_DUPLICATE_THRESHOLD", DEFAULT_THRESHOLD)
    if not 0 < threshold <= 1:  # a profile is checked when read; a -s value is not
        logger.error("NEWSWARC_NEAR_DUPLICATE_THRESHOLD=%s is not in (0, 1]: near-duplicates are off", threshold)
        return None
    return NearDuplicateIndex(state, threshold)
