"""HTML pages of the Demo Gazette, shaped like a WordPress news theme.

The markup carries the boilerplate a real site has (cookie banner, menus, share buttons,
"Read also", related posts, newsletter box, footer) so that link discovery and text
extraction are tested against realistic noise. Pages are rendered on request, never stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.demo.site import DemoArticle, DemoSite

PER_PAGE = 12
HTML = "text/html; charset=UTF-8"
_STYLE = "body{font-family:Georgia,serif;max-width:70em;margin:auto}nav a{margin-right:1em}"


@dataclass
class Page:
    """A rendered resource before content negotiation (gzip, 304) and framing."""

    status: int
    content_type: str
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunked: bool = False
    etag: str | None = None
    last_modified: datetime | None = None


def e(text: str) -> str:
    """Escape text and attribute values."""
    return escape(text, quote=True)


def human_date(dt: datetime) -> str:
    return f"{dt:%B} {dt.day}, {dt.year}"


def layout(site: DemoSite, origin: str, *, title: str, main: str, head: str = "",
           description: str = "", canonical: str | None = None, body_class: str = "") -> bytes:
    """Wrap ``main`` in the theme: head metadata, cookie banner, header menu, sidebar, footer."""
    nav = "".join(f'<li class="menu-item"><a href="/category/{s}/">{s.capitalize()}</a></li>'
                  for s in site.sections)
    canon = f'<link rel="canonical" href="{e(canonical)}">\n' if canonical else ""
    desc = f'<meta name="description" content="{e(description)}">\n' if description else ""
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
{desc}{canon}<link rel="alternate" type="application/rss+xml" title="{e(site.name)} &raquo; Feed" href="/feed/">
{head}<style>{_STYLE}</style>
</head>
<body class="{body_class}">
<div id="cookie-notice" class="cookie-banner" role="dialog">We use cookies to improve your experience
 and to show personalised advertising. <a href="/privacy-policy/">Privacy policy</a>
 <button type="button" class="cookie-accept">Accept all</button> <button type="button">Refuse</button></div>
<header id="masthead" class="site-header">
<p class="site-title"><a href="/" rel="home">{e(site.name)}</a></p>
<p class="site-description">Independent news since 2009</p>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">
<li class="menu-item"><a href="/">Home</a></li>{nav}<li class="menu-item"><a href="/about/">About</a></li></ul></nav>
</header>
<div id="content" class="site-content">
{main}
<aside id="secondary" class="widget-area">
<section class="widget newsletter-box"><h3 class="widget-title">Subscribe to our newsletter</h3>
<p>The day's top stories in your inbox every morning.</p>
<form action="/newsletter/" method="post"><input type="email" name="email" placeholder="Your email">
<button type="submit">Sign up</button></form></section>
<section class="widget social-follow"><div class="follow-us">Follow us on
 <a href="https://www.facebook.com/demogazette">Facebook</a>,
 <a href="https://twitter.com/demogazette">Twitter</a> and
 <a href="https://t.me/demogazette">Telegram</a></div></section>
</aside>
</div>
<footer id="colophon" class="site-footer">
<nav class="footer-navigation"><a href="/about/">About us</a> <a href="/contact/">Contact</a>
 <a href="/privacy-policy/">Privacy policy</a> <a href="/feed/">RSS</a> <a href="/wp-admin/">Log in</a></nav>
<div class="site-info">&copy; 2026 {e(site.name)}. All rights reserved. Registered with the court of Milan, n. 123/2009.</div>
</footer>
</body>
</html>
"""
    return page.encode("utf-8")


def _json_ld(data: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=True)}</script>\n'


def _og(props: Sequence[tuple[str, str]]) -> str:
    return "".join(f'<meta property="{k}" content="{e(v)}">\n' for k, v in props)


def _byline(a: DemoArticle) -> str:
    updated = (f' <time class="updated" datetime="{a.updated.isoformat()}">Updated {human_date(a.updated)}</time>'
               if a.updated != a.published else "")
    return (f'<div class="entry-meta">By <span class="author vcard"><a class="url fn n" '
            f'href="/author/{a.author_slug}/" rel="author">{e(a.author)}</a></span> &middot; '
            f'<time class="entry-date published" datetime="{a.published.isoformat()}">'
            f'{human_date(a.published)}</time>{updated}</div>')


