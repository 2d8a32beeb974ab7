"""``replay()``: the public entry of a replay, from WARC sources to a directory, ``s3://`` or JSONL.

Apart from :class:`~crawler.replay.replayer.Replayer` (the engine: records in, pages to the pool,
articles out in input order): this opens what the engine reads and writes, checks the output
before any record is read, and writes the run report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, Any

from crawler.context import new_run_id
from crawler.output.writer import JsonlOnly, OutputWriter, StdoutStream
from crawler.replay.options import ReplayError, ReplayOptions, ReplayResult
from crawler.replay.replayer import Progress, Replayer
from crawler.replay.report import replay_report
from crawler.storage import open_storage
from crawler.warc.sources import open_sources

__all__ = ["replay"]


def replay(sources: Sequence[str], *, out: str | None = None, jsonl: IO[str] | StdoutStream | None = None,
           options: ReplayOptions | None = None, settings: Any = None, run_id: str | None = None,
           progress: Progress | None = None) -> ReplayResult:
    """Replay WARC sources into ``out`` (a directory or ``s3://``) and/or a JSONL stream.

    ``jsonl`` a :class:`StdoutStream` (``--jsonl -``): the replay stops when its reader goes away.

    Raises :class:`ReplayError` (nothing to write, no such source) and ``StorageError``
    (unusable output) before reading anything. Damaged input is reported in the result.
    """
    options = options or ReplayOptions()
    if not out and jsonl is None:
        raise ReplayError("replay: nothing to write; give --out DIR|s3://BUCKET/PREFIX and/or --jsonl -|FILE")
    if not sources:
        raise ReplayError("replay: no SOURCE given")
    try:
        source_set = open_sources(sources, settings)
    except FileNotFoundError as exc:
        raise ReplayError(str(exc)) from None
    run_id = run_id or new_run_id()
    started = datetime.now(UTC)
    storage = None
    try:
        if out:
            storage = open_storage(out, settings)
            storage.check()
            writer: Any = OutputWriter(storage, run_id=run_id, jsonl_stdout=jsonl)
        else:
            writer = JsonlOnly(jsonl)
        replayer = Replayer(writer, options, progress=progress)
        if isinstance(jsonl, StdoutStream):
            jsonl.subscribe(replayer.stop)
        try:
            result = replayer.run(source_set)
        finally:
            writer.close()
        result.run_id = run_id
        if storage is not None:
            report = replay_report(result, run_id=run_id, sources=sources, seed=options.seed,
                                   output=storage.display(), started=started, finished=datetime.now(UTC))
            storage.write_bytes(f"runs/{run_id}-replay.json",
                                json.dumps(report, indent=2, sort_keys=True).encode() + b"\n")
    finally:
        source_set.close()
        if storage is not None:
            storage.close()
    return result
