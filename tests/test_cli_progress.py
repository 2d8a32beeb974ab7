"""On a terminal one live line shows pages, articles, queue size, rate and, where it can be known, an ETA."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time

from tests.crawl_helpers import FAST, ROOT, write_seed

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _on_a_terminal(*args: str, cwd, timeout: float = 240) -> tuple[int, list[str], str]:
    """Run newswarc with stderr on a pseudo-terminal (120 columns); (exit code, live lines, stdout)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stdout = proc.stdout.read().decode()
    code = proc.wait(timeout=30)
    screen = ANSI.sub("\n", b"".join(chunks).decode("utf-8", "replace").replace("\r", "\n"))
    return code, [line.strip() for line in screen.splitlines() if line.strip()], stdout


def test_live_line_shows_pages_articles_queue_rate_and_eta(tmp_path, fresh_demo_server):
    server = fresh_demo_server(120)
    seed = write_seed(tmp_path, server.url, name="live")
    code, lines, _ = _on_a_terminal("crawl", str(seed), "--out", str(tmp_path / "out"), "--max-pages", "150",
                                    *FAST, "-s", "DOWNLOAD_DELAY=0.05", cwd=tmp_path)
    assert code == 0, lines[-20:]
    live = [line for line in lines if line.startswith("pages ")]
    assert live, lines[-20:]
    shape = re.compile(r"^pages (\d+)(/\d+)?\s+articles (\d+)\s+queue (\d+)\s+([\d.]+|-) pages/s(\s+ETA (\S+))?")
    assert all(shape.match(line) for line in live), [line for line in live if not shape.match(line)][:3]
    etas = [shape.match(line).group(7) or "" for line in live]
    assert any(re.fullmatch(r"\d+:\d\d(:\d\d)?", eta) for eta in etas), etas  # --max-pages: the total is known
    assert any(int(shape.match(line).group(4)) > 0 for line in live), "the queue is never shown filled"


def test_replay_live_line_says_damaged_like_its_summary(demo_crawl, tmp_path):
    code, lines, _ = _on_a_terminal("replay", str(demo_crawl / "warc"), "--out", str(tmp_path / "out"),
                                    "--workers", "1", cwd=tmp_path)
    assert code == 0, lines[-20:]
    assert not any("corrupt" in line for line in lines), lines
    assert any("damaged" in line for line in lines), lines