def article_page(site: DemoSite, origin: str, a: DemoArticle, paragraphs: list[str]) -> bytes:
    """A single post: metadata for extractors in the head, the body in ``<article>``."""
    url = origin + a.path
    image = f"{origin}/wp-content/uploads/{a.published:%Y/%m}/{a.slug}.jpg"
    head = _og([("og:locale", "en_US"), ("og:type", "article"), ("og:title", a.title),
                ("og:description", a.description), ("og:url", url), ("og:site_name", site.name),
                ("og:image", image), ("article:published_time", a.published.isoformat()),
                ("article:modified_time", a.updated.isoformat()), ("article:section", a.section.capitalize()),
                *(("article:tag", t) for t in a.tags)])
    head += f'<meta name="author" content="{e(a.author)}">\n'
    head += _json_ld({
        "@context": "https://schema.org", "@type": "NewsArticle", "mainEntityOfPage": url,
        "headline": a.title, "description": a.description, "image": [image],
        "datePublished": a.published.isoformat(), "dateModified": a.updated.isoformat(),
        "author": [{"@type": "Person", "name": a.author, "url": f"{origin}/author/{a.author_slug}/"}],
        "publisher": {"@type": "Organization", "name": site.name}, "inLanguage": "en",
        "keywords": ", ".join(a.tags), "articleSection": a.section.capitalize(),
    })
    body = "\n".join(f"<p>{e(p)}</p>" for p in paragraphs)
    tags = ", ".join(f'<a href="/tag/{site.tag_slug(t)}/" rel="tag">{e(t)}</a>' for t in a.tags)
    share = e(url)
    related = "".join(f'<li><a href="{r.path}">{e(r.title)}</a></li>' for r in site.related(a))
    also = site.read_also(a)
    also_html = (f'<aside class="read-also"><h3>Read also</h3><a href="{also.path}">{e(also.title)}</a></aside>\n'
                 if also else "")
    main = f"""<main id="main" class="site-main">
<article id="post-{a.id}" class="post-{a.id} post type-post status-publish format-standard category-{a.section}">
<header class="entry-header">
<div class="cat-links"><a href="/category/{a.section}/" rel="category tag">{a.section.capitalize()}</a></div>
<h1 class="entry-title">{e(a.title)}</h1>
{_byline(a)}
</header>
<figure class="post-thumbnail"><img src="{e(image)}" alt="{e(a.title)}" width="1200" height="675"></figure>
<div class="entry-content">
{body}
</div>
<footer class="entry-footer"><span class="tags-links">Tags: {tags}</span></footer>
<div class="share-buttons">Share:
 <a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={share}">Facebook</a>
 <a class="share-twitter" href="https://twitter.com/intent/tweet?url={share}">Twitter</a>
 <a class="share-whatsapp" href="https://api.whatsapp.com/send?text={share}">WhatsApp</a>
 <a class="share-email" href="mailto:?subject={e(a.title)}">Email</a></div>
</article>
{also_html}<section class="related-posts"><h2>Related articles</h2><ul>{related}</ul></section>
<section id="comments" class="comments-area"><h2 class="comments-title">Leave a comment</h2>
<p class="no-comments">Comments are closed.</p></section>
</main>"""
    return layout(site, origin, title=f"{a.title} - {site.name}", main=main, head=head,
                  description=a.description, canonical=url, body_class="post-template-default single")


def _excerpt(a: DemoArticle, href: str | None = None, comments: bool = False) -> str:
    extra = (f' <a class="comments-link" href="{a.path}#comments">Leave a comment</a>' if comments else "")
    return (f'<article class="post excerpt category-{a.section}"><h2 class="entry-title">'
            f'<a href="{e(href or a.path)}" rel="bookmark">{e(a.title)}</a></h2>'
            f'<div class="entry-meta"><time datetime="{a.published.isoformat()}">{human_date(a.published)}</time>'
            f' by {e(a.author)}{extra}</div><div class="entry-summary"><p>{e(a.description)}</p></div></article>\n')


