"""Crawl state for incremental runs: what was fetched, archived and extracted (SQLite).

One connection guarded by a lock serves the spider (reads on the reactor thread) and the
pipeline (writes from its thread). Writes are batched in one transaction that is committed
every ``commit_every`` writes, every ``commit_interval`` seconds (a small flusher thread)
and on close/flush. WAL mode with ``synchronous=NORMAL`` makes each commit survive a
SIGKILL of the process, so a crash loses at most the last second of writes.

Callers record a fetch only once its output is durable (WARC record written, article
stored): commits keep the order of writes, so a lost write only means that a URL is fetched
again, never that an article is believed archived when it is not.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.errors import StorageError, is_disk_full
from crawler.urlstate import URL_COLUMNS, RunInfo, UrlState, merge_fetch, now_iso, sitemap_entry_seen

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
DEFAULT_FILENAME = Path("state") / "crawl-state.sqlite"

# _MIGRATIONS[v] takes a database from schema version v to v + 1 (0 is an empty file).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    0: (
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE urls (
            url TEXT PRIMARY KEY, first_seen TEXT NOT NULL, fetched_at TEXT, status INTEGER,
            etag TEXT, last_modified TEXT, payload_digest TEXT, article_id TEXT, kind TEXT NOT NULL,
            warc_file TEXT, warc_offset INTEGER, warc_record_id TEXT, date TEXT,
            sitemap_lastmod TEXT, published TEXT) WITHOUT ROWID""",
        """CREATE TABLE digests (payload_digest TEXT PRIMARY KEY, uri TEXT NOT NULL,
            warc_date TEXT NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE text_hashes (text_sha256 TEXT PRIMARY KEY,
            article_id TEXT NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT,
            status TEXT NOT NULL, counts TEXT)""",
        "CREATE TABLE run_seeds (seed TEXT NOT NULL, run_id TEXT NOT NULL, PRIMARY KEY (seed, run_id))",
    ),
    1: (  # near-duplicate signatures (crawler.dataset.neardup owns these tables)
        """CREATE TABLE minhash (article_id TEXT PRIMARY KEY, root_id TEXT NOT NULL,
            similarity REAL, signature BLOB NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE minhash_bands (band INTEGER NOT NULL, bucket INTEGER NOT NULL,
            article_id TEXT NOT NULL, PRIMARY KEY (band, bucket, article_id)) WITHOUT ROWID""",
    ),
}

_UPSERT_URL = (
    f"INSERT OR REPLACE INTO urls ({', '.join(URL_COLUMNS)}) VALUES ({', '.join('?' * len(URL_COLUMNS))})"
)
_SELECT_URL = f"SELECT {', '.join(URL_COLUMNS)} FROM urls WHERE url = ?"

_DIGEST_QUERY = "SELECT uri, warc_date FROM digests WHERE payload_digest = ?"


class DigestReader:
    """The payload digests of a state file, read-only: for the WARC writer process.

    WAL lets it read while the crawl process writes; it sees committed runs only (the writer
    remembers its own run's payloads). A missing or unreadable file means no earlier payloads.
    """

    def __init__(self, path: str | Path):
        self._conn: sqlite3.Connection | None = None
        if Path(path).is_file():
            try:
                self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            except sqlite3.Error as exc:
                logger.warning("Crawl state %s: cannot read the payloads of earlier runs: %s", path, exc)

    def lookup(self, payload_digest: str) -> tuple[str, str] | None:
        """``(uri, warc_date)`` of the first capture with this payload digest, as committed."""
        if self._conn is None:
            return None
        try:
            row = self._conn.execute(_DIGEST_QUERY, (payload_digest,)).fetchone()
        except sqlite3.Error:  # no such table yet (a new state): a full record, never a failure
            return None
        return (row[0], row[1]) if row else None


