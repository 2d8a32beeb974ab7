"""Workers, enqueues and a concurrency-counting site for the distributed tests (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.crawl_helpers import ROOT, newswarc

WORKER_FLAGS = ["--settings", "distributed", "-s", "DOWNLOAD_DELAY=0", "-s", "NEWSWARC_EXTRACT_WORKERS=1",
                "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]


def env_for(redis_url: str, **extra: str) -> dict[str, str]:
    return {"NEWSWARC_REDIS_URL": redis_url, **extra}


def enqueue(seed: Path, redis_url: str) -> None:
    proc = newswarc("enqueue", str(seed), "--settings", "distributed", env=env_for(redis_url))
    assert proc.returncode == 0, proc.stderr


def start_worker(out: Path, redis_url: str, *extra: str, log: Path | None = None, idle: float = 2.0,
                 timeout: float = 3.0) -> subprocess.Popen:
    """``newswarc worker --until-idle`` in the background (its own session, so a signal hits it alone)."""
    args = [sys.executable, "-m", "crawler.cli", "worker", "--out", str(out), "--until-idle", "--idle-seconds",
            str(idle), *WORKER_FLAGS, "-s", f"NEWSWARC_DISTRIBUTED_WORKER_TIMEOUT={timeout}", *extra, "-q"]
    if log is not None:
        args += ["--log-file", str(log)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_for(redis_url)}
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"worker did not finish: {err[-3000:]}") from None
    return proc.returncode, err
