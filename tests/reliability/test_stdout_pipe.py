"""``newswarc crawl --jsonl - | head -c 300``: the reader goes away after a few lines.

The crawl stops with one line and exit 141, every article it wrote is in the JSONL files and in
the state once, and the next run fetches only the rest: no article lost, none duplicated.
"""

from __future__ import annotations

import os
import threading
from collections import Counter

from tests.crawl_helpers import read_jsonl, run_reports, write_seed
from tests.reliability.hostile import FAST, HostileServer, news_site, no_traceback, run_newswarc
from tests.warc_checks import all_records


def _head(fd: int, n: int) -> None:
    got = b""
    while len(got) < n and (chunk := os.read(fd, n - len(got))):
        got += chunk
    os.close(fd)


def test_closed_stdout_stops_the_stream_and_nothing_is_duplicated(tmp_path):
    with HostileServer() as srv:
        # their JSONL lines (~2 KB each) overflow a pipe (64 KiB) many times over: pages still waiting
        # when the reader goes away are left for the next run (those already in the pipeline are written)
        good = news_site(srv, 400)
        seed = write_seed(tmp_path, srv.url)
        out = tmp_path / "out"
        read_end, write_end = os.pipe()
        reader = threading.Thread(target=_head, args=(read_end, 300))
        reader.start()
        try:
            run = run_newswarc("crawl", str(seed), "--out", str(out), "--jsonl", "-", *FAST, stdout=write_end)
        finally:
            os.close(write_end)
            reader.join()
        assert run.returncode == 141, run.stderr[-3000:]
        assert no_traceback(run.stderr) and "Error processing" not in run.stderr
        lines = [line for line in run.stderr.splitlines() if "stdout was closed" in line]
        assert len(lines) == 1 and lines[0].startswith("newswarc: stdout was closed"), run.stderr[-3000:]
        first = read_jsonl(out, open_parts=True)
        assert first and len(first) < len(good)
        assert not list(out.rglob("*.open"))  # parts committed
        report = run_reports(out)[-1]
        assert report["counts"]["articles"] == len(first)

        run = run_newswarc("crawl", str(seed), "--out", str(out), *FAST)
        assert run.returncode == 0, run.stderr[-3000:]
        assert no_traceback(run.stderr)

    rows = read_jsonl(out, open_parts=True)
    counts = Counter(r["url"] for r in rows)
    assert sorted(counts) == sorted(good) and set(counts.values()) == {1}  # all, once
    fetched = Counter(r.uri for r in all_records(sorted(out.glob("warc/*.warc.gz")))
                      if r.type == "response" and r.uri in set(good))
    assert set(fetched.values()) == {1}  # nothing captured twice either
