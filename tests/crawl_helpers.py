"""Run the real ``newswarc`` command in a subprocess (Twisted's reactor cannot restart in-process)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from scrapy.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
        "-s", "NEWSWARC_EXTRACT_WORKERS=2"]


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1 (for a server of the tests' own)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(env: dict | None) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}


def newswarc(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 240,
             stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    """``newswarc ARGS...`` as a user would run it; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=cwd or ROOT, env=_env(env),
                          capture_output=True, text=True, timeout=timeout, stdin=stdin)


def start_newswarc(*args: str, cwd: Path | None = None, env: dict | None = None, stdout: Any = subprocess.DEVNULL,
                   stderr: Any = subprocess.PIPE) -> subprocess.Popen:
    """``newswarc ARGS...`` started and left running (for tests that act on it meanwhile: signals, locks,
    listening sockets); stdin closed, pipes as text. The caller waits for it (and kills it on failure)."""
    return subprocess.Popen([sys.executable, "-m", "crawler.cli", *args], cwd=cwd or ROOT, env=_env(env),
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, text=True)


def write_seed(directory: Path, url: str, name: str = "demo", **extra) -> Path:
    """A seed file for a site served at ``url``."""
    lines = [f'name = "{name}"', f'start_urls = ["{url.rstrip("/")}/"]']
    for key, value in extra.items():
        lines.append(f"{key} = {json.dumps(value)}")
    path = directory / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_jsonl(out: Path, *, open_parts: bool = False) -> list[dict]:
    """Every article row under ``out/articles``: of the finished JSONL parts, and with ``open_parts``
    of the ``.open`` ones being written too (a run that was stopped or is still going)."""
    rows = []
    for path in sorted((out / "articles").rglob("*.jsonl*" if open_parts else "*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() or not open_parts:
                rows.append(json.loads(line))
    return rows


def count_jsonl_lines(out: Path) -> int:
    """Article lines written so far, finished JSONL parts and ``.open`` ones alike."""
    return sum(p.read_bytes().count(b"\n") for p in (out / "articles").rglob("*.jsonl*")) if out.exists() else 0


def run_reports(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]


def project_settings(**values: Any) -> Settings:
    """newswarc's defaults (project priority) with ``values`` set as on the command line."""
    settings = Settings()
    settings.setmodule("crawler.config.settings", priority="project")
    settings.setdict(values, priority="cmdline")
    return settings
