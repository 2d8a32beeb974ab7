"""One article per canonical URL and per text: the deduplication that the crawl and replay share.

Within a run, the first article with a canonical URL or a text (SHA-256 of the normalized
text) is written and later ones are duplicates. With a crawl state (incremental crawls), a text
archived by an earlier run under another article id is a duplicate too: a syndicated copy.

:class:`~crawler.urls.DigestSet` holds its URLs and text hashes (8 bytes a member).
"""

from __future__ import annotations

import threading
from typing import Any

from crawler.extract.api import Article
from crawler.output.writer import article_id
from crawler.urls import DigestSet


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
