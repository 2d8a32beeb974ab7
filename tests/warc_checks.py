"""Reusable WARC checks (items 1-7 of docs/warc-fidelity.md's checklist) and a pywb replay helper.

``check_warc(path)`` runs items 1-5 on one file and raises AssertionError naming the file,
offset and problem. ``check_coverage`` is item 6, :class:`PywbReplay` item 7. Other test modules
(S3, demo crawl) import these.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from tests.crawl_helpers import free_port

BIN = Path(sys.executable).parent


@dataclass
class WarcRecord:
    """One record as stored: WARC fields, HTTP head, and the raw (still content-encoded) body."""

    offset: int
    length: int
    type: str
    fields: list[tuple[str, str]]
    status: int | None = None
    http_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    http_protocol: str = ""

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.fields if k.lower() == name.lower()), default)

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.http_headers if k.lower() == name.lower()]

    @property
    def uri(self) -> str:
        return self.get("WARC-Target-URI") or ""

    @property
    def id(self) -> str:
        return self.get("WARC-Record-ID") or ""


def read_records(path: str | os.PathLike) -> list[WarcRecord]:
    """Every record of a WARC with offsets; bodies are the stored bytes (small test files only)."""
    out = []
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for rec in it:
            http = rec.http_headers
            body = rec.raw_stream.read()
            it.read_to_end(rec)
            out.append(WarcRecord(
                offset=it.get_record_offset(), length=it.get_record_length(), type=rec.rec_type,
                fields=list(rec.rec_headers.headers),
                status=int(http.get_statuscode()) if http is not None and rec.rec_type in ("response", "revisit")
                else None,
                http_headers=list(http.headers) if http is not None else [],
                body=body, http_protocol=http.protocol if http is not None else ""))
    return out


def decoded_body(rec: WarcRecord) -> bytes:
    """The body as a browser sees it (content encoding removed)."""
    enc = ",".join(rec.header("Content-Encoding")).strip().lower()
    if enc in ("gzip", "x-gzip"):
        return gzip.decompress(rec.body)
    if enc == "deflate":
        return zlib.decompress(rec.body)
    if enc == "br":
        import brotli

        return brotli.decompress(rec.body)
    return rec.body


def _fail(path: object, rec: WarcRecord | None, problem: str) -> None:
    where = f"{path}" + (f" @{rec.offset} ({rec.type} {rec.uri})" if rec else "")
    raise AssertionError(f"{where}: {problem}")


def _dechunk_ok(body: bytes) -> bool:
    buf = io.BytesIO(body)
    while True:
        line = buf.readline()
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            return False
        if size == 0:
            return True
        if len(buf.read(size)) != size or buf.read(2) != b"\r\n":
            return False


def check_warcio(path: str | os.PathLike) -> None:
    """1. ``warcio check -v FILE`` exits 0 (block and payload digests)."""
    proc = subprocess.run([str(BIN / "warcio"), "check", "-v", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{path}: warcio check failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr}")


def read_at(path: str | os.PathLike, offset: int, length: int | None = None) -> WarcRecord:
    """The record at ``offset`` read with a seek, as a replay tool would (one gzip member)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(length) if length else None
        stream = io.BytesIO(data) if data is not None else fh
        it = ArchiveIterator(stream)
        rec = next(iter(it))
        http = rec.http_headers
        body = rec.raw_stream.read()
        return WarcRecord(offset, length or 0, rec.rec_type, list(rec.rec_headers.headers),
                          int(http.get_statuscode()) if http is not None and rec.rec_type in ("response", "revisit")
                          else None, list(http.headers) if http is not None else [], body)


def cdxj_indexer_lines(path: str | os.PathLike) -> list[str]:
    """Lines of the reference ``cdxj-indexer`` for ``path``."""
    proc = subprocess.run([str(BIN / "cdxj-indexer"), str(path)], capture_output=True, text=True, check=True)
    return [line for line in proc.stdout.splitlines() if line.strip()]


