"""Demo site variants for the dataset features: syndicated copies, paywalls, a redesign.

None of them is on by default: ``build_site()`` serves exactly what it always served. A test
(or ``newswarc demo --variants``: the copies and both paywalls) turns them on for one site:

- :func:`add_syndicated` publishes lightly edited copies of existing stories in another section
  (an agency story run twice: another headline and slug, an agency dateline, one sentence
  changed, a credit line). ``site.syndicated`` maps each copy's path to its original's path:
  the ground truth of near-duplicate grouping.
- :func:`add_paywalled` marks articles as paywalled. ``"truncated"``: the page says
  ``isAccessibleForFree: false`` and serves three paragraphs and a subscription prompt;
  ``"full"``: the same markup, but the locked part is served in full (as sites do for crawlers).
- :func:`redesign` switches the article template to a JavaScript-app shell: only the standfirst
  is HTML, the body is a JSON blob that a browser would render, and the dates are gone from the
  markup. The extractor gets a fraction of each article: what a publisher's redesign does to a
  crawl, and what ``newswarc report`` must notice.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import TYPE_CHECKING

from crawler.demo._pages import _og, e, layout
from crawler.demo._text import SECTIONS, TextWriter

if TYPE_CHECKING:
    from crawler.demo.site import DemoArticle, DemoSite

AGENCY = "Demo Press Agency"
PAYWALL_KINDS = ("truncated", "full")
FREE_PARAGRAPHS = 3


def add_syndicated(site: DemoSite, n: int = 6, *, seed: int = 7) -> dict[str, str]:
    """Publish ``n`` edited copies of listed stories in another section; returns copy path → original path."""
    rng = random.Random(seed)
    listed = [a for a in site.index.listed if len(a.paragraphs) >= 4 and a.path not in site.syndicated]
    originals = rng.sample(listed, min(n, len(listed)))
    used = {a.slug for a in site.articles}
    next_id = max(a.id for a in site.articles) + 3
    for k, original in enumerate(originals):
        section = rng.choice([s for s in SECTIONS if s != original.section])
        writer = TextWriter(site.vocab, rng, section)
        paragraphs = original.paragraphs
        paragraphs[0] = f"({AGENCY}) {paragraphs[0]}"
        i = rng.randrange(1, len(paragraphs))
        sentences = paragraphs[i].split(". ")
        sentences[rng.randrange(len(sentences))] = writer.sentence().rstrip(".")
        paragraphs[i] = ". ".join(sentences)
        paragraphs.append(f"This story was written by {AGENCY} and is republished under licence.")
        title = f"{original.title}: what we know"
        slug = f"{original.slug}-agency"
        while slug in used:
            slug += "-2"
        used.add(slug)
        published = original.published.replace(microsecond=0)
        published = published.replace(hour=(published.hour + 2) % 24)
        copy = replace(original, id=next_id + 3 * k, path=f"/{published:%Y/%m/%d}/{slug}/",
                       title=title, section=section, published=published, updated=published,
                       routes={"sitemap", "section"}, atom_only=False, tags=writer.tags(),
                       _paragraphs=paragraphs)
        site.articles.append(copy)
        site.syndicated[copy.path] = original.path
    site._changed()
    return {c: o for c, o in site.syndicated.items() if o in {a.path for a in originals}}


def add_paywalled(site: DemoSite, kind: str = "truncated", *, n: int = 1, seed: int = 11) -> list[str]:
    """Put ``n`` listed articles of 6+ paragraphs behind a paywall of ``kind``; returns their paths."""
    if kind not in PAYWALL_KINDS:
        raise ValueError(f"paywall kind must be one of {PAYWALL_KINDS}")
    rng = random.Random(seed)
    free = [a for a in site.index.listed if len(a.paragraphs) >= 6 and a.path not in site.paywalled
            and a.path not in site.syndicated and a.path not in site.syndicated.values()]
    picks = rng.sample(free, min(n, len(free)))
    for a in picks:
        site.paywalled[a.path] = kind
    site._changed()
    return [a.path for a in picks]


def redesign(site: DemoSite) -> None:
    """From now on articles are served with the JavaScript-app template (see the module docstring)."""
    site.template = "app"
    site._changed()


def render_article(site: DemoSite, origin: str, a: DemoArticle, paragraphs: list[str]) -> bytes | None:
    """The variant page of ``a``, or None when it is served by the classic template."""
    if site.template == "app":
        return _app_page(site, origin, a, paragraphs)
    if a.path in site.paywalled:
        return _paywalled_page(site, origin, a, paragraphs, full=site.paywalled[a.path] == "full")
    return None


def _head(site: DemoSite, origin: str, a: DemoArticle, extra_ld: dict) -> str:
    url = origin + a.path
    head = _og([("og:type", "article"), ("og:title", a.title), ("og:url", url), ("og:site_name", site.name),
                ("article:published_time", a.published.isoformat())])
    head += f'<meta name="author" content="{e(a.author)}">\n'
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "mainEntityOfPage": url,
          "headline": a.title, "datePublished": a.published.isoformat(),
          "author": [{"@type": "Person", "name": a.author}], "inLanguage": "en", **extra_ld}
    return head + f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=True)}</script>\n'


def _paywalled_page(site: DemoSite, origin: str, a: DemoArticle, paragraphs: list[str], *, full: bool) -> bytes:
    ld = {"isAccessibleForFree": "False",
          "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": "False", "cssSelector": ".locked-content"}}
    free = "\n".join(f"<p>{e(p)}</p>" for p in paragraphs[:FREE_PARAGRAPHS])
    locked = "\n".join(f"<p>{e(p)}</p>" for p in paragraphs[FREE_PARAGRAPHS:]) if full else ""
    prompt = ("" if full else '<div class="paywall-prompt"><h3>This article is for subscribers</h3>'
              '<p>Subscribe to continue reading. <a href="/subscribe/">See our offers</a></p></div>')
    main = f"""<main id="main" class="site-main">
<article id="post-{a.id}" class="post type-post">
<header class="entry-header"><h1 class="entry-title">{e(a.title)}</h1>
<div class="entry-meta">By {e(a.author)} &middot; <time class="entry-date published"
 datetime="{a.published.isoformat()}">{a.published:%B %d, %Y}</time></div></header>
<div class="entry-content">
{free}
<div class="locked-content">{locked}</div>
{prompt}
</div>
</article>
</main>"""
    return layout(site, origin, title=f"{a.title} - {site.name}", main=main, head=_head(site, origin, a, ld),
                  canonical=origin + a.path, body_class="single premium")


def _app_page(site: DemoSite, origin: str, a: DemoArticle, paragraphs: list[str]) -> bytes:
    url = origin + a.path
    head = _og([("og:type", "article"), ("og:title", a.title), ("og:url", url), ("og:site_name", site.name)])
    state = {"story": {"id": a.id, "headline": a.title, "byline": a.author,
                       "blocks": [{"type": "paragraph", "text": p} for p in paragraphs[1:]]}}
    main = f"""<div id="app" data-hydrate="story">
<article class="story"><h1 class="story__headline">{e(a.title)}</h1>
<p class="story__standfirst">{e(paragraphs[0])}</p>
<div class="story__body" data-blocks="{len(paragraphs) - 1}"></div>
</article></div>
<script id="__STORY_STATE__" type="application/json">{json.dumps(state, ensure_ascii=True)}</script>
<script src="/static/app.js" defer></script>"""
    return layout(site, origin, title=f"{a.title} | {site.name}", main=main, head=head, canonical=url,
                  body_class="app")
