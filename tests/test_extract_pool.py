"""ExtractionPool with real worker processes: results, errors, hangs, crashes, throughput."""

from __future__ import annotations

import os
import time
from concurrent.futures import wait
from pathlib import Path

import pytest

from crawler.extract.api import extract_with_reason
from crawler.extract.pool import ExtractionPool, ExtractResult

ARTICLE = (Path(__file__).parent / "data" / "extract" / "wordpress_article.html").read_bytes()
URL = "https://riverside.example/2024/03/14/harbour-bridge-reopens/"
HOSTILE = f"{__name__}:hostile"


def hostile(html, url, *, charset=None, options=None):
    """Worker target for tests: misbehaves according to the URL."""
    if "hang" in url:
        time.sleep(120)
    if "crash" in url:
        os._exit(3)
    if "raise" in url:
        raise ValueError("bad page")
    return extract_with_reason(html, url, charset=charset, options=options)


@pytest.fixture(scope="module")
def pool():
    with ExtractionPool(workers=2, timeout=2.0, func=HOSTILE) as p:
        yield p


def test_normal_extraction(pool):
    result = pool.submit(ARTICLE, URL, charset="utf-8").result(timeout=60)
    assert isinstance(result, ExtractResult) and result.reason is None
    assert result.article == extract_with_reason(ARTICLE, URL)[0]
    assert pool.submit(b"", URL).result(timeout=30) == ExtractResult(None, "empty")


def test_exception_becomes_reason(pool, caplog):
    with caplog.at_level("ERROR", logger="crawler.extract.pool"):
        result = pool.submit(ARTICLE, "https://x.example/raise").result(timeout=30)
    assert result == ExtractResult(None, "error:ValueError")
    assert "ValueError: bad page" in caplog.text and "https://x.example/raise" in caplog.text


def test_hang_times_out_and_others_continue(pool):
    t0 = time.monotonic()
    hung = pool.submit(ARTICLE, "https://x.example/hang")
    others = [pool.submit(ARTICLE, f"{URL}?n={i}") for i in range(4)]
    assert hung.result(timeout=30) == ExtractResult(None, "timeout")
    assert time.monotonic() - t0 < 15
    assert all(f.result(timeout=30).article is not None for f in others)
    assert pool.submit(ARTICLE, URL).result(timeout=30).article is not None  # replaced worker works


def test_crash_is_reported_and_nothing_is_lost(pool):
    futures = [pool.submit(ARTICLE, f"{URL}?n={i}") for i in range(3)]
    crashed = pool.submit(ARTICLE, "https://x.example/crash")
    futures += [pool.submit(ARTICLE, f"{URL}?m={i}") for i in range(3)]
    done, not_done = wait(futures + [crashed], timeout=60)
    assert not not_done
    assert crashed.result() == ExtractResult(None, "crashed")
    assert all(f.result().article is not None for f in futures)
    assert pool.pending == 0


def test_pending_counts_queued_and_running():
    with ExtractionPool(workers=1, timeout=30, func=HOSTILE) as p:
        futures = [p.submit(ARTICLE, f"{URL}?n={i}") for i in range(5)]
        assert 1 <= p.pending <= 5
        wait(futures, timeout=60)
        assert p.pending == 0


def test_close_without_wait_cancels_queued():
    p = ExtractionPool(workers=1, timeout=30, func=HOSTILE)
    running = p.submit(ARTICLE, "https://x.example/hang")
    queued = [p.submit(ARTICLE, f"{URL}?n={i}") for i in range(3)]
    deadline = time.monotonic() + 30
    while not running.running() and time.monotonic() < deadline:  # the worker warms up first
        time.sleep(0.05)
    p.close(wait=False)
    # queued pages are cancelled; the one already in the worker's pipe behind the hung page is resolved so
    assert all(f.cancelled() or f.result(timeout=5) == ExtractResult(None, "cancelled") for f in queued)
    assert sum(f.cancelled() for f in queued) >= 2
    assert running.result(timeout=5) == ExtractResult(None, "cancelled")
    with pytest.raises(RuntimeError):
        p.submit(ARTICLE, URL)


