"""``--only distributed``: 1, 2 and 4 workers over 20 loopback news sites, and Redis memory.

Each site is a demo site on its own 127.0.0.x address that answers after a fixed latency (a
far-away site: the fetch cost is waiting, not CPU), so a worker's throughput is bound by its
``CONCURRENT_REQUESTS`` and the fleet's by politeness (per-domain leases: one request at a time
per domain and ``DOWNLOAD_DELAY`` between starts, for the whole fleet). Throughput is counted at
the servers, from the first request to the last, so start-up and the idle wait at the end are
not in it. Extraction is off: it is the same per page with one worker or many.

Redis memory is measured on a redis-server of its own: ``used_memory`` before and after 100k
requests queued (the worker's JSON form) and 100k fingerprints in a run's seen set.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from scrapy import Request
from scrapy.settings import Settings

from bench.harness import ROOT, free_port
from crawler.config.seeds import Seed
from crawler.demo.server import DemoServer
from crawler.demo.site import build_site
from crawler.distributed import Keys, serializer
from crawler.distributed.queue import InFlightQueue
from crawler.distributed.scheduler import RunDupeFilter
from crawler.distributed.spider import DistributedNewsSpider
from crawler.distributed.state import RedisCrawlState

logger = logging.getLogger(__name__)

SITES = 20
LATENCY = 0.3
DELAY = 0.2
PER_WORKER = 4  # CONCURRENT_REQUESTS of a worker


class RedisProcess:
    def __init__(self, workdir: Path):
        self.port, self.workdir = free_port(), workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> RedisProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = redis.Redis.from_url(self.url)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode} (port {self.port})")
            try:
                self.client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _sites(n_articles: int) -> list[DemoServer]:
    return [DemoServer(build_site(n_articles, seed=i), host=f"127.0.0.{i + 2}", latency=LATENCY).start()
            for i in range(SITES)]


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(nothing on stderr)"


def _run_workers(workers: int, flags: list[str], env: dict[str, str], workdir: Path) -> list[int]:
    """``workers`` workers side by side until idle; their exit codes (all 0, else RuntimeError).

    Each one's stderr goes to a file (``workerN.err``): a pipe nobody reads fills and blocks the
    worker. A worker still running after 30 minutes, or any worker when another fails to start, is
    killed, so no worker outlives the section."""
    errs = [workdir / f"worker{i}.err" for i in range(workers)]
    procs: list[subprocess.Popen] = []
    try:
        for i, err in enumerate(errs):
            with open(err, "wb") as fh:  # the child holds its own copy of the descriptor
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "crawler.cli", "worker", "--out", str(workdir / "out"), *flags,
                     "--log-file", str(workdir / f"worker{i}.log")],
                    cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fh))
        codes = [p.wait(timeout=1800) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    failed = [(i, code) for i, code in enumerate(codes) if code != 0]
    if failed:
        i, code = failed[0]
        raise RuntimeError(f"{len(failed)} of {workers} newswarc workers failed; worker {i} exited with {code} "
                           f"(log {workdir / f'worker{i}.log'}): {_tail(errs[i].read_text(errors='replace'))}")
    return codes


def crawl(workers: int, n_articles: int, workdir: Path) -> dict[str, Any]:
    """One enqueue of a seed over the 20 sites, ``workers`` workers until idle; rates from the servers."""
    servers = _sites(n_articles)
    try:
        with RedisProcess(workdir / "redis") as redis_proc:
            seed = workdir / "sites.toml"
            urls = ", ".join(f'"{s.url}/"' for s in servers)
            seed.write_text(f'name = "sites"\nstart_urls = [{urls}]\n')
            env = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSWARC_REDIS_URL": redis_proc.url}
            enqueue = subprocess.run([sys.executable, "-m", "crawler.cli", "enqueue", str(seed), "--settings",
                                      "distributed"], cwd=ROOT, env=env, capture_output=True, text=True)
            if enqueue.returncode != 0:
                raise RuntimeError(f"newswarc enqueue exited with {enqueue.returncode}: {_tail(enqueue.stderr)}")
            flags = ["--settings", "distributed", "--until-idle", "--idle-seconds", "2", "-q",
                     "-s", "NEWSWARC_EXTRACT_ENABLED=False", "-s", f"CONCURRENT_REQUESTS={PER_WORKER}",
                     "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", f"DOWNLOAD_DELAY={DELAY}",
                     "-s", "RANDOMIZE_DOWNLOAD_DELAY=False", "-s", "NEWSWARC_DISTRIBUTED_WORKER_TIMEOUT=10"]
            codes = _run_workers(workers, flags, env, workdir)
    finally:
        for s in servers:
            s.stop()
    times = sorted(t for s in servers for t in s.times)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    reports = [json.loads(p.read_text()) for p in sorted((workdir / "out" / "runs").glob("*.json"))]
    unique = len({(s.host, p) for s in servers for _, p, _ in s.log})
    return {"workers": workers, "exit_codes": codes, "requests": len(times), "unique_urls": unique, "span_s": round(span, 2),
        "pages_per_s": round(len(times) / span, 2), "max_in_flight_per_domain": max(s.max_in_flight for s in servers),
        "pages_by_worker": [r["counts"]["pages"] for r in reports], "duplicates": len(times) - unique}


def redis_memory(n: int, workdir: Path) -> dict[str, Any]:
    """Bytes Redis holds per queued request and per seen fingerprint, measured with ``n`` of each."""
    with RedisProcess(workdir / "redis-mem") as r:
        client = r.client
        spider = DistributedNewsSpider(seed=Seed(name="bench", start_urls=("http://127.0.0.2/",),
                                                 allowed_domains=("127.0.0.2",)))
        spider.settings = Settings()
        keys = Keys()
        queue = InFlightQueue(client, spider, keys.queue("bench"), serializer, inflight_key=keys.inflight("w", "bench"))
        seen = RunDupeFilter(client, keys, "bench")

        def used() -> int:
            return int(client.info("memory")["used_memory"])

        def requests():
            for i in range(n):
                url = f"https://www.example-news-site.com/2026/11/{i % 28 + 1:02d}/a-typical-article-slug-number-{i}/"
                yield Request(url, callback=spider.parse_page, errback=spider._failed, priority=10, meta={
                    "newswarc_seed": "bench", "newswarc_route": "sitemap", "newswarc_depth": 1,
                    "newswarc_run": "20261202T010000Z-123", "newswarc_discovered": {
                        "sitemap_lastmod": "2026-11-30T10:00:00+00:00"}})

        before = used()
        for req in requests():
            queue.push(req)
        queued = used() - before
        before = used()
        for req in requests():
            seen.request_seen(req)
        seen_bytes = used() - before
        sample = serializer.dumps(next(iter(requests())).to_dict(spider=spider))
        state, n_state = RedisCrawlState(client, keys), max(n // 10, 1000)
        before = used()
        for i, req in zip(range(n_state), requests(), strict=False):  # an archived article's record
            state.record_fetch(req.url, status=200, etag=f'"{i:020x}"', last_modified="Mon, 30 Nov 2026 10:00:00 GMT",
                               payload_digest=f"sha1:{i:032X}", kind="article", article_id=f"{i:016x}",
                               warc={"file": "warc/newswarc-20261202010000000-00001-host-1234.warc.gz",
                                     "offset": 123456789, "record_id": f"<urn:uuid:{i:032x}>",
                                     "date": "2026-12-02T01:00:00Z"},
                               published="2026-11-30T09:00:00+00:00", sitemap_lastmod="2026-11-30T10:00:00+00:00")
        state_bytes = used() - before
    return {"n": n, "queued_bytes_per_url": round(queued / n, 1), "seen_bytes_per_url": round(seen_bytes / n, 1),
            "queued_mb_per_100k": round(queued / n * 100_000 / 1e6, 1),
            "seen_mb_per_100k": round(seen_bytes / n * 100_000 / 1e6, 1),
            "queued_mb_per_million": round(queued / n * 1e6 / 1e6, 1),
            "seen_mb_per_million": round(seen_bytes / n * 1e6 / 1e6, 1), "json_request_bytes": len(sample),
            "state_n": n_state, "state_bytes_per_url": round(state_bytes / n_state, 1),
            "state_mb_per_million": round(state_bytes / n_state, 1)}


def run(quick: bool = False, workdir: Path | None = None) -> dict[str, Any]:
    workdir = workdir or Path(tempfile.mkdtemp(prefix="newswarc-bench-distributed-"))
    n_articles = 20 if quick else 30
    res: dict[str, Any] = {"sites": SITES, "latency_s": LATENCY, "download_delay_s": DELAY, "per_worker": PER_WORKER,
                           "fleet_cap_pages_per_s": round(SITES / max(LATENCY, DELAY), 1), "runs": {}}
    for n in (1, 2, 4):
        logger.info("distributed: %d worker(s)", n)
        res["runs"][str(n)] = crawl(n, n_articles, workdir / f"w{n}")
    base = res["runs"]["1"]["pages_per_s"]
    res["speedup"] = {n: round(res["runs"][n]["pages_per_s"] / base, 2) for n in ("2", "4")}
    res["targets"] = {"2": 1.8, "4": 3.2}
    res["memory"] = redis_memory(20_000 if quick else 100_000, workdir)
    return res


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
