"""``pages/pages.jsonl`` of a WACZ: the entry points an archivist browses and searches.

A page is a capture with status 200 in the package: every archived article (from the crawl's
``articles/**/*.jsonl`` rows, whose WARC pointers name the record) and every start page (the
``metadata`` records with ``route: start``). WARCs from other tools have neither: then every
200 HTML capture is a page, as py-wacz's ``--detect-pages`` does. ``url`` and ``ts`` are the
capture's own (``WARC-Target-URI``, ``WARC-Date``), so ReplayWeb.page and pywb open exactly that
capture; ``title`` and, with ``text=True``, the extracted ``text`` come from the article row.
Rows are streamed twice (pointers first, then the page lines): nothing per article but its
pointer is held in memory.
"""

from __future__ import annotations

import html
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from crawler.warc.reader import WarcRecord

HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.I | re.S)
RECENT = 5_000  # responses remembered for start pages whose metadata record comes later


@dataclass(frozen=True)
class Capture:
    url: str
    ts: str  # WARC-Date
    status: int | None
    mime: str
    source: str  # input name, for reading the record again
    offset: int


def iter_rows(openers: list[Callable[[], IO[bytes]]]) -> Iterator[dict[str, Any]]:
    """Article rows of the crawl's JSONL parts (a damaged line is skipped, never fatal)."""
    for opener in openers:
        with opener() as fh:
            for raw in fh:
                try:
                    row = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(row, dict) and row.get("warc_file") and row.get("warc_offset") is not None:
                    yield row


def pointer(row: dict[str, Any]) -> tuple[str, int]:
    """(WARC file name, offset) of an article row."""
    return str(row["warc_file"]).rsplit("/", 1)[-1].removesuffix(".open"), int(row["warc_offset"])


def html_title(body: bytes) -> str:
    """The <title> of an HTML payload (decoded), or ''."""
    m = _TITLE.search(body[:256 * 1024])
    if not m:
        return ""
    raw = m.group(1)
    for enc in ("utf-8", "cp1252"):
        try:
            return " ".join(html.unescape(raw.decode(enc)).split())
        except UnicodeDecodeError:
            continue
    return ""


class PageCollector:
    """Collects page candidates while the WARCs are scanned; writes pages.jsonl at the end."""

    def __init__(self, wanted: set[tuple[str, int]]):
        self.wanted = wanted  # article pointers (file name, offset)
        self.articles: dict[tuple[str, int], Capture] = {}
        self.starts: list[tuple[str, str, Capture | None]] = []  # (url, fetch-time, capture)
        self.detected: list[Capture] = []
        self._recent: OrderedDict[str, Capture] = OrderedDict()
        self.saw_metadata = False

    def capture(self, rec: WarcRecord, name: str, *, source_offset: int) -> None:
        """A response/revisit of the package (``name``: its input file, ``source_offset`` there)."""
        mime = (rec.http_header("Content-Type") or "").split(";", 1)[0].strip().lower()
        cap = Capture(rec.target_uri, rec.date, rec.http_status, mime, name, source_offset)
        if (name, source_offset) in self.wanted:
            self.articles[(name, source_offset)] = cap
        if cap.status == 200:
            self._recent[rec.record_id] = cap
            if len(self._recent) > RECENT:
                self._recent.popitem(last=False)
            if not self.saw_metadata and mime in ("text/html", "application/xhtml+xml"):
                self.detected.append(cap)  # only for WARCs without metadata records (not ours)

    def metadata(self, rec: WarcRecord, fields: dict[str, list[str]]) -> None:
        if not self.saw_metadata:
            self.saw_metadata = True
            self.detected = []
        if "start" in fields.get("route", []):
            cap = self._recent.get(rec.headers.get("warc-concurrent-to", ""))
            fetch = (fields.get("fetch-time") or [rec.date])[0]
            self.starts.append((rec.target_uri, fetch, cap))

    def write(self, out: IO[bytes], rows: Callable[[], Iterator[dict[str, Any]]], *, text: bool,
              title_of: Callable[[Capture], str]) -> int:
        """Header line + one line per page; returns the page count."""
        out.write((json.dumps(HEADER | {"hasText": bool(text)}) + "\n").encode("utf-8"))
        count, seen = 0, set()

        def emit(page: dict[str, Any]) -> None:
            nonlocal count
            key = (page["url"], page["ts"])
            if key in seen:
                return
            seen.add(key)
            out.write((json.dumps(page, ensure_ascii=False) + "\n").encode("utf-8"))
            count += 1

        for url, _fetch, cap in self.starts:
            if cap is not None and cap.status == 200:
                emit({"id": f"start-{count}", "url": cap.url, "ts": cap.ts, "title": title_of(cap) or url,
                      "route": "start"})
        if self.articles:
            for row in rows():
                cap = self.articles.get(pointer(row))
                if cap is None or cap.status != 200:
                    continue
                page = {"id": row.get("id") or f"a-{count}", "url": cap.url, "ts": cap.ts,
                        "title": row.get("title") or cap.url, "site": row.get("site"),
                        "published": row.get("published")}
                if text and row.get("text"):
                    page["text"] = row["text"]
                emit({k: v for k, v in page.items() if v is not None})
        if not self.saw_metadata and not self.articles:
            for cap in self.detected:
                emit({"id": f"p-{count}", "url": cap.url, "ts": cap.ts, "title": title_of(cap) or cap.url})
        return count


def metadata_fields(body: bytes) -> dict[str, list[str]]:
    """``application/warc-fields`` lines of a metadata record, by name."""
    fields: dict[str, list[str]] = {}
    for line in body.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip().lower(), []).append(value.strip())
    return fields
