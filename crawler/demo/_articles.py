"""The Demo Gazette's articles: their metadata, and how each one can be reached.

An article is metadata and a body seed (its paragraphs are generated when asked for), so a
20,000-article site builds in seconds; :func:`assign_routes` decides which of sitemaps, feeds
and HTML links lead to it, the ground truth that the crawl tests check discovery against.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from crawler.demo._text import SECTIONS, TextWriter, Vocabulary, slugify

END = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=90)
FEED_SIZE = 50
N_PRIVATE = 5
N_AUTHORS = 9


@dataclass(eq=False)
class DemoArticle:
    """One post and its ground truth. ``routes`` ⊂ {"sitemap", "feed", "section"} says how it is reachable."""

    id: int
    path: str
    title: str
    author: str
    published: datetime
    updated: datetime
    section: str
    tags: list[str]
    description: str
    routes: set[str] = field(default_factory=set)
    private: bool = False
    atom_only: bool = False
    body_seed: int = field(default=0, repr=False)
    vocab: Vocabulary | None = field(default=None, repr=False, compare=False)
    _paragraphs: list[str] | None = field(default=None, repr=False)

    @property
    def paragraphs(self) -> list[str]:
        """The exact body text, paragraph by paragraph (regenerated from ``body_seed`` unless changed)."""
        if self._paragraphs is not None:
            return list(self._paragraphs)
        assert self.vocab is not None
        return TextWriter(self.vocab, random.Random(self.body_seed), self.section).paragraphs()

    @paragraphs.setter
    def paragraphs(self, value: list[str]) -> None:
        self._paragraphs = list(value)

    @property
    def slug(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def author_slug(self) -> str:
        return slugify(self.author)


def make_article(rng: random.Random, vocab: Vocabulary, authors: list[str], seed: int, art_id: int,
                  published: datetime, used: set[str], *, private: bool) -> DemoArticle:
    section = rng.choice(SECTIONS)
    w = TextWriter(vocab, rng, section)
    title = w.title()
    slug = base = slugify(title)
    n = 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    path = f"/private/{slug}/" if private else f"/{published:%Y/%m/%d}/{slug}/"
    updated = published if rng.random() < 0.7 else published + timedelta(minutes=rng.randint(20, 2880))
    return DemoArticle(id=art_id, path=path, title=title, author=rng.choice(authors), published=published,
                       updated=updated, section=section, tags=w.tags(), description=w.sentence(),
                       private=private, body_seed=seed * 1_000_003 + art_id, vocab=vocab)


def trim_feed(articles: list[DemoArticle]) -> None:
    """Only the newest ``FEED_SIZE`` feed articles stay in the feeds; the rest lose the route."""
    in_feed = sorted((a for a in articles if "feed" in a.routes), key=lambda a: a.published, reverse=True)
    for a in in_feed[FEED_SIZE:]:
        a.routes.discard("feed")


def assign_routes(rng: random.Random, public: list[DemoArticle]) -> None:
    """Decide reachability (``public`` is oldest first)."""
    n = len(public)
    feed_size = min(FEED_SIZE, n // 2)
    only = max(10, n // 25) if n >= 100 else max(1, n // 10)
    feed_only_n = min(max(12, only // 4), feed_size // 3) if n >= 100 else only
    window, older = public[n - feed_size:], public[:n - feed_size]
    feed_only = rng.sample(window, feed_only_n)
    for a in rng.sample(feed_only, min(5, feed_only_n // 2)):
        a.atom_only = True
    picks = rng.sample(older, 2 * only)
    sitemap_only, section_only = set(map(id, picks[:only])), set(map(id, picks[only:]))
    feed_only_ids = set(map(id, feed_only))
    for a in window:
        a.routes = {"feed"} if id(a) in feed_only_ids else {"feed", "sitemap", "section"}
    for a in older:
        a.routes = ({"sitemap"} if id(a) in sitemap_only else
                    {"section"} if id(a) in section_only else {"sitemap", "section"})


def sitemap_cutoffs(in_sitemap: list[DemoArticle]) -> tuple[datetime, datetime]:
    """Oldest fifth → gzip archive sitemap; next two fifths → post-sitemap1; newer → post-sitemap2a."""
    times = sorted(a.published for a in in_sitemap)
    return times[len(times) // 5], times[len(times) * 3 // 5]
