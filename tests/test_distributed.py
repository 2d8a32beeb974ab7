"""Distributed crawling: real workers, a real redis-server on 127.0.0.1, the demo site."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from urllib.parse import urlsplit

from crawler.demo.server import DemoServer
from crawler.demo.site import build_site
from tests.crawl_helpers import count_jsonl_lines, newswarc, read_jsonl, run_reports, write_seed
from tests.distributed_helpers import enqueue, env_for, finish, start_worker
from tests.warc_checks import check_warc


def public_paths(site) -> set[str]:
    return {a.path for a in site.articles if not a.private}


def article_paths(rows) -> Counter:
    return Counter(urlsplit(r["canonical_url"]).path for r in rows)


def run_workers(n, out, redis_url, *extra, tmp_path=None):
    procs = [start_worker(out, redis_url, *extra, log=(tmp_path / f"w{i}.log") if tmp_path else None)
             for i in range(n)]
    results = [finish(p) for p in procs]
    for code, err in results:
        assert code == 0, err[-3000:]
    return results


def test_two_workers_share_one_crawl(tmp_path, fresh_demo_server, redis_server):
    server = fresh_demo_server(n_articles=60)
    seed, out = write_seed(tmp_path, server.url), tmp_path / "out"
    enqueue(seed, redis_server.url)
    run_workers(2, out, redis_server.url, tmp_path=tmp_path)
    rows = read_jsonl(out)
    paths = article_paths(rows)
    assert set(paths) == public_paths(server.site)  # every article, none behind robots.txt
    assert max(paths.values()) == 1  # each exactly once across both workers
    fetched = Counter(path for method, path, _ in server.log if method == "GET")
    assert fetched and max(fetched.values()) == 1, [p for p, n in fetched.items() if n > 1]
    assert fetched["/robots.txt"] == 1  # once for the fleet
    reports = run_reports(out)
    assert len(reports) == 2 and all(r["counts"]["pages"] > 0 for r in reports)  # both did work
    assert len({r["run_id"] for r in reports}) == 2
    warcs = sorted((out / "warc").glob("*.warc.gz"))
    assert len(warcs) >= 2 and not list((out / "warc").glob("*.open"))
    for path in warcs:
        check_warc(path)


def test_a_worker_killed_mid_crawl_loses_nothing(tmp_path, fresh_demo_server, redis_server):
    server = fresh_demo_server(n_articles=120)
    seed, out = write_seed(tmp_path, server.url), tmp_path / "out"
    enqueue(seed, redis_server.url)
    slow = ["-s", "DOWNLOAD_DELAY=0.05", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=3"]
    procs = [start_worker(out, redis_server.url, *slow, log=tmp_path / f"w{i}.log") for i in range(3)]
    deadline = time.monotonic() + 120
    while count_jsonl_lines(out) < 15 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(procs[0].pid, signal.SIGKILL)
    procs[0].wait()
    for proc in procs[1:]:
        code, err = finish(proc)
        assert code == 0, err[-3000:]
    # a later worker repairs the dead one's .open files and takes back its killed run's articles
    run_workers(1, out, redis_server.url)
    paths = article_paths(read_jsonl(out))
    assert set(paths) == public_paths(server.site)
    assert max(paths.values()) == 1, [p for p, n in paths.items() if n > 1]
    assert not list((out / "warc").glob("*.open"))
    for path in sorted((out / "warc").glob("*.warc.gz")):
        check_warc(path, run_warcio=False)


def test_per_domain_limit_holds_for_the_fleet(tmp_path, redis_server):
    server = DemoServer(build_site(30), latency=0.05).start()
    try:
        seed, out = write_seed(tmp_path, server.url), tmp_path / "out"
        enqueue(seed, redis_server.url)
        run_workers(3, out, redis_server.url, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", tmp_path=tmp_path)
    finally:
        server.stop()
    assert read_jsonl(out)
    assert server.max_in_flight == 2  # never more, and the limit is used


def test_second_enqueue_fetches_no_archived_article(tmp_path, fresh_demo_server, redis_server):
    server = fresh_demo_server(n_articles=60)
    seed, out = write_seed(tmp_path, server.url), tmp_path / "out"
    enqueue(seed, redis_server.url)
    run_workers(2, out, redis_server.url)
    first = len(read_jsonl(out))
    server.reset_log()
    new = server.site.publish(3)
    enqueue(seed, redis_server.url)
    run_workers(2, out, redis_server.url)
    fetched = [path for method, path, _ in server.log if method == "GET"]
    archived = [p for p in fetched if server.site.article(urlsplit(p).path) is not None
                and p not in {a.path for a in new}]
    assert archived == []  # no article of the first run was fetched again
    assert "/feed/" in fetched and "/news-sitemap.xml" in fetched  # discovery is read again
    rows = read_jsonl(out)
    assert len(rows) == first + 3 and {urlsplit(r["url"]).path for r in rows[-3:]} <= {a.path for a in new}


def test_redis_unreachable_at_start_is_one_line_and_exit_3(tmp_path):
    env = env_for("redis://127.0.0.1:1/0")
    for args in (["worker", "--settings", "distributed", "--out", str(tmp_path / "out")],
                 ["enqueue", "demo", "--settings", "distributed"], ["status", "--settings", "distributed"]):
        proc = newswarc(*args, env=env)
        assert proc.returncode == 3, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Redis at redis://127.0.0.1:1/0 is unreachable" in lines[0], proc.stderr


def test_status_shows_queued_work(tmp_path, fresh_demo_server, redis_server):
    server = fresh_demo_server(n_articles=20)
    seed = write_seed(tmp_path, server.url)
    enqueue(seed, redis_server.url)
    proc = newswarc("status", "--settings", "distributed", "--json", env=env_for(redis_server.url))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["seeds"]["demo"]["starts_waiting"] == 1 and info["workers"] == {}


def test_redis_lost_mid_crawl_pauses_and_resumes(tmp_path, fresh_demo_server, own_redis_server):
    server = fresh_demo_server(n_articles=60)
    seed, out, log = write_seed(tmp_path, server.url), tmp_path / "out", tmp_path / "worker.log"
    enqueue(seed, own_redis_server.url)
    proc = start_worker(out, own_redis_server.url, "-s", "DOWNLOAD_DELAY=0.1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
                        log=log, timeout=10)
    deadline = time.monotonic() + 120
    while count_jsonl_lines(out) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    own_redis_server.stop()  # the worker loses Redis mid-crawl
    time.sleep(3)
    own_redis_server.start()
    code, err = finish(proc)
    assert code == 0, err[-3000:]
    text = log.read_text()
    assert "Redis is unreachable" in text and "Redis is back: this worker resumes" in text
    assert "Traceback" not in text  # a page that lost Redis half-way: one line, done again
    paths = article_paths(read_jsonl(out))
    assert set(paths) == public_paths(server.site)
    assert max(paths.values()) == 1, [p for p, n in paths.items() if n > 1]
    assert "'newswarc/redis/outages': 1" in text


def test_requests_travel_as_json_with_callbacks_by_name():
    from concurrent.futures import Future

    from scrapy import Request
    from scrapy.utils.request import request_from_dict

    from crawler.config.seeds import Seed
    from crawler.distributed import serializer
    from crawler.distributed.spider import DistributedNewsSpider

    spider = DistributedNewsSpider(seed=Seed(name="demo", start_urls=("http://127.0.0.1/",),
                                             allowed_domains=("127.0.0.1",)))
    req = Request("http://127.0.0.1/a", callback=spider.parse_page, errback=spider._failed, priority=15,
                  headers={"If-None-Match": '"x"'}, body=b"\x00\xff", method="POST",
                  meta={"newswarc_run": "r1", "newswarc_prior": {"uri": "u"}, "newswarc_capture": Future()})
    data = serializer.dumps(req.to_dict(spider=spider))
    assert b"pickle" not in data.encode() and "newswarc_capture" not in data
    back = request_from_dict(serializer.loads(data.encode()), spider=spider)
    assert back.callback == spider.parse_page and back.errback == spider._failed
    assert back.headers[b"If-None-Match"] == b'"x"' and back.body == b"\x00\xff" and back.priority == 15
    assert back.meta == {"newswarc_run": "r1", "newswarc_prior": {"uri": "u"}}


def test_schedule_enqueues_when_distributed(tmp_path, fresh_demo_server, redis_server):
    from scrapy.settings import Settings

    from crawler.distributed import Keys
    from crawler.distributed.fleet import EnqueueRunner
    from crawler.schedule.scheduler import ScheduledSeed

    seed = write_seed(tmp_path, fresh_demo_server(n_articles=20).url)
    settings = Settings({"NEWSWARC_REDIS_URL": redis_server.url})
    code = EnqueueRunner(settings)(ScheduledSeed("demo", "17 * * * *", seed))
    assert code == 0
    client, keys = redis_server.client(), Keys()
    assert client.llen(keys.starts("demo")) == 1 and client.hexists(keys.seeds, "demo")


def test_sigterm_drains_a_worker(tmp_path, fresh_demo_server, redis_server):
    server = fresh_demo_server(n_articles=60)
    seed, out = write_seed(tmp_path, server.url), tmp_path / "out"
    enqueue(seed, redis_server.url)
    proc = start_worker(out, redis_server.url, "-s", "DOWNLOAD_DELAY=0.05", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
    deadline = time.monotonic() + 120
    while count_jsonl_lines(out) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)  # the worker alone, as systemd's KillMode=mixed and docker stop do
    code, err = finish(proc)
    assert code == 0, err[-3000:]
    assert not list((out / "warc").glob("*.open")) and not list((out / "articles").rglob("*.open"))
    client = redis_server.client()
    assert not client.keys("newswarc:worker:*")  # nothing left taken, the worker unregistered
    assert client.zcard("newswarc:seed:demo:requests") > 0  # the rest waits for the fleet
    run_workers(1, out, redis_server.url)
    paths = article_paths(read_jsonl(out))
    assert set(paths) == public_paths(server.site) and max(paths.values()) == 1
