"""Fleet pieces without a crawl: the article claim, the worker's components, the near-duplicate switch."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import redis
from scrapy.settings import Settings

from crawler.crawl.pipeline import ArticlePipeline
from crawler.dataset import neardup
from crawler.dataset.schema import NAMES
from crawler.distributed import Keys, connect
from crawler.distributed.pipeline import _CLAIM, DistributedArticlePipeline
from crawler.distributed.state import RedisCrawlState
from crawler.distributed.worker import COMPONENTS, apply_distributed
from crawler.extract.api import Article
from crawler.output.dedup import Dedup
from crawler.output.writer import jsonl_row
from tests.crawl_helpers import free_port


def _worker_pipeline(redis_url: str, me: str) -> DistributedArticlePipeline:
    """The claim-taking part of a worker's pipeline (what ``__init__`` and ``open_spider`` set)."""
    pipeline = DistributedArticlePipeline.__new__(DistributedArticlePipeline)
    pipeline.server = connect(Settings({"NEWSWARC_REDIS_URL": redis_url}))
    pipeline.keys, pipeline.me, pipeline._fields = Keys(), me, {}
    pipeline._claim = pipeline.server.register_script(_CLAIM)
    pipeline.dedup = Dedup(None)
    pipeline.crawler = SimpleNamespace(spider=SimpleNamespace(seed=SimpleNamespace(name="demo")))
    return pipeline


def _article(url: str = "https://demo.example/a/") -> Article:
    return Article(url=url, canonical_url=url, title="A", text="Some text.", text_sha256="ab" * 32)


def test_the_base_pipeline_asks_the_hook():
    """process_item decides through _duplicate_of, which a fleet member overrides."""
    assert "_duplicate_of" in ArticlePipeline.__dict__
    assert DistributedArticlePipeline._duplicate_of is not ArticlePipeline._duplicate_of
    assert "_duplicate_of" in ArticlePipeline.process_item.__code__.co_names
    assert "dedup" not in ArticlePipeline.process_item.__code__.co_names


def test_two_workers_do_not_both_write_one_article(redis_server):
    a, b = _worker_pipeline(redis_server.url, "worker-a"), _worker_pipeline(redis_server.url, "worker-b")
    redis_server.client().set(Keys().heartbeat("worker-a"), 1)  # worker a is alive
    article = _article()
    assert a._duplicate_of(article) is None  # a claims it and writes it
    assert b._duplicate_of(_article()) == "claimed_by_another_worker"  # another URL, the same article
    assert a._duplicate_of(article) == "canonical_url"  # and a itself writes it once


def test_a_dead_workers_claim_is_taken_over(redis_server):
    a, b = _worker_pipeline(redis_server.url, "worker-a"), _worker_pipeline(redis_server.url, "worker-b")
    assert a._duplicate_of(_article()) is None  # a has no heartbeat: it died before writing
    assert b._duplicate_of(_article()) is None
    assert redis_server.client().hget(Keys().takeovers("demo"), f"{_article().canonical_url} {'ab' * 32}") \
        == b"worker-a"


def test_a_failed_claim_is_forgotten(redis_server):
    """Redis away at the claim: the article is not written, so the retried request is not a duplicate."""
    a = _worker_pipeline(redis_server.url, "worker-a")

    def down(**_kwargs):
        raise redis.ConnectionError("gone")

    a._claim = down
    with pytest.raises(redis.ConnectionError):
        a._duplicate_of(_article())
    assert a.dedup.duplicate_of(_article()) is None


def test_apply_distributed_sets_the_fleet_components():
    settings = Settings()
    settings.setmodule("crawler.config.settings", priority="project")
    settings.set("SCHEDULER", "scrapy.core.scheduler.Scheduler", priority="project")  # a profile's
    apply_distributed(settings, until_idle=True)
    assert settings.get("SCHEDULER") == "crawler.distributed.scheduler.DistributedScheduler"
    assert all(settings.get(name) == value for name, value in COMPONENTS.items())
    assert settings.getbool("NEWSWARC_DISTRIBUTED_UNTIL_IDLE") and settings.get("NEWSWARC_RUN_ID")


