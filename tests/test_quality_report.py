"""``newswarc report``: two demo publishers crawled twice, one of them redesigned in between.

The redesigned site (its articles now a JavaScript-app shell) must be named, with exit code 1,
and the other must not; the HTML report must open in headless Chromium and show its charts.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from crawler.dataset.quality import compare_runs
from crawler.demo._variants import redesign
from crawler.demo.server import DemoServer
from crawler.demo.site import build_site
from tests.crawl_helpers import FAST, newswarc, run_reports, write_seed

QUICK = [*FAST, "-s", "DOWNLOAD_DELAY=0"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gazette and courier crawled into one archive; courier redesigned before the second run."""
    base = tmp_path_factory.mktemp("report")
    gazette, courier = build_site(40, seed=42), build_site(40, seed=7)
    with DemoServer(gazette) as a, DemoServer(courier) as b:
        seeds = [str(write_seed(base, a.url, name="gazette")), str(write_seed(base, b.url, name="courier"))]
        proc = newswarc("crawl", *seeds, "--out", str(base / "out"), "-q", *QUICK)
        assert proc.returncode == 0, proc.stderr[-2000:]
        gazette.publish(12)
        courier.publish(12)
        redesign(courier)
        proc = newswarc("crawl", *seeds, "--out", str(base / "out"), "-q", *QUICK)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return base / "out"


def test_report_flags_the_redesigned_site_and_not_the_other(two_sites, tmp_path):
    proc = newswarc("report", str(two_sites), "--html", str(tmp_path / "report.html"))
    assert proc.returncode == 1, proc.stdout + proc.stderr  # for cron: something dropped
    lines = proc.stdout.splitlines()
    assert any(line.startswith("DROP courier") for line in lines), proc.stdout
    assert any(line.startswith("ok   gazette") for line in lines), proc.stdout
    assert "median length" in proc.stdout and "gazette" not in "".join(
        line for line in lines if line.startswith("     "))
    verdicts = {v.site: v for v in compare_runs(run_reports(two_sites))}
    assert [len(v.runs) for v in verdicts.values()] == [2, 2]
    last = verdicts["courier"].runs[-1].quality
    assert last["median_words"] is None or last["median_words"] <= 0.5 * verdicts["courier"].baseline["median_words"]
    html = (tmp_path / "report.html").read_text()
    assert html.count("<svg") == 2 and "http" not in html.split("<body", 1)[1].replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_report_exit_codes_without_a_drop_and_without_reports(two_sites, tmp_path):
    first_runs = tmp_path / "first"
    (first_runs / "runs").mkdir(parents=True)
    reports = sorted((two_sites / "runs").glob("*.json"))
    for p in reports[:2]:  # the first command's two reports only: nothing to compare yet
        shutil.copy(p, first_runs / "runs" / p.name)
    proc = newswarc("report", str(first_runs))
    assert proc.returncode == 0 and proc.stdout.count("ok ") == 2, proc.stdout + proc.stderr
    proc = newswarc("report", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no run reports" in proc.stderr


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into rows of pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def _count(rows: list[bytes], bpp: int, rgb: tuple[int, int, int]) -> int:
    want = bytes(rgb)
    return sum(1 for row in rows for i in range(0, len(row), bpp) if row[i:i + 3] == want)


def test_html_report_opens_in_headless_chromium_with_its_charts(two_sites, tmp_path):
    if shutil.which("chromium") is None:  # `make test` installs it (make services); CI must have it
        (pytest.fail if os.environ.get("CI") else pytest.skip)("Debian chromium not installed: run make services")
    html = tmp_path / "report.html"
    assert newswarc("report", str(two_sites), "--html", str(html)).returncode == 1
    shot = tmp_path / "report.png"
    proc = subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--window-size=1000,640", "--hide-scrollbars", f"--screenshot={shot}", html.as_uri()],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    if target := os.environ.get("NEWSWARC_REPORT_SCREENSHOT"):  # to refresh docs/datasets-report.png
        shutil.copy(shot, target)
    width, bpp, rows = _png_pixels(shot.read_bytes())
    assert width == 1000
    # the charts were drawn: bars of both sites, the metadata lines, the red border of the dropped site
    assert _count(rows, bpp, (0x90, 0xA4, 0xAE)) > 500
    assert _count(rows, bpp, (0x1F, 0x6F, 0xB2)) > 100 and _count(rows, bpp, (0x2E, 0x8B, 0x3D)) > 100
    assert _count(rows, bpp, (0xC6, 0x28, 0x28)) > 200
