"""Checks for WACZ packages, stricter than ``wacz validate``, and ``newswarc browse`` as a user runs it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tests.crawl_helpers import ROOT, free_port
from tests.warc_checks import BIN, Replayed, http_get

INDEXED = ("response", "revisit", "resource")


def wacz_validate(path: Path) -> subprocess.CompletedProcess:
    """py-wacz's ``wacz validate -f FILE``."""
    return subprocess.run([str(BIN / "wacz"), "validate", "-f", str(path)], capture_output=True, text=True,
                          timeout=300)


def index_lines(zf: zipfile.ZipFile) -> list[str]:
    with zf.open("indexes/index.cdx.gz") as fh:
        return [line for line in gzip.decompress(fh.read()).decode("utf-8").splitlines() if line]


def check_wacz(path: Path) -> dict:
    """Every resource listed with its size and hash; WARCs and the index STORE'd; every indexed record
    of every WARC in the index at its offset and readable there inside the ZIP; every page a 200 capture.
    Returns {"package", "index", "pages"} for further checks."""
    from warcio.archiveiterator import ArchiveIterator

    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert len(names) == len(set(names)), "an entry is in the ZIP twice"
        package_bytes = zf.read("datapackage.json")
        package = json.loads(package_bytes)
        assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert digest == {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}
        resources = {r["path"]: r for r in package["resources"]}
        assert set(resources) == set(names) - {"datapackage.json", "datapackage-digest.json"}
        for name, res in resources.items():
            data = zf.read(name)
            assert res["bytes"] == len(data), name
            assert res["hash"] == "sha256:" + hashlib.sha256(data).hexdigest(), name
            assert re.fullmatch(r"[a-z0-9._/-]+", res["name"]), res["name"]
        for info in zf.infolist():
            if info.filename.startswith("archive/") or info.filename.endswith(".cdx.gz"):
                assert info.compress_type == zipfile.ZIP_STORED, f"{info.filename} is not STORE'd"
        warcs = [n for n in names if n.startswith("archive/")]
        assert warcs and all(n.endswith((".warc", ".warc.gz")) for n in warcs)
        assert "pages/pages.jsonl" in names and any(n.startswith("indexes/") for n in names)
        lines = index_lines(zf)
        assert lines == sorted(lines), "the index is not sorted"
        entries = [json.loads(line.split(" ", 2)[2]) for line in lines]
        by_place = {(e["filename"], int(e["offset"])): e for e in entries}
        assert len(by_place) == len(entries), "two index lines for one record"
        indexed = 0
        for name in warcs:
            with zf.open(name) as fh:
                it = ArchiveIterator(io.BytesIO(fh.read()))
                for rec in it:
                    it.read_to_end(rec)
                    if rec.rec_type not in INDEXED:
                        continue
                    offset, length = it.get_record_offset(), it.get_record_length()
                    entry = by_place.get((name.rsplit("/", 1)[-1], offset))
                    assert entry is not None, f"{name} @{offset}: {rec.rec_type} record not in the index"
                    assert int(entry["length"]) == length
                    assert entry["url"] == rec.rec_headers.get_header("WARC-Target-URI")
                    indexed += 1
            # read back at the index's offsets inside the ZIP, as ReplayWeb.page does (STORE'd: seekable)
            with zf.open(name) as fh:
                for (fname, offset), entry in by_place.items():
                    if fname != name.rsplit("/", 1)[-1]:
                        continue
                    fh.seek(offset)
                    member = fh.read(int(entry["length"]))
                    head = gzip.decompress(member) if name.endswith(".gz") else member
                    assert f"WARC-Target-URI: {entry['url']}".encode() in head.split(b"\r\n\r\n", 1)[0]
        assert indexed == len(entries), "the index has lines for records that are not in the WARCs"
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode("utf-8").splitlines() if line]
        assert pages[0].get("format") == "json-pages-1.0"
        captures = {(e["url"], line.split(" ", 2)[1]): e for line, e in zip(lines, entries, strict=True)}
        for page in pages[1:]:
            ts = "".join(ch for ch in page["ts"] if ch.isdigit())[:14]
            entry = captures.get((page["url"], ts))
            assert entry is not None, f"page {page['url']} at {page['ts']} has no capture"
            assert entry.get("status") == "200", f"page {page['url']}: capture status {entry.get('status')}"
        return {"package": package, "index": lines, "pages": pages[1:]}


class Browse:
    """``newswarc browse SOURCES --port N`` in a subprocess; ``get(path)`` over HTTP; Ctrl-C on exit."""

    def __init__(self, *sources: str | os.PathLike, port: int | None = None):
        self.sources, self.port = [str(s) for s in sources], port
        self.proc: subprocess.Popen | None = None
        self.list_url = ""
        self.returncode: int | None = None
        self.stderr = ""

    def __enter__(self) -> Browse:
        port = self.port or free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "browse", *self.sources, "--port", str(port)],
                                     cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.list_url = self.proc.stdout.readline().strip()
        if not self.list_url:
            self.proc.wait(30)
            raise AssertionError(f"browse printed no URL: {self.proc.stderr.read()[-2000:]}")
        self.base = self.list_url.split("/static/", 1)[0]
        return self

    def get(self, path: str) -> Replayed:
        """``GET`` a path of the browse server (or a full URL on it), redirects not followed."""
        return http_get(path if path.startswith(self.base) else self.base + path, timeout=30)

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            _out, self.stderr = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError("browse did not stop on Ctrl-C within 30 s") from None
        self.returncode = self.proc.returncode
        self.proc = None


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
