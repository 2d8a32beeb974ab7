"""The article pipeline of a fleet member: one worker writes an article, the others drop it.

Within a run the shared seen set keeps a URL to one fetch, but two URLs can carry one article
(a canonical link, a syndicated copy): the single-process pipeline catches that in memory, the
fleet through a claim in Redis taken before writing. A claim names its worker until the article
and its state are written, then says ``done``; the claim of a worker that died before writing
can be taken over, so that a killed worker's requeued request still archives its article.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from crawler.crawl.pipeline import ArticlePipeline
from crawler.distributed import REDIS_LOST, Keys, RedisLost, as_text, connect, first_line
from crawler.output.writer import repair_jsonl, run_parts
from crawler.storage.base import temp_path

logger = logging.getLogger(__name__)

# KEYS: claims hash, takeovers hash. ARGV: field, me, heartbeat key prefix, heartbeat key suffix.
# 1: claimed, 2: written before (the state decides), 3: taken over from a dead worker, 0: another's.
_CLAIM = """
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if (not owner) or owner == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
if owner == 'done' then return 2 end
if redis.call('EXISTS', ARGV[3] .. owner .. ARGV[4]) == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[1], owner)
  return 3
end
return 0
"""


class DistributedArticlePipeline(ArticlePipeline):
    """``ITEM_PIPELINES``: replaces :class:`~crawler.crawl.pipeline.ArticlePipeline` in a worker."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        settings = self.crawler.settings
        self.server = connect(settings, check=False)
        self.keys = Keys.from_settings(settings)
        self.me = settings.get("NEWSWARC_RUN_ID")
        self._claim = self.server.register_script(_CLAIM)
        self._fields: dict[str, str] = {}  # canonical URL -> claim field, while the article is written

    async def open_spider(self, spider: Any = None) -> None:
        await super().open_spider(spider)
        if self.near is None and self.crawler.settings.getbool("NEWSWARC_NEAR_DUPLICATES_ENABLED"):
            # open_index warned once (the Redis state has no tables for signatures): the run's stats say it too
            self.stats.set_value("newswarc/distributed/near_duplicates_off", 1)

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        """The single-process pipeline; an article that lost Redis half-way is dropped with one line
        (:class:`RedisLost`) and its page is done again once Redis is back (the scheduler sees the drop)."""
        try:
            return await super().process_item(item, spider)
        except REDIS_LOST as exc:
            self.stats.inc_value("newswarc/redis/articles_redone")
            logger.warning("Redis is unreachable (%s): %s is done again once it is back", first_line(exc), item.url)
            raise RedisLost(f"Redis unreachable: {first_line(exc)}", log_level="DEBUG") from None

    def _duplicate_of(self, article: Any) -> str | None:
        """The single-process checks, then the fleet's claim: one worker writes an article."""
        duplicate = super()._duplicate_of(article)
        if duplicate:
            return duplicate
        site = self.crawler.spider.seed.name
        field = f"{article.canonical_url} {article.text_sha256}"
        try:
            won = self._claim(keys=[self.keys.article_claims(site), self.keys.takeovers(site)],
                              args=[field, self.me, *self.keys.heartbeat("\0").split("\0")])
        except Exception:
            self.dedup.forget(article)  # not written: the request is done again once Redis is back
            raise
        if won == 0:
            return "claimed_by_another_worker"
        self._fields[article.canonical_url] = field
        return None

    def _version_of(self, article: Any) -> str | None:
        """The crawl state's verdict; if Redis is lost on the way, the article is forgotten as in
        :meth:`_duplicate_of` (else its page, done again, would be a duplicate of itself)."""
        try:
            return super()._version_of(article)
        except REDIS_LOST:
            self.dedup.forget(article)
            self._fields.pop(article.canonical_url, None)
            raise

    def _recover_killed_runs(self, site: str) -> None:
        """A dead worker's JSONL loses the lines of articles that another worker took over from it and
        wrote (it may have died after writing its line, before saying ``done``), then is read back as
        usual. A takeover from another dead worker leaves this run's lines alone."""
        taken = {as_text(k): as_text(v) for k, v in self.server.hgetall(self.keys.takeovers(site)).items()}
        if taken:
            for key in self.ctx.state.unfinished_runs(site):
                run_id = key.split("/", 1)[0]
                fields = {field for field, owner in taken.items() if owner == run_id}
                if not fields:
                    continue
                for path in run_parts(self.ctx.storage.work_dir / "articles", site, run_id):
                    repair_jsonl(path)
                    dropped = _drop_lines(path, fields)
                    if dropped:
                        self.stats.inc_value("newswarc/distributed/recovered_duplicates", dropped)
        super()._recover_killed_runs(site)

    def _write(self, row: dict, text: str, item: Any, article: Any, location: Any) -> None:
        super()._write(row, text, item, article, location)
        self._done(article)
        self.ctx.state.send("hincrby", self.keys.counters(self.crawler.spider.seed.name), "articles", 1)

    def _remember(self, item: Any, article: Any, location: Any) -> None:
        super()._remember(item, article, location)
        self._done(article)

    def _done(self, article: Any) -> None:
        field = self._fields.pop(article.canonical_url, None)
        if field is not None:  # after the state's writes, in order, even across a Redis outage
            self.ctx.state.send("hset", self.keys.article_claims(self.crawler.spider.seed.name), field, "done")


def _drop_lines(path: Path, fields: set[str]) -> int:
    """Stream ``path`` into a temporary file without the rows whose claim field is in ``fields``, then
    put it in place (a kill meanwhile leaves the old file whole); returns how many were dropped."""
    tmp = temp_path(path)  # host and pid: a crawl sweeping the output keeps it while this worker lives
    dropped = 0
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            for line in src:
                row = json.loads(line)
                if f"{row['canonical_url']} {row['text_sha256']}" in fields:
                    dropped += 1
                else:
                    dst.write(line)
            dst.flush()
            os.fsync(dst.fileno())
        if dropped:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return dropped
