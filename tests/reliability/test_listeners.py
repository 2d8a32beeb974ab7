"""No crawl listens on a TCP port unless its profile says so (Scrapy's RemoteControl runs code sent to it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.crawl_helpers import start_newswarc, write_seed
from tests.reliability.hostile import FAST, HostileServer, news_site, slow_reply


def listening_tcp_ports(pid: int) -> set[int]:
    """TCP ports in LISTEN state owned by ``pid`` or its children (from /proc)."""
    pids = {pid}
    for task in Path("/proc").iterdir():
        if task.name.isdigit():
            try:
                if int((task / "stat").read_text().split(") ", 1)[1].split()[1]) == pid:
                    pids.add(int(task.name))
            except (OSError, IndexError, ValueError):
                continue
    inodes = set()
    for p in pids:
        try:
            for fd in (Path(f"/proc/{p}/fd")).iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.parametrize("profile, listens", [("", False), ("[scrapy]\nREMOTE_CONTROL_ENABLED = true\n", True)])
def test_nothing_listens_unless_the_profile_turns_it_on(tmp_path, profile, listens):
    with HostileServer() as srv:
        news_site(srv, 2, extra_links=["/slow"])
        srv.routes["/slow"] = slow_reply(4)
        seed = write_seed(tmp_path, srv.url)
        settings = tmp_path / "profile.toml"
        settings.write_text(profile)
        proc = start_newswarc("crawl", str(seed), "--out", str(tmp_path / "out"), "--settings", str(settings), "-v",
                              *FAST, stderr=open(tmp_path / "stderr", "w"))  # noqa: SIM115 - a file, not a pipe that fills
        try:
            found: set[int] = set()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:  # the whole run (/slow holds it 4 s)
                found |= listening_tcp_ports(proc.pid)
                time.sleep(0.2)
            proc.wait(timeout=60)
            err = (tmp_path / "stderr").read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err[-2000:]
    assert bool(found) is listens, found
    assert ("Remote control HTTP server listening" in err) is listens