def test_throughput_sanity():
    pages = [(ARTICLE, f"{URL}?n={i}") for i in range(60)]
    with ExtractionPool(workers=2, timeout=30) as p:
        p.submit(ARTICLE, URL).result(timeout=60)  # warm up both workers' imports
        t0 = time.monotonic()
        results = [f.result(timeout=120) for f in [p.submit(h, u) for h, u in pages]]
        elapsed = time.monotonic() - t0
    assert all(r.article is not None for r in results)
    assert len(pages) / elapsed > 5, f"{len(pages) / elapsed:.1f} pages/s"


def test_workers_warm_up_before_their_first_page():
    # the warm-up (language model, lazy imports: about a second) must not count against a page's
    # timeout: with a 1 s limit the first pages would otherwise time out
    with ExtractionPool(workers=2, timeout=1.0) as p:
        futures = [p.submit(ARTICLE, f"{URL}?n={i}") for i in range(4)]
        assert p.wait_ready(timeout=60)
        assert len(p.worker_pids) == 2 and all(isinstance(pid, int) for pid in p.worker_pids)
        results = [f.result(timeout=60) for f in futures]
    assert all(r.reason is None and r.article is not None for r in results), results


def test_wait_ready_returns_when_closed():
    p = ExtractionPool(workers=1, timeout=30)
    p.close()
    t0 = time.monotonic()
    assert p.wait_ready(timeout=20) is False  # a closed pool never becomes ready: callers are not stuck
    assert time.monotonic() - t0 < 5


def test_workers_that_cannot_start_fail_pages_instead_of_respawning_forever():
    with ExtractionPool(workers=1, timeout=30, func=f"{__name__}:no_such_function") as p:
        first = p.submit(ARTICLE, URL)
        assert first.result(timeout=120) == ExtractResult(None, "crashed")
        assert p.submit(ARTICLE, URL).result(timeout=1) == ExtractResult(None, "crashed")  # at once now


def test_pages_behind_a_hung_page_are_requeued_not_lost():
    with ExtractionPool(workers=1, timeout=2.0, func=HOSTILE) as p:
        hung = p.submit(ARTICLE, "https://x.example/hang")
        behind = [p.submit(ARTICLE, f"{URL}?b={i}") for i in range(3)]  # the first waits in the hung worker's pipe
        assert hung.result(timeout=60) == ExtractResult(None, "timeout")
        assert all(f.result(timeout=60).article is not None for f in behind)


_SLOW_START = """
from pathlib import Path
from crawler.extract.pool import ExtractionPool
pool = ExtractionPool(workers=1, timeout=30.0, preload=["slow_warm"])  # returns before the fork server is up
Path({tmp!r}, "go").touch()  # only now may the fork server's preload finish
future = pool.submit(b"<html><body><p>x</p></body></html>", "https://example.org/a")
assert pool.wait_ready(timeout=60), "the worker never became ready"
print("result", future.result(timeout=60).reason)
pool.close()
"""


def test_the_constructor_does_not_wait_for_the_fork_server(tmp_path):
    """A crawl creates the pool on its reactor thread: the fork server's warm-up (seconds) must not
    block it. Here the fork server's preload waits until the parent has returned from the
    constructor; a constructor that waited for the first worker would never return."""
    import subprocess
    import sys

    (tmp_path / "slow_warm.py").write_text(
        "import time\nfrom pathlib import Path\n"
        f"Path({str(tmp_path)!r}, 'imported').touch()\n"
        f"while not Path({str(tmp_path)!r}, 'go').exists():\n    time.sleep(0.05)\n")
    script = _SLOW_START.format(tmp=str(tmp_path))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])}  # for the fork server too
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=90, cwd=root, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "result too_short" in run.stdout or "result no_text" in run.stdout, run.stdout
    assert (tmp_path / "imported").exists()  # the fork server did wait for the parent