def test_near_duplicates_off_with_the_redis_state_is_a_warning_once(redis_server, monkeypatch, caplog):
    monkeypatch.setattr(neardup, "_WARNED_NO_TABLES", False)
    state = RedisCrawlState(redis_server.client(), Keys(), "worker-a")
    settings = Settings()
    settings.setmodule("crawler.config.settings", priority="project")
    with caplog.at_level(logging.INFO, logger="crawler.dataset.neardup"):
        assert neardup.open_index(state, settings) is None
        assert neardup.open_index(state, settings) is None
    warnings = [r for r in caplog.records if r.name == "crawler.dataset.neardup"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_every_key_of_a_row_is_an_export_column():
    row = jsonl_row(_article(), site="demo", fetched_at=datetime(2026, 11, 1, tzinfo=UTC), warc=None,
                    route="sitemap", kind_reason="article_schema")
    assert row["route"] == "sitemap" and row["kind_reason"] == "article_schema"
    assert row["near_duplicate_of"] is None
    assert set(row) - {"text_path"} <= set(NAMES)


def _dead_redis() -> redis.Redis:
    """A client of a port nobody listens on: every command fails as on a Redis that went away."""
    return connect(Settings({"NEWSWARC_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}), check=False)


def test_redis_lost_at_the_state_check_forgets_the_article(redis_server):
    """Claimed, then Redis lost at the "archived before?" check: not written, so not a duplicate when redone."""
    a = _worker_pipeline(redis_server.url, "worker-a")
    a.ctx = SimpleNamespace(state=RedisCrawlState(_dead_redis(), Keys()))
    article = _article()
    assert a._duplicate_of(article) is None
    with pytest.raises(redis.ConnectionError):
        a._version_of(article)
    assert a.dedup.duplicate_of(_article()) is None and a._fields == {}


def test_seen_and_queued_in_one_step(redis_server):
    """A request is marked seen only together with being queued (a loss in between cannot make it "seen")."""
    from scrapy import Request

    from crawler.distributed import serializer
    from crawler.distributed.queue import InFlightQueue

    server = redis_server.client()
    spider = SimpleNamespace(name="news")
    queue = InFlightQueue(server, spider, "q", serializer, inflight_key="inflight", keys=Keys())
    request = Request("https://demo.example/a/")
    assert queue.push_unseen(request, "seen", b"fp") is True
    assert queue.push_unseen(request, "seen", b"fp") is False and server.zcard("q") == 1
    assert queue.push_unseen(request, "seen", None) is True  # dont_filter: queued again
    assert server.scard("seen") == 1
    with pytest.raises(redis.ConnectionError):
        InFlightQueue(_dead_redis(), spider, "q", serializer, inflight_key="inflight", keys=Keys()).push_unseen(
            Request("https://demo.example/b/"), "seen", b"fp2")
    assert server.scard("seen") == 1  # nothing half-done


def test_a_lease_whose_release_met_an_outage_is_given_back_later(redis_server):
    """Else it would hold its domain's slot until it expires (DOWNLOAD_TIMEOUT + 30 s)."""
    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from crawler.distributed.politeness import DomainLeaseMiddleware

    crawler = get_crawler(settings_dict={"NEWSWARC_REDIS_URL": redis_server.url})
    middleware = DomainLeaseMiddleware(crawler)
    live, leases = middleware.server, Keys().leases("demo.example")
    live.zadd(leases, {"token": 1e15})
    request = Request("https://demo.example/a/", meta={"newswarc_lease": ("demo.example", "token")})
    middleware.server = _dead_redis()
    middleware.process_response(request, None)
    assert middleware._unreleased == [("demo.example", "token")] and live.zcard(leases) == 1
    middleware.server = live
    middleware._release_late()
    assert middleware._unreleased == [] and live.zcard(leases) == 0


def test_redis_lost_in_a_callback_redoes_the_page_in_one_line(caplog):
    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.distributed import REDO
    from crawler.distributed.spider import RedisLossMiddleware

    stats = SimpleNamespace(values={}, inc_value=lambda key: stats.values.__setitem__(key, 1))
    middleware = RedisLossMiddleware(stats)
    response = HtmlResponse("https://demo.example/a/", body=b"<html></html>", request=Request("https://demo.example/a/"))
    try:
        _dead_redis().get("x")
    except redis.ConnectionError as exc:
        lost = exc
    with caplog.at_level(logging.WARNING):
        assert middleware.process_spider_exception(response, lost) == []
    assert response.request.meta[REDO] is True and stats.values == {"newswarc/redis/pages_redone": 1}
    assert len(caplog.records) == 1 and "\n" not in caplog.records[0].getMessage()
    other = Request("https://demo.example/b/")
    assert middleware.process_spider_exception(HtmlResponse(other.url, body=b"", request=other), ValueError()) is None
    assert REDO not in other.meta
    # a plain OSError (a file, the page's own network) is no Redis loss: a redo would repeat it forever
    assert middleware.process_spider_exception(HtmlResponse(other.url, body=b"", request=other), OSError("disk")) is None
    assert REDO not in other.meta
