"""Run the real ``newswarc`` command in a subprocess (Twisted's reactor cannot restart in-process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
        "-s", "NEWSWARC_EXTRACT_WORKERS=2"]


def newswarc(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 240,
             stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    """``newswarc ARGS...`` as a user would run it; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=cwd or ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          capture_output=True, text=True, timeout=timeout, stdin=stdin)


def write_seed(directory: Path, url: str, name: str = "demo", **extra) -> Path:
    """A seed file for a site served at ``url``."""
    lines = [f'name = "{name}"', f'start_urls = ["{url.rstrip("/")}/"]']
    for key, value in extra.items():
        lines.append(f"{key} = {json.dumps(value)}")
    path = directory / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_jsonl(out: Path) -> list[dict]:
    rows = []
    for path in sorted((out / "articles").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rows.append(json.loads(line))
    return rows


def count_jsonl_lines(out: Path) -> int:
    """Article lines written so far, finished JSONL parts and ``.open`` ones alike."""
    return sum(p.read_bytes().count(b"\n") for p in (out / "articles").rglob("*.jsonl*")) if out.exists() else 0


def run_reports(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))]