class CrawlState:
    """The state store of one output location; see the module docstring for durability."""

    def __init__(self, path: str | Path, *, commit_every: int = 1000, commit_interval: float = 1.0):
        self.path = Path(path)
        self._commit_every = commit_every
        self._lock = threading.RLock()
        self._pending = 0
        self._closed = threading.Event()
        # called with where it happened when a commit finds the disk full (the crawl stops: crawl.diskfull)
        self.on_disk_full: list[Callable[[str], None]] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"{self.path}: cannot open crawl state: {exc}") from None
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StorageError(
                f"{self.path}: not a usable newswarc crawl state ({exc}); move it away to start afresh"
            ) from None
        self._flusher = threading.Thread(
            target=self._flush_loop, args=(commit_interval,), name="newswarc-state-flush", daemon=True
        )
        self._flusher.start()

    @classmethod
    def from_settings(cls, settings: Any, output_dir: Path) -> CrawlState:
        """``NEWSWARC_STATE_PATH``, else ``<output_dir>/state/crawl-state.sqlite`` (always local)."""
        path = settings.get("NEWSWARC_STATE_PATH") or Path(output_dir) / DEFAULT_FILENAME
        return cls(Path(path).expanduser())

    # --- schema and transactions

    def _migrate(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")  # two fresh processes must not both create the tables
        try:
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
            ).fetchone()
            row = has_meta and conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"{self.path}: crawl state schema {version} is newer than this newswarc ({SCHEMA_VERSION});"
                    " upgrade newswarc"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    conn.execute(statement)
            if version != SCHEMA_VERSION:
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                logger.info("Crawl state %s: schema %d -> %d", self.path, version, SCHEMA_VERSION)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _write(self, sql: str, params: tuple) -> None:
        """Run one write in the open batch (caller holds the lock)."""
        if self._closed.is_set():
            raise RuntimeError("crawl state is closed")
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            self._full(exc)
            raise
        self._pending += 1
        if self._pending >= self._commit_every:
            self._commit()

    def _commit(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._full(exc)
                raise
        self._pending = 0

    def _full(self, exc: sqlite3.Error) -> None:
        """A write or commit found the disk full: tell the crawls (``on_disk_full``), which stop once."""
        if is_disk_full(exc):
            for stop in list(self.on_disk_full):
                stop("crawl state")

    def _flush_loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            with self._lock:
                if self._pending and not self._closed.is_set():
                    try:
                        self._commit()
                    except sqlite3.Error as exc:
                        # a full disk is said once, by the crawl (on_disk_full); anything else is an error here
                        full = is_disk_full(exc)
                        logger.log(logging.INFO if full else logging.ERROR, "Crawl state %s: commit failed, will retry",
                                   self.path, exc_info=not full)

    def flush(self) -> None:
        """Commit the open batch now (e.g. at the end of a run)."""
        with self._lock:
            self._commit()

    def close(self) -> None:
        """Commit what is pending and close; safe to call twice."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            try:
                self._commit()
            finally:
                self._conn.close()
        self._flusher.join()

    def __enter__(self) -> CrawlState:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- tables of other components (near-duplicate signatures): plain SQL in the open batch

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of a read; it sees this connection's uncommitted writes."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple = ()) -> None:
        """One write in the open batch (committed with it, see the module docstring)."""
        with self._lock:
            self._write(sql, params)

    # --- URLs

    def get(self, url: str) -> UrlState | None:
        """The state of a canonical URL (one primary-key lookup)."""
        with self._lock:
            row = self._conn.execute(_SELECT_URL, (url,)).fetchone()
        return UrlState(*row) if row else None

    def record_fetch(
        self,
        url: str,
        *,
        status: int,
        etag: str | None,
        last_modified: str | None,
        payload_digest: str | None,
        kind: str,
        article_id: str | None = None,
        warc: Mapping | Any | None = None,
        published: str | None = None,
        sitemap_lastmod: str | None = None,
    ) -> None:
        """Remember a fetch of ``url``; call it once the capture (and article) is durable.

        ``warc`` is the capture's location: a mapping or object with ``file``, ``offset``,
        ``record_id`` and ``date`` (WARC-Date). Values not given keep what is stored, so a later
        failed fetch never forgets an archived article; a 304 keeps the pointer to the full capture.
        """
        with self._lock:
            merged = merge_fetch(self.get(url), url, status=status, etag=etag, last_modified=last_modified,
                                 payload_digest=payload_digest, kind=kind, article_id=article_id, warc=warc,
                                 published=published, sitemap_lastmod=sitemap_lastmod)
            self._write(_UPSERT_URL, tuple(merged[name] for name in URL_COLUMNS))

    def is_archived_article(self, url: str) -> bool:
        """Whether ``url`` was stored as an article in an earlier (or this) run."""
        with self._lock:
            row = self._conn.execute("SELECT article_id FROM urls WHERE url = ?", (url,)).fetchone()
        return bool(row and row[0])

    def seen_sitemap_entry(self, url: str, lastmod: datetime | None) -> bool:
        """True (skip it) when ``url`` was fetched fine and ``lastmod`` is not newer than what we know.

        "What we know" is the sitemap lastmod stored with the fetch, else the fetch time. A failed
        last fetch (4xx/5xx) or an unreadable stored time means fetch again.
        """
        return sitemap_entry_seen(self.get(url), lastmod)

    # --- revisits (the archive's RevisitIndex protocol)

    def lookup(self, payload_digest: str) -> tuple[str, str] | None:
        """``(uri, warc_date)`` of the first capture with this payload digest."""
        with self._lock:
            row = self._conn.execute(_DIGEST_QUERY, (payload_digest,)).fetchone()
        return (row[0], row[1]) if row else None

    def add(self, payload_digest: str, uri: str, warc_date: str) -> None:
        """Remember a full capture; the first one of a digest wins."""
        with self._lock:
            self._write(
                "INSERT OR IGNORE INTO digests (payload_digest, uri, warc_date) VALUES (?, ?, ?)",
                (payload_digest, uri, warc_date),
            )

    # --- article dedup across runs

    def has_text_hash(self, text_sha256: str) -> str | None:
        """The id of the article that already has this text, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT article_id FROM text_hashes WHERE text_sha256 = ?", (text_sha256,)
            ).fetchone()
        return row[0] if row else None

    def add_text_hash(self, text_sha256: str, article_id: str) -> None:
        """Claim a text for an article; the first claim wins."""
        with self._lock:
            self._write(
                "INSERT OR IGNORE INTO text_hashes (text_sha256, article_id) VALUES (?, ?)",
                (text_sha256, article_id),
            )

    # --- runs

    def begin_run(self, run_id: str, seeds: list[str]) -> None:
        """Record the start of a run (committed at once: a crashed run stays ``running``)."""
        with self._lock:
            self._write(
                "INSERT OR REPLACE INTO runs (run_id, started_at, ended_at, status, counts)"
                " VALUES (?, ?, NULL, 'running', NULL)",
                (run_id, now_iso()),
            )
            for seed in seeds:
                self._write("INSERT OR IGNORE INTO run_seeds (seed, run_id) VALUES (?, ?)", (seed, run_id))
            self._commit()

    def end_run(self, run_id: str, status: str, counts: Mapping) -> None:
        """Record the end of a run with its outcome and counters (committed at once)."""
        with self._lock:
            self._write(
                "UPDATE runs SET ended_at = ?, status = ?, counts = ? WHERE run_id = ?",
                (now_iso(), status, json.dumps(dict(counts), sort_keys=True, default=str), run_id),
            )
            self._commit()

    def last_run(self, seed: str, *, finished: bool = False) -> RunInfo | None:
        """The latest run of ``seed`` (only ended ones with ``finished=True``)."""
        where = "AND r.ended_at IS NOT NULL" if finished else ""
        with self._lock:
            row = self._conn.execute(
                "SELECT r.run_id, r.started_at, r.ended_at, r.status, r.counts FROM runs r"
                f" JOIN run_seeds s ON s.run_id = r.run_id WHERE s.seed = ? {where}"
                " ORDER BY r.rowid DESC LIMIT 1",
                (seed,),
            ).fetchone()
            if row is None:
                return None
            seeds = self._conn.execute(
                "SELECT seed FROM run_seeds WHERE run_id = ? ORDER BY rowid", (row[0],)
            ).fetchall()
        return RunInfo(
            run_id=row[0], seeds=tuple(s for (s,) in seeds), started_at=row[1], ended_at=row[2],
            status=row[3], counts=json.loads(row[4]) if row[4] else {},
        )  # fmt: skip

    def unfinished_runs(self, seed: str) -> list[str]:
        """Run ids of ``seed`` that started and never ended (killed), oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT r.run_id FROM runs r JOIN run_seeds s ON s.run_id = r.run_id"
                " WHERE s.seed = ? AND r.ended_at IS NULL ORDER BY r.rowid",
                (seed,),
            ).fetchall()
        return [run_id for (run_id,) in rows]
