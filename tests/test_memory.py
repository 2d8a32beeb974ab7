"""A crawl's memory is flat in its size: no per-URL Python set or dict grows with the pages.

Each structure that remembers something per URL, request, article or payload is filled with
tens of thousands of members under ``tracemalloc``; what it keeps must stay a few bytes a member
(a ``set`` of URL strings costs 150-250 bytes each, which made a 20,000-article crawl's process
twice the size of a 2,000-article one's).
"""

from __future__ import annotations

import tracemalloc
from collections import deque
from hashlib import sha1, sha256
from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler

from crawler.config import settings as project_settings
from crawler.config.seeds import Seed
from crawler.crawl.analysis import Link
from crawler.crawl.dupefilter import CompactDupeFilter
from crawler.crawl.frontier import Frontier
from crawler.crawl.spider import NewsSpider
from crawler.output.dedup import Dedup
from crawler.urls import DigestSet
from crawler.warc.writer import RevisitIndex

N = 40_000


def kept_per_member(fill, n: int = N) -> float:
    """Bytes still allocated after ``fill(n)``, per member (the filled structure is what ``fill`` returns)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = fill(n)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return (after - before) / n


def url(i: int) -> str:
    return f"http://127.0.0.1/2026/10/15/an-article-with-a-long-news-slug-number-{i}/"


def test_digest_set_is_a_set_across_merges():
    s = DigestSet(buffer=16)
    for i in range(500):
        s.add(url(i))
        s.add(url(i))  # twice: still one member
    assert len(s) == 500 and s.nbytes >= 8 * 496  # all but the buffer in the sorted array
    assert all(url(i) in s for i in range(500)) and not any(url(i) in s for i in range(500, 1000))
    s.discard(url(3))  # in the array
    s.discard(url(499))  # in the buffer
    s.discard(url(700))  # not a member
    assert url(3) not in s and url(499) not in s and url(4) in s and len(s) == 498
    fp = sha1(b"x").digest()
    s.add(fp)
    assert fp in s and sha1(b"y").digest() not in s and None not in s


def test_digest_set_keeps_about_8_bytes_a_member():
    urls = [url(i) for i in range(N)]  # allocated before measuring: only the set's own memory counts

    def fill(n):
        s = DigestSet()
        s.update(urls[:n])
        return s

    assert kept_per_member(fill) < 24  # a set of these strings: ~250 bytes a member


def test_the_crawl_filters_duplicates_with_the_compact_filter():
    """Scrapy's RFPDupeFilter keeps a 20-byte fingerprint in a set per request (~90 bytes)."""
    assert load_object(project_settings.DUPEFILTER_CLASS) is CompactDupeFilter
    crawler = get_crawler(settings_dict={"DUPEFILTER_CLASS": project_settings.DUPEFILTER_CLASS})
    df = CompactDupeFilter.from_crawler(crawler)
    assert not df.request_seen(Request(url(1))) and df.request_seen(Request(url(1)))
    assert not df.request_seen(Request(url(1), method="POST"))
    requests = [Request(url(i)) for i in range(N)]
    for r in requests:  # Scrapy caches each request's fingerprint (weakly): computed before measuring
        crawler.request_fingerprinter.fingerprint(r)

    def fill(n):
        f = CompactDupeFilter.from_crawler(crawler)
        for r in requests[:n]:
            f.request_seen(r)
        return f

    assert kept_per_member(fill) < 24


def test_the_dupefilter_reads_and_writes_requests_seen_of_a_jobdir(tmp_path):
    crawler = get_crawler(settings_dict={"JOBDIR": str(tmp_path)})
    df = CompactDupeFilter.from_crawler(crawler)
    assert not df.request_seen(Request(url(1)))
    df.close("finished")
    again = CompactDupeFilter.from_crawler(crawler)
    assert again.request_seen(Request(url(1))) and not again.request_seen(Request(url(2)))
    again.close("finished")


def spider() -> NewsSpider:
    seed = Seed(name="demo", start_urls=("http://127.0.0.1/",), allowed_domains=("127.0.0.1",))
    return NewsSpider.from_crawler(get_crawler(NewsSpider), seed=seed)


def test_the_spider_remembers_requested_urls_in_a_few_bytes_each():
    s = spider()
    urls = [Link(url(i)) for i in range(N)]  # vetted links: no canonicalization (its LRU cache is bounded)
    for u in urls[:10]:  # stats keys and caches made once
        assert s._request(u, "link", s.parse_page) is not None
    assert s._request(urls[0], "link", s.parse_page) is None  # one request per URL per run
    s.crawler.stats.set_value("newswarc/crawl/requests/link", 0)

    def fill(n):
        for u in urls[10:n]:
            s._request(u, "link", s.parse_page)  # the Request is dropped: only the spider's memory stays
        return s

    assert kept_per_member(fill) < 24
    assert s._request(urls[N - 1], "link", s.parse_page) is None


def test_dedup_remembers_articles_in_a_few_bytes_each():
    articles = [SimpleNamespace(canonical_url=url(i), text_sha256=sha256(url(i).encode()).hexdigest())
                for i in range(N)]

    def fill(n):
        d = Dedup()
        for a in articles[:n]:
            assert d.duplicate_of(a) is None
        return d

    assert kept_per_member(fill) < 40  # two keys an article
    d = Dedup()
    assert d.duplicate_of(articles[0]) is None and d.duplicate_of(articles[0]) == "canonical_url"
    assert d.duplicate_of(SimpleNamespace(canonical_url=url(-1), text_sha256=articles[0].text_sha256)) == "text_hash"
    d.forget(articles[0])
    assert d.duplicate_of(articles[0]) is None


def test_the_frontier_is_first_in_first_out_and_waits_on_disk():
    f, ref = Frontier(chunk=3), deque()
    for i in range(200):
        entry = (url(i), {"newswarc_discovered": {"news_title": f"t{i}"}, "newswarc_changed": True}, i % 7)
        f.append(entry)
        ref.append(entry)
        if i % 3 == 0:
            assert f.popleft() == ref.popleft()
        assert len(f) == len(ref) and bool(f) == bool(ref)
    while ref:
        assert f.popleft() == ref.popleft()
    assert not f and len(f) == 0
    with pytest.raises(IndexError):
        f.popleft()
    f.close()


def test_the_frontier_keeps_a_bounded_number_of_entries_in_memory():
    def fill(n):
        f = Frontier()
        for i in range(n):
            f.append((url(i), {"newswarc_discovered": {"sitemap_lastmod": "2026-10-15T00:00:00+00:00"}}, 10))
        return f

    assert kept_per_member(fill) < 100  # in a deque: ~700 bytes an entry


def test_the_revisit_index_of_the_writer_process_is_on_disk():
    digests = [f"sha1:{sha1(str(i).encode()).hexdigest()[:32].upper()}" for i in range(N)]

    def fill(n):
        idx = RevisitIndex()
        for i, d in enumerate(digests[:n]):
            idx.add(d, url(i), "2026-10-15T00:00:00Z")
        return idx

    assert kept_per_member(fill) < 24  # in a dict: ~430 bytes a payload