def listing_page(site: DemoSite, origin: str, *, base: str, heading: str, items: Sequence[DemoArticle],
                 page: int) -> bytes | None:
    """One page of a section, tag or author archive; ``None`` past the last page."""
    pages = max(1, -(-len(items) // PER_PAGE))
    if page > pages:
        return None
    chunk = items[(page - 1) * PER_PAGE: page * PER_PAGE]

    def href(n: int) -> str:
        return base if n == 1 else f"{base}page/{n}/"

    head, nav = "", []
    if page > 1:
        head += f'<link rel="prev" href="{origin}{href(page - 1)}">\n'
        nav.append(f'<a class="prev page-numbers" href="{href(page - 1)}">Newer posts</a>')
    nav.append(f'<span class="page-numbers current">Page {page} of {pages}</span>')
    if page < pages:
        head += f'<link rel="next" href="{origin}{href(page + 1)}">\n'
        nav.append(f'<a class="next page-numbers" href="{href(page + 1)}">Older posts</a>')
    head += _og([("og:type", "website"), ("og:title", heading), ("og:site_name", site.name)])
    head += _json_ld({"@context": "https://schema.org", "@type": "CollectionPage", "name": heading,
                      "url": origin + href(page)})
    main = (f'<main id="main" class="site-main"><header class="page-header"><h1 class="page-title">{e(heading)}'
            f'</h1></header>\n{"".join(_excerpt(a) for a in chunk)}'
            f'<nav class="navigation pagination">{" ".join(nav)}</nav></main>')
    title = heading if page == 1 else f"{heading} - Page {page}"
    return layout(site, origin, title=f"{title} - {site.name}", main=main, head=head,
                  canonical=origin + href(page), body_class="archive")


def home_page(site: DemoSite, origin: str) -> bytes:
    """The front page: latest posts, with the link variants a crawler must canonicalize."""
    items = []
    for i, a in enumerate(site.index.listed[:20]):
        href = None
        if i % 5 == 1:
            href = f"{a.path}?utm_source=home&utm_medium=web"
        elif i % 7 == 2:
            href = f"{origin}{a.path}?utm_campaign=x"
        items.append(_excerpt(a, href, comments=i % 4 == 3))
    private = "".join(f'<li><a href="{a.path}">{e(a.title)}</a></li>' for a in site.private)
    tags = " ".join(f'<a class="tag-cloud-link" href="/tag/{slug}/">{e(name)}</a>'
                    for slug, name in list(site.tag_names.items())[::3])
    old = "".join(f'<li><a href="/old-news/{slug}/">{e(site.article(path).title)}</a></li>'
                  for slug, path in site.old_news.items())
    picks = "".join(f'<li><a href="/go/{n}">{e(site.article(path).title)}</a></li>'
                    for n, path in site.go_links.items())
    sections = " ".join(f'<a href="/category/{s}/">More {s} news</a>' for s in site.sections)
    main = f"""<main id="main" class="site-main">
<h1 class="screen-reader-text">{e(site.name)}: latest news</h1>
<section class="latest-news"><h2>Latest news</h2>
{"".join(items)}</section>
<section class="section-links">{sections}</section>
<section class="members-area"><h2>Members only</h2><ul>{private}</ul></section>
<section class="from-archive"><h2>From our archive</h2><ul>{old}</ul></section>
<section class="editor-picks"><h2>Editor's picks</h2><ul>{picks}</ul></section>
<section class="tag-cloud"><h2>Topics</h2>{tags}</section>
<section class="partners"><h2>Partners</h2><ul>
<li><a href="http://other-news.example/world/2026/10/a-partner-story/">Other News: world roundup</a></li>
<li><a href="https://twitter.com/demogazette/status/1234567890">Our latest post on Twitter</a></li>
<li><a href="https://www.facebook.com/demogazette/posts/987654321">Join the discussion on Facebook</a></li>
</ul></section>
<p><a href="/about/">About the Gazette</a> &middot; <a href="/contact/">Contact the newsroom</a></p>
</main>"""
    head = ('<link rel="alternate" type="application/atom+xml" title="The Demo Gazette &raquo; Atom" '
            'href="/feed/atom/">\n')
    head += _og([("og:type", "website"), ("og:title", site.name), ("og:site_name", site.name),
                 ("og:url", origin + "/")])
    head += _json_ld({"@context": "https://schema.org", "@type": "WebSite", "name": site.name, "url": origin + "/"})
    return layout(site, origin, title=f"{site.name} - Independent news since 2009", main=main, head=head,
                  description="Politics, economy, sport, culture, world and technology news.",
                  canonical=origin + "/", body_class="home blog")


STATIC_PAGES = {
    "/about/": ("About us", [
        "The Demo Gazette is an independent newsroom that covers politics, economy, sport, culture, "
        "world affairs and technology.",
        "Our journalists work from offices in Milan and Rome and from a network of correspondents.",
    ]),
    "/contact/": ("Contact", [
        "Write to the newsroom at newsroom@demo-gazette.example or call +39 02 0000 0000.",
        "For advertising, write to ads@demo-gazette.example.",
    ]),
    "/privacy-policy/": ("Privacy policy", [
        "This website uses technical cookies and, with your consent, analytics and advertising cookies.",
        "You can withdraw your consent at any time from the cookie banner.",
    ]),
}


def static_page(site: DemoSite, origin: str, path: str) -> bytes:
    """About, contact and privacy: pages, not articles (WebPage, og:type website)."""
    title, paras = STATIC_PAGES[path]
    head = _og([("og:type", "website"), ("og:title", title), ("og:site_name", site.name)])
    head += _json_ld({"@context": "https://schema.org", "@type": "WebPage", "name": title, "url": origin + path})
    body = "".join(f"<p>{e(p)}</p>" for p in paras)
    main = (f'<main id="main" class="site-main"><article class="page type-page"><h1 class="entry-title">'
            f'{e(title)}</h1><div class="entry-content">{body}</div></article></main>')
    return layout(site, origin, title=f"{title} - {site.name}", main=main, head=head,
                  canonical=origin + path, body_class="page")


def not_found_page(site: DemoSite, origin: str) -> bytes:
    main = ('<main id="main" class="site-main"><section class="error-404 not-found"><h1 class="page-title">'
            'Oops! That page can&rsquo;t be found.</h1><p>It looks like nothing was found at this location. '
            'Maybe try one of the links in the menu?</p></section></main>')
    return layout(site, origin, title=f"Page not found - {site.name}", main=main,
                  head='<meta name="robots" content="noindex, follow">\n', body_class="error404")


def login_page(site: DemoSite, origin: str) -> bytes:
    main = ('<main id="main"><h1>Log In</h1><form name="loginform" action="/wp-login.php" method="post">'
            '<input type="text" name="log"><input type="password" name="pwd"><button>Log In</button></form></main>')
    return layout(site, origin, title=f"Log In - {site.name}", main=main,
                  head='<meta name="robots" content="noindex, nofollow">\n', body_class="login")