def check_index(path: str | os.PathLike, lines: Iterable[str] | None = None) -> int:
    """2. Every CDXJ line (``cdxj-indexer`` by default) reads back at its offset and length."""
    lines = list(cdxj_indexer_lines(path) if lines is None else lines)
    if not lines:
        raise AssertionError(f"{path}: empty CDXJ index")
    for line in lines:
        _surt, ts, js = line.split(" ", 2)
        entry = json.loads(js)
        rec = read_at(path, int(entry["offset"]), int(entry["length"]))
        if rec.uri != entry["url"] or iso_date_to_timestamp(rec.get("WARC-Date")) != ts:
            _fail(path, rec, f"index line {line[:200]} does not match the record at its offset")
        if "digest" in entry and rec.get("WARC-Payload-Digest") != entry["digest"]:
            _fail(path, rec, "payload digest differs from the index line")
    return len(lines)


def check_warc(path: str | os.PathLike, *, run_warcio: bool = True) -> None:
    """Items 1-5 of the fidelity checklist for one WARC file; raises AssertionError."""
    path = Path(path)
    if path.name.endswith(".open"):
        raise AssertionError(f"{path}: file was left .open")
    if run_warcio:
        check_warcio(path)
    check_index(path)
    records = read_records(path)
    # 3. warcinfo first, naming the file
    if not records or records[0].type != "warcinfo":
        _fail(path, records[0] if records else None, "first record is not warcinfo")
    if records[0].get("WARC-Filename") != path.name:
        _fail(path, records[0], f"WARC-Filename {records[0].get('WARC-Filename')!r} is not {path.name!r}")
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        raise AssertionError(f"{path}: duplicate WARC-Record-ID")
    requests_for = {r.get("WARC-Concurrent-To"): r for r in records if r.type == "request"}
    for rec in records:
        names = [k.lower() for k, _ in rec.fields if k.lower() != "warc-concurrent-to"]
        if len(names) != len(set(names)):
            _fail(path, rec, "a named field repeats")
        for need in ("WARC-Record-ID", "WARC-Date", "WARC-Type", "Content-Length"):
            if not rec.get(need):
                _fail(path, rec, f"missing {need}")
        if rec.type not in ("response", "revisit"):
            continue
        if rec.type == "revisit" and rec.get("WARC-Profile", "").endswith("/server-not-modified"):
            if not (rec.get("WARC-Refers-To-Target-URI") and rec.get("WARC-Refers-To-Date")):
                _fail(path, rec, "server-not-modified revisit without WARC-Refers-To-*")
            continue  # its block may be empty: replay takes the original's head and payload
        # 4. HTTP head consistent with the stored body
        if rec.get("Content-Type", "").replace(" ", "") != "application/http;msgtype=response":
            _fail(path, rec, f"Content-Type {rec.get('Content-Type')!r}")
        if not rec.http_protocol.startswith("HTTP/1."):
            _fail(path, rec, f"bad status line protocol {rec.http_protocol!r}")
        te = ",".join(rec.header("Transfer-Encoding")).lower()
        if rec.type == "response":
            if "chunked" in te and not _dechunk_ok(rec.body):
                _fail(path, rec, "Transfer-Encoding: chunked on a body that is not chunked")
            lengths = rec.header("Content-Length")
            if len(lengths) > 1 or (lengths and int(lengths[0]) != len(rec.body)):
                _fail(path, rec, f"Content-Length {lengths} but stored body has {len(rec.body)} bytes")
            is_gzip = "gzip" in ",".join(rec.header("Content-Encoding")).lower()
            gzip_file = "gzip" in ",".join(rec.header("Content-Type")).lower()  # a .gz file, not an encoding
            if rec.body and is_gzip != rec.body.startswith(b"\x1f\x8b") and not (gzip_file and not is_gzip):
                _fail(path, rec, f"Content-Encoding {rec.header('Content-Encoding')} vs body magic {rec.body[:2]!r}")
            if not rec.get("WARC-IP-Address"):
                _fail(path, rec, "no WARC-IP-Address")
        elif "chunked" in te:
            _fail(path, rec, "revisit with Transfer-Encoding: chunked")
        # 5. its request record: same file, date and URI, concurrent to it
        req = requests_for.get(rec.id)
        if req is None:
            _fail(path, rec, "no request record with WARC-Concurrent-To this response")
        if req.get("WARC-Date") != rec.get("WARC-Date") or req.uri != rec.uri:
            _fail(path, rec, "request record has another date or URI")


