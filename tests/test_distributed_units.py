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
