"""``newswarc browse``: pywb over an archive, with a page that lists the archived articles.

pywb (the optional ``browse`` extra) replays a *collection*: ``collections/NAME/archive/`` with
the WARC files and ``collections/NAME/indexes/`` with CDXJ files, which it only picks up by
name (``*.cdx``, ``*.cdxj``, ZipNum ``*.idx``). This module builds one in a temporary
directory: WARCs of an output directory are linked (never copied), the WARCs of a WACZ are
extracted, streamed, and so are the packages it ``requires`` when they sit next to it. The
index is ``indexes/index.cdx`` (sorted on disk), the article list is
``collections/NAME/static/articles.html``, which pywb serves at ``/static/_/NAME/articles.html``.
pywb runs as a child process bound to 127.0.0.1; Ctrl-C (or SIGTERM) stops it and removes the
directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawler.errors import NewswarcError
from crawler.warc import wacz_index
from crawler.warc.cdxj import timestamp14
from crawler.warc.reader import Corrupt
from crawler.warc.wacz import WaczError, WarcInput, scan_inputs, title_reader
from crawler.warc.wacz_inputs import local_inputs

COLL = "newswarc"
START_TIMEOUT = 60.0
MAX_LISTED = 20  # damage lines printed; the rest are counted


class BrowseError(NewswarcError):
    exit_code = 1


def _wacz_closure(paths: list[Path]) -> list[Path]:
    """The packages and, transitively, the earlier ones they require (found next to them)."""
    seen: dict[Path, None] = {}
    todo = list(paths)
    while todo:
        path = todo.pop(0).resolve()
        if path in seen:
            continue
        seen[path] = None
        try:
            with zipfile.ZipFile(path) as zf:
                package = json.loads(zf.read("datapackage.json"))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise BrowseError(f"{path}: not a readable WACZ ({exc})") from None
        for req in package.get("requires") or []:
            dep = path.parent / str(req.get("path") or req.get("name") or "")
            if dep.is_file():
                todo.append(dep)
    return list(seen)


def build_collection(sources: list[str], root: Path, damaged: list[Corrupt] | None = None) -> tuple[int, int]:
    """The pywb collection of ``sources`` under ``root``; returns (index lines, listed pages).

    ``damaged`` gets what of the WARCs read in place cannot be replayed (damage, whole-file gzip).
    """
    coll = root / "collections" / COLL
    for sub in ("archive", "indexes", "static"):
        (coll / sub).mkdir(parents=True, exist_ok=True)
    waczs = [Path(s) for s in sources if s.lower().endswith(".wacz")]
    others = [s for s in sources if not s.lower().endswith(".wacz")]
    sorter = wacz_index.ExternalSorter(tmp_dir=str(root))
    pages: list[dict[str, Any]] = []
    try:
        extracted: dict[str, str] = {}  # file name in archive/ -> sha256
        for path in _wacz_closure(waczs) if waczs else []:
            with zipfile.ZipFile(path) as zf:
                renamed = {}
                for name in zf.namelist():
                    if name.startswith("archive/") and name.lower().endswith((".warc", ".warc.gz")):
                        base = name.rsplit("/", 1)[-1]
                        final = _extract(zf, name, coll / "archive", base, path.stem, extracted)
                        if final != base:
                            renamed[base] = final
                for name in zf.namelist():
                    if name.startswith("indexes/") and name.endswith(".cdx.gz"):
                        with zf.open(name) as fh:
                            for line in wacz_index.iter_index_lines(fh):
                                sorter.add(_renamed(line, renamed) if renamed else line)
                if "pages/pages.jsonl" in zf.namelist():
                    with zf.open("pages/pages.jsonl") as fh:
                        pages += [p for p in map(_json, fh) if p and "url" in p and "format" not in p]
        if others:
            inputs, articles = local_inputs(others)
            for inp in inputs:
                link = coll / "archive" / inp.name
                if not link.exists():
                    os.symlink(_path_of(inp), link)
            collector, summary, rows = scan_inputs(inputs, articles, sorter)
            if damaged is not None:
                damaged.extend(summary.damaged)
            buf = _ListSink()
            collector.write(buf, rows, text=False, title_of=title_reader(inputs))
            pages += buf.pages
        with open(coll / "indexes" / "index.cdx", "w", encoding="utf-8") as out:
            lines = 0
            previous = None
            for line in sorter.sorted():
                if line != previous:  # the same capture from two packages
                    out.write(line + "\n")
                    lines += 1
                previous = line
    finally:
        sorter.close()
    (coll / "static" / "articles.html").write_text(article_list(pages), encoding="utf-8")
    return lines, len(pages)


def _extract(zf: zipfile.ZipFile, member: str, archive: Path, base: str, package: str,
             extracted: dict[str, str]) -> str:
    """Extract a WACZ's WARC into ``archive``; returns its file name there.

    Two packages may hold different WARCs of the same name (two crawls' ``rec-00000.warc.gz``):
    the second is kept under a name of its own, never over the first, and its package's index
    lines are pointed at it (:func:`_renamed`). The same WARC in two packages is kept once.
    """
    part = archive / f".{base}.part"
    sha = hashlib.sha256()
    with zf.open(member) as src, open(part, "wb") as dst:
        while chunk := src.read(1024 * 1024):
            sha.update(chunk)
            dst.write(chunk)
    digest, final, n = sha.hexdigest(), base, 0
    while final in extracted and extracted[final] != digest:
        n += 1
        final = f"{package}-{base}" if n == 1 else f"{package}-{n}-{base}"
    os.replace(part, archive / final)
    extracted[final] = digest
    return final


def _renamed(line: str, renamed: dict[str, str]) -> str:
    """An index line pointed at the name its WARC was extracted under."""
    key, ts, raw = line.split(" ", 2)
    entry = json.loads(raw)
    if entry.get("filename") not in renamed:
        return line
    entry["filename"] = renamed[entry["filename"]]
    return f"{key} {ts} {json.dumps(entry)}"


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _path_of(inp: WarcInput) -> str:
    return str(Path(inp.open.args[0]).resolve())  # type: ignore[attr-defined]  # functools.partial(open, path)


class _ListSink:
    """Collects the lines PageCollector.write produces."""

    def __init__(self) -> None:
        self.pages: list[dict[str, Any]] = []

    def write(self, data: bytes) -> int:
        page = _json(data)
        if page and "format" not in page:
            self.pages.append(page)
        return len(data)


def replay_link(page: dict[str, Any]) -> str:
    return f"/{COLL}/{timestamp14(str(page.get('ts', '')))}/{page['url']}"


def article_list(pages: list[dict[str, Any]]) -> str:
    """The HTML page of archived articles (and start pages): site, date, title, replay link."""
    def key(p: dict[str, Any]) -> tuple:
        return (p.get("route") != "start", str(p.get("site") or ""), str(p.get("published") or p.get("ts") or ""))

    rows = []
    for p in sorted(pages, key=key):
        date = str(p.get("published") or p.get("ts") or "")[:10]
        kind = "start page" if p.get("route") == "start" else str(p.get("site") or "")
        rows.append(f"<tr><td>{html.escape(kind)}</td><td>{html.escape(date)}</td>"
                    f"<td><a href=\"{html.escape(replay_link(p), quote=True)}\">"
                    f"{html.escape(str(p.get('title') or p['url']))}</a></td></tr>")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Archived articles</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:.2em .8em}tr:nth-child(even){background:#f4f4f4}"
            "</style></head><body>\n"
            f"<h1>Archived articles</h1><p>{len(pages)} pages, replayed by pywb from the archive.</p>\n"
            "<table><thead><tr><th>site</th><th>date</th><th>title</th></tr></thead><tbody>\n"
            + "\n".join(rows) + "\n</tbody></table></body></html>\n")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as pywb binds: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_pywb(root: Path, port: int) -> Iterator[subprocess.Popen]:
    """``wayback`` on 127.0.0.1:``port`` in ``root``; stopped (TERM, then KILL) on exit."""
    try:
        import pywb  # noqa: F401  (an optional dependency: the browse extra; checked before starting it)
    except ImportError:
        raise BrowseError("pywb is not installed: pip install 'newswarc[browse]' (from a checkout: make demo)") from None
    log = open(root / "pywb.log", "wb")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-c", "from pywb.apps.cli import wayback; wayback()",
                             "-b", "127.0.0.1", "-p", str(port)], cwd=root, stdout=log, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)  # Ctrl-C goes to us; we stop pywb ourselves
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()


def _wait_ready(proc: subprocess.Popen, url: str, root: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (root / "pywb.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise BrowseError(f"pywb stopped at start ({tail[0] if tail else 'no output'})")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise BrowseError(f"pywb did not answer within {START_TIMEOUT:.0f} s")


def browse(sources: list[str], *, port: int = 8090, port_given: bool = False, quiet: bool = False) -> int:
    """Serve ``sources`` until Ctrl-C/SIGTERM; prints the article list's URL on stdout."""
    if not _port_free(port):
        if port_given:
            raise BrowseError(f"port {port} is busy: pick another with --port")
        port = _free_port()
    root = Path(tempfile.mkdtemp(prefix="newswarc-browse-"))
    # Ctrl-C and SIGTERM both stop it, also when started in the background (where SIGINT is ignored)
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            lines, count = build_collection(sources, root, damaged := [])
        except WaczError as exc:
            raise BrowseError(str(exc)) from None
        for note in damaged[:MAX_LISTED]:  # why a capture may be missing (even under -q: they are problems)
            print(f"newswarc: browse: {note.source}: offset {note.offset}: {note.message} (not replayed)",
                  file=sys.stderr)
        if len(damaged) > MAX_LISTED:
            print(f"newswarc: browse: ... and {len(damaged) - MAX_LISTED} more", file=sys.stderr)
        with running_pywb(root, port) as proc:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(proc, f"{base}/static/_/{COLL}/articles.html", root)
            if not quiet:
                print(f"pywb replays {lines} captures; {count} archived pages are listed at:", file=sys.stderr)
            print(f"{base}/static/_/{COLL}/articles.html", flush=True)
            if not quiet:
                print("Ctrl-C stops it.", file=sys.stderr)
            try:
                while proc.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                if not quiet:
                    print("stopping pywb", file=sys.stderr)
                return 0
            tail = (root / "pywb.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise BrowseError(f"pywb stopped (exit code {proc.returncode}: {tail[0] if tail else 'no output'})")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(root, ignore_errors=True)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
