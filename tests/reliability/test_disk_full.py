"""Disk full, on a real tiny filesystem (a 1 MB tmpfs; root only, else skipped).

The crawl stops at the first ENOSPC with one line and exit 1, no traceback, the WARC file closed
out valid, no ``.tmp`` or ``.open`` file left; after the filesystem grows, the next run writes the
rest: every article once.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter

import pytest

from tests.crawl_helpers import read_jsonl, write_seed
from tests.reliability.hostile import FAST, HostileServer, news_site, no_traceback, run_newswarc
from tests.warc_checks import check_warc


@pytest.fixture
def tiny_fs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_stops_once_keeps_everything_valid_and_the_next_run_completes(tmp_path, tiny_fs):
    with HostileServer() as srv:
        good = news_site(srv, 60)
        for url in good:  # ~40 KB of text each: 60 of them do not fit in 1 MB
            reply = srv.routes[url.removeprefix(srv.url)]
            reply.body = reply.body.replace(b"</article>", b"<p>" + os.urandom(20000).hex().encode() + b"</p></article>")
        seed = write_seed(tmp_path, srv.url)
        out = tiny_fs / "out"
        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)
        assert run.returncode == 1, run.stderr[-3000:]
        assert no_traceback(run.stderr) and "Error processing" not in run.stderr
        final = [line for line in run.stderr.splitlines() if line.startswith("newswarc: ")]
        assert len(final) == 1 and "no space left on device" in final[0], run.stderr[-3000:]
        assert sum("no space left on device (" in line.lower() for line in run.stderr.splitlines()) == 1  # said once
        leftovers = [p.name for p in out.rglob("*") if p.name.endswith((".tmp", ".open"))]
        assert leftovers == [], leftovers
        warcs = sorted(out.glob("warc/*.warc.gz"))
        assert warcs, "no WARC file kept from the run that filled the disk"
        for warc in warcs:
            check_warc(warc)
        first = read_jsonl(out, open_parts=True)
        assert len(first) < len(good)

        subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_fs)], check=True)
        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)
        assert run.returncode == 0, run.stderr[-3000:]
    rows = read_jsonl(out, open_parts=True)
    counts = Counter(r["url"] for r in rows)
    assert sorted(counts) == sorted(good) and set(counts.values()) == {1}
    assert not [p.name for p in out.rglob("*") if p.name.endswith((".tmp", ".open"))]
    warcs = sorted(out.glob("warc/*.warc.gz"))
    assert warcs, "no WARC file after the resumed run"
    for warc in warcs:
        check_warc(warc)
