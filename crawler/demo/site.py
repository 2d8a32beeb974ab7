"""The Demo Gazette: a deterministic WordPress-like news site with its ground truth.

``build_site`` makes the articles (metadata only: bodies, pages and feeds are rendered on
request, so 20,000 articles build in seconds) and decides how each article can be reached:
through sitemaps, through the feeds, through HTML links ("section": home, section, tag and
author pages, related links), or several of these. ``DemoSite.response`` serves any path
with the wire details a faithful archiver must keep (gzip, 304s, repeated headers,
redirects); ``crawler.demo.server`` puts it on a socket.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawler.demo import _feeds
from crawler.demo._articles import (
    END,
    N_AUTHORS,
    N_PRIVATE,
    SPAN,
    DemoArticle,
    assign_routes,
    make_article,
    sitemap_cutoffs,
    trim_feed,
)
from crawler.demo._edge import edge_page, edge_paragraphs
from crawler.demo._http import DemoResponse, _finish, _redirect
from crawler.demo._pages import (
    HTML,
    PER_PAGE,
    STATIC_PAGES,
    Page,
    article_page,
    home_page,
    listing_page,
    login_page,
    not_found_page,
    static_page,
)
from crawler.demo._text import SECTIONS, TextWriter, Vocabulary, slugify
from crawler.demo._variants import render_article

NEWS_SIZE = 30
SITE_NAME = "The Demo Gazette"

_LISTING = re.compile(r"^/(category|tag|author)/([a-z0-9-]+)/(?:page/(\d+)/)?$")
_OLD_NEWS = re.compile(r"^/old-news/([a-z0-9-]+)/$")
_GO = re.compile(r"^/go/(\d+)(/2)?$")


@dataclass(frozen=True)
class _Index:
    """Read-only lookups, rebuilt and swapped as a whole when the site changes (so readers need no lock)."""

    by_path: dict[str, DemoArticle]
    by_id: dict[int, DemoArticle]
    listed: list[DemoArticle]  # reachable through HTML links, newest first
    by_section: dict[str, list[DemoArticle]]
    by_tag: dict[str, list[DemoArticle]]
    by_author: dict[str, list[DemoArticle]]
    feed: list[DemoArticle]  # newest first; RSS drops the atom-only ones
    sitemap: list[DemoArticle]  # oldest first
    private: list[DemoArticle]


class DemoSite:
    """The whole site in memory: articles, indexes, and ``response()`` for any request path."""

    name = SITE_NAME
    sections = SECTIONS

    def __init__(self, articles: list[DemoArticle], *, seed: int, vocab: Vocabulary, rng: random.Random,
                 authors: list[str], sitemap_cutoffs: tuple[datetime, datetime],
                 base_url: str = "http://localhost"):
        self.articles = articles
        self.seed, self.vocab, self.base_url = seed, vocab, base_url
        self.authors = {slugify(a): a for a in authors}
        # dataset variants (crawler.demo._variants), all off by default
        self.syndicated: dict[str, str] = {}  # copy path -> original path
        self.paywalled: dict[str, str] = {}  # path -> "truncated" | "full"
        self.template = "classic"  # or "app" after redesign()
        tags = sorted({t for s in SECTIONS for t in vocab[f"tags_{s}"]})
        self.tag_names = {slugify(t): t for t in tags}
        self.sitemap_cutoffs = sitemap_cutoffs
        self._rng = rng
        self._lock = threading.Lock()
        self._cache: dict[Any, bytes] = {}
        self.edge_articles = {path: self.make_edge_article(path, title, "culture", paras)
                              for path, (title, paras) in edge_paragraphs(vocab, seed).items()}
        self.index = self._build_index()
        listed = self.index.listed
        picks = [listed[len(listed) * k // 7] for k in (2, 3, 4, 5, 6)]
        self.old_news = {f"old-{a.slug}": a.path for a in picks[:3]}
        self.go_links = {n: a.path for n, a in enumerate(picks[3:], start=1)}

    # ----- lookups used by the page templates
    @property
    def private(self) -> list[DemoArticle]:
        """The robots-disallowed articles (linked from the home page only)."""
        return self.index.private

    def article(self, path: str) -> DemoArticle | None:
        """The article at ``path`` (no query), private ones included."""
        return self.index.by_path.get(path)

    def tag_slug(self, tag: str) -> str:
        return slugify(tag)

    def related(self, a: DemoArticle, n: int = 3) -> list[DemoArticle]:
        """The next older linked articles of the same section (stable when newer posts arrive)."""
        items = self.index.by_section.get(a.section, [])
        i = self._older_pos(items, a)
        return items[i:i + n]

    def read_also(self, a: DemoArticle) -> DemoArticle | None:
        """An older linked article from another section."""
        items = self.index.listed
        i = self._older_pos(items, a)
        return next((b for b in items[i:i + 40] if b.section != a.section), None)

    @staticmethod
    def _older_pos(items: list[DemoArticle], a: DemoArticle) -> int:
        lo, hi, t = 0, len(items), a.published
        while lo < hi:  # items are newest first: find the first one older than ``a``
            mid = (lo + hi) // 2
            if items[mid].published >= t:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def make_edge_article(self, path: str, title: str, section: str,
                          paragraphs: list[str] | None = None) -> DemoArticle:
        """Metadata for an unlisted article-like page (``/_edge/...``)."""
        when = datetime(2026, 10, 15, 9, 30, tzinfo=UTC)
        return DemoArticle(id=9, path=path, title=title, author="Demo Staff", published=when, updated=when,
                           section=section, tags=[], description=title, vocab=self.vocab,
                           _paragraphs=paragraphs)

    def cached(self, key: Any, make: Callable[[], bytes]) -> bytes:
        """Keep an expensive body (the 5 MB page); dropped whenever the site changes."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    # ----- serving
    def response(self, path: str, headers: Mapping[str, str] | None = None) -> DemoResponse:
        """Serve ``path`` (with query) as the server would: routing, 304, gzip, site headers."""
        h = {k.lower(): v for k, v in (headers or {}).items()}
        origin = f"http://{h['host']}" if h.get("host") else self.base_url
        parts = urlsplit(path)
        page = self._route(parts.path or "/", parts.query, origin)
        return _finish(page, h)

    def _route(self, path: str, query: str, origin: str) -> Page:
        idx = self.index
        if path == "/":
            pid = parse_qs(query).get("p", [""])[0]
            if pid:
                target = idx.by_id.get(int(pid)) if pid.isdigit() else None
                return _redirect(301, origin + target.path) if target else self._not_found(origin)
            cookies = [("Set-Cookie", "gazette_session=8f14e45fceea167a; Path=/; HttpOnly"),
                       ("Set-Cookie", "gazette_consent=pending; Path=/; Max-Age=31536000; SameSite=Lax")]
            return Page(200, HTML, home_page(self, origin), headers=cookies)
        if path == "/robots.txt":
            return Page(200, "text/plain; charset=utf-8", _feeds.robots_txt(origin))
        xml = self._xml(path, origin)
        if xml is not None:
            return xml
        if path in STATIC_PAGES:
            return Page(200, HTML, static_page(self, origin, path))
        if path == "/wp-admin" or path.startswith("/wp-admin/") or path == "/wp-login.php":
            return Page(200, HTML, login_page(self, origin), headers=[("Cache-Control", "no-store")])
        if path.startswith("/_edge/"):
            return edge_page(self, origin, path, query) or self._not_found(origin)
        if m := _LISTING.match(path):
            if m.group(3) == "1":  # WordPress sends page 1 to the archive's own URL
                return _redirect(301, f"{origin}/{m.group(1)}/{m.group(2)}/")
            return self._listing(origin, m.group(1), m.group(2), int(m.group(3) or 1))
        if m := _OLD_NEWS.match(path):
            target = self.old_news.get(m.group(1))
            return _redirect(301, origin + target) if target else self._not_found(origin)
        if m := _GO.match(path):
            target = self.go_links.get(int(m.group(1)))
            if target is None:
                return self._not_found(origin)
            return _redirect(302, origin + target if m.group(2) else f"{origin}/go/{m.group(1)}/2")
        if a := idx.by_path.get(path):
            body = render_article(self, origin, a, a.paragraphs) or article_page(self, origin, a, a.paragraphs)
            return Page(200, HTML, body, etag=f'"{hashlib.sha1(body).hexdigest()[:20]}"', last_modified=a.updated,
                        headers=[("Link", f"<{origin}/?p={a.id}>; rel=shortlink")])
        if not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]:
            if self._route(path + "/", "", origin).status == 200:  # WordPress adds the slash
                return _redirect(301, origin + path + "/" + (f"?{query}" if query else ""))
        return self._not_found(origin)

    def _not_found(self, origin: str) -> Page:
        return Page(404, HTML, not_found_page(self, origin))

    def _listing(self, origin: str, kind: str, slug: str, page: int) -> Page:
        idx = self.index
        if kind == "category" and slug in SECTIONS:
            items, heading = idx.by_section[slug], f"Category: {slug.capitalize()}"
        elif kind == "tag" and slug in self.tag_names:
            items, heading = idx.by_tag.get(slug, []), f"Tag: {self.tag_names[slug]}"
        elif kind == "author" and slug in self.authors:
            items, heading = idx.by_author.get(slug, []), f"Author: {self.authors[slug]}"
        else:
            return self._not_found(origin)
        body = listing_page(self, origin, base=f"/{kind}/{slug}/", heading=heading, items=items, page=page)
        if body is None or page < 1:
            return self._not_found(origin)
        return Page(200, HTML, body, chunked=kind == "category")

    def _xml(self, path: str, origin: str) -> Page | None:
        idx = self.index
        archive_cut, split_cut = self.sitemap_cutoffs
        sm = idx.sitemap
        xml = _feeds.XML
        if path == "/sitemap_index.xml":
            last = max((a.updated for a in sm), default=None)
            children = [("/post-sitemap1.xml", last), ("/post-sitemap2.xml", last),
                        ("/archive-sitemap.xml.gz", None), ("/page-sitemap.xml", None)]
            return Page(200, xml, _feeds.sitemap_index(origin, children))
        if path == "/post-sitemap1.xml":
            return Page(200, xml, _feeds.urlset(origin, [a for a in sm if archive_cut <= a.published < split_cut],
                                                images=True))
        if path == "/post-sitemap2.xml":
            last = max((a.updated for a in sm), default=None)
            return Page(200, xml, _feeds.sitemap_index(origin, [("/post-sitemap2a.xml", last)]))
        if path == "/post-sitemap2a.xml":
            return Page(200, xml, _feeds.urlset(origin, [a for a in sm if a.published >= split_cut]))
        if path == "/archive-sitemap.xml.gz":
            body = _feeds.gzipped(_feeds.urlset(origin, [a for a in sm if a.published < archive_cut]))
            return Page(200, "application/x-gzip", body)
        if path == "/page-sitemap.xml":
            return Page(200, xml, _feeds.page_urlset(origin, ["/", *STATIC_PAGES]))
        if path == "/news-sitemap.xml":
            return Page(200, xml, _feeds.news_sitemap(origin, self, sm[::-1][:NEWS_SIZE]))
        if path == "/feed/":
            items = [a for a in idx.feed if not a.atom_only]
            return Page(200, "application/rss+xml; charset=UTF-8", _feeds.rss(origin, self, items))
        if path == "/feed/atom/":
            return Page(200, "application/atom+xml; charset=UTF-8", _feeds.atom(origin, self, idx.feed))
        return None

    # ----- changes (for incremental crawls)
    def publish(self, n: int) -> list[DemoArticle]:
        """Add ``n`` newer articles, reachable through every route; older ones may leave the feed."""
        with self._lock:
            last = max(a.published for a in self.articles)
            next_id = max(a.id for a in self.articles) + 3
            used = {a.slug for a in self.articles}
            new = []
            for i in range(n):
                last += timedelta(minutes=self._rng.randint(30, 180))
                a = make_article(self._rng, self.vocab, list(self.authors.values()), self.seed, next_id + 3 * i,
                                  last, used, private=False)
                a.routes = {"sitemap", "feed", "section"}
                new.append(a)
            self.articles.extend(new)
            trim_feed(self.articles)
            self._changed()
        return new

    def change_article(self, path: str, new_paragraph: str) -> DemoArticle:
        """Append ``new_paragraph`` to the body; ``updated`` moves one hour on (new ETag and Last-Modified)."""
        with self._lock:
            a = self.index.by_path[path]
            a.paragraphs = [*a.paragraphs, new_paragraph]
            a.updated = a.updated + timedelta(hours=1)
            self._changed()
        return a

    def _changed(self) -> None:
        self._cache.clear()
        self.index = self._build_index()

    def _build_index(self) -> _Index:
        newest = sorted(self.articles, key=lambda a: a.published, reverse=True)
        public = [a for a in newest if not a.private]
        listed = [a for a in public if "section" in a.routes]
        by_section: dict[str, list[DemoArticle]] = {s: [] for s in SECTIONS}
        by_tag: dict[str, list[DemoArticle]] = {}
        by_author: dict[str, list[DemoArticle]] = {}
        slugs = {name: slug for slug, name in (*self.authors.items(), *self.tag_names.items())}
        for a in listed:
            by_section[a.section].append(a)
            by_author.setdefault(slugs[a.author], []).append(a)
            for t in a.tags:
                by_tag.setdefault(slugs[t], []).append(a)
        return _Index(by_path={a.path: a for a in self.articles}, by_id={a.id: a for a in self.articles},
                      listed=listed, by_section=by_section, by_tag=by_tag, by_author=by_author,
                      feed=[a for a in public if "feed" in a.routes],
                      sitemap=[a for a in reversed(public) if "sitemap" in a.routes],
                      private=[a for a in reversed(newest) if a.private])

    # ----- static export
    def static_paths(self) -> Iterator[str]:
        """Every linkable, non-redirect path of the site (private articles included)."""
        yield from ["/", "/robots.txt", "/sitemap_index.xml", "/post-sitemap1.xml", "/post-sitemap2.xml",
                    "/post-sitemap2a.xml", "/archive-sitemap.xml.gz", "/page-sitemap.xml", "/news-sitemap.xml",
                    "/feed/", "/feed/atom/", *STATIC_PAGES]
        idx = self.index
        for kind, groups in (("category", idx.by_section), ("tag", idx.by_tag), ("author", idx.by_author)):
            for slug, items in groups.items():
                for page in range(1, max(1, -(-len(items) // PER_PAGE)) + 1):
                    yield f"/{kind}/{slug}/" if page == 1 else f"/{kind}/{slug}/page/{page}/"
        yield from (a.path for a in self.articles)

    def write_static(self, directory: Path, *, base_url: str | None = None) -> None:
        """Write the site as files for a static server: ``/x/`` → ``x/index.html``, other files as they are."""
        origin = (base_url or self.base_url).rstrip("/")
        for path in self.static_paths():
            rel = path.lstrip("/") + ("index.html" if path.endswith("/") else "")
            target = Path(directory) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self._route(path, "", origin).body)


def build_site(n_articles: int = 300, seed: int = 42) -> DemoSite:
    """Generate the site. ``n_articles`` counts every article, the ``N_PRIVATE`` private ones included.

    Per-route-only counts scale with size (at least 10 each once ``n_articles`` >= 100):
    sitemap-only and section-only articles are older than the feed window; feed-only ones are
    inside it, and up to 5 of them are listed only by the Atom feed.
    """
    if n_articles < 20:
        raise ValueError("build_site needs at least 20 articles")
    rng = random.Random(seed)
    vocab = Vocabulary.load()
    authors: list[str] = []
    while len(authors) < N_AUTHORS:
        name = TextWriter(vocab, rng, "politics").person()
        if name not in authors:
            authors.append(name)
    n_private = N_PRIVATE if n_articles >= 60 else 1
    public = n_articles - n_private
    step = SPAN / public
    times = [(END - step * (public - 1 - i) - step * rng.uniform(0, 0.8)).replace(microsecond=0)
             for i in range(public)]
    private_times = sorted((END - SPAN * rng.uniform(0.05, 0.95)).replace(microsecond=0) for _ in range(n_private))
    entries = sorted([(t, False) for t in times] + [(t, True) for t in private_times])
    used: set[str] = set()
    articles = [make_article(rng, vocab, authors, seed, 101 + 3 * k, t, used, private=p)
                for k, (t, p) in enumerate(entries)]
    assign_routes(rng, [a for a in articles if not a.private])
    archive_cut, split_cut = sitemap_cutoffs([a for a in articles if "sitemap" in a.routes])
    return DemoSite(articles, seed=seed, vocab=vocab, rng=rng, authors=authors,
                    sitemap_cutoffs=(archive_cut, split_cut))
