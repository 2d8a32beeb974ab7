"""Discovery: plain functions from (bytes, URL) to URLs or a page kind; no Scrapy engine.

robots.txt sitemaps, sitemaps, feeds, links and pagination, page kind. Each module is
importable on its own; the public names are re-exported here.
"""

from crawler.discovery.feeds import Feed, FeedEntry, feed_links, looks_like_feed, parse_feed
from crawler.discovery.links import extract_links, next_page_links, parse_html
from crawler.discovery.pagekind import PageKind, classify_page, looks_like_article_url
from crawler.discovery.robots import sitemaps_from_robots
from crawler.discovery.sitemaps import Sitemap, SitemapEntry, looks_like_sitemap, parse_date, parse_sitemap

__all__ = [
    "Feed",
    "FeedEntry",
    "PageKind",
    "Sitemap",
    "SitemapEntry",
    "classify_page",
    "extract_links",
    "feed_links",
    "looks_like_article_url",
    "looks_like_feed",
    "looks_like_sitemap",
    "next_page_links",
    "parse_date",
    "parse_feed",
    "parse_html",
    "parse_sitemap",
    "sitemaps_from_robots",
]