def check_coverage(records: Sequence[WarcRecord], archived: Iterable[str] = (),
                   not_archived: Iterable[str] = ()) -> None:
    """6. These URLs have a response/revisit record (redirects, errors, robots.txt); those have none."""
    have = {r.uri for r in records if r.type in ("response", "revisit")}
    missing = [u for u in archived if u not in have]
    extra = [u for u in not_archived if u in have or any(r.uri == u for r in records)]
    if missing:
        raise AssertionError(f"not archived: {missing}")
    if extra:
        raise AssertionError(f"archived but must not be: {extra}")


def all_records(paths: Iterable[str | os.PathLike]) -> list[WarcRecord]:
    return [rec for p in paths for rec in read_records(p)]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: D401 - keep 3xx as they are
        return None


@dataclass
class Replayed:
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # content-decoded

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class PywbReplay:
    """7. pywb on loopback: ``with PywbReplay(tmp, warcs) as pywb: pywb.get(url)``.

    Builds a collection with ``wb-manager`` (or with a given CDXJ index instead of pywb's own
    indexer), runs ``wayback`` on a free port, waits until it answers, kills it on exit.
    """

    def __init__(self, workdir: str | os.PathLike, warcs: Sequence[str | os.PathLike], cdxj: str | None = None,
                 coll: str = "c"):
        self.workdir, self.warcs, self.cdxj, self.coll = Path(workdir), [Path(w) for w in warcs], cdxj, coll
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> PywbReplay:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        subprocess.run([str(BIN / "wb-manager"), "init", self.coll], cwd=self.workdir, check=True,
                       capture_output=True, env=env)
        coll_dir = self.workdir / "collections" / self.coll
        if self.cdxj is None:
            subprocess.run([str(BIN / "wb-manager"), "add", self.coll, *map(str, self.warcs)], cwd=self.workdir,
                           check=True, capture_output=True, env=env)
        else:
            for warc in self.warcs:
                shutil.copy(warc, coll_dir / "archive" / warc.name)
            (coll_dir / "indexes" / "index.cdxj").write_text(self.cdxj)
        port = free_port()
        self.log = open(self.workdir / "wayback.log", "wb")
        self.proc = subprocess.Popen([str(BIN / "wayback"), "-b", "127.0.0.1", "-p", str(port)], cwd=self.workdir,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"wayback exited: {(self.workdir / 'wayback.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=1).read()
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise AssertionError("wayback did not answer within 30 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
            self.log.close()

    def get(self, url: str, mode: str = "id_") -> Replayed:
        """``GET /coll/<mode>/url`` without following redirects; the body comes back decoded."""
        return http_get(f"{self.url}/{self.coll}/{mode}/{url}")


def http_get(url: str, timeout: float = 20) -> Replayed:
    """``GET url`` (asking for gzip) without following redirects; the body comes back decoded."""
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    try:
        resp = urllib.request.build_opener(_NoRedirect).open(req, timeout=timeout)
        status, headers, body = resp.status, list(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        status, headers, body = err.code, list(err.headers.items()), err.read()
    enc = next((v for k, v in headers if k.lower() == "content-encoding"), "")
    if "gzip" in enc.lower() and body.startswith(b"\x1f\x8b"):
        body = gzip.decompress(body)
    return Replayed(status, headers, body)
