"""What a WACZ is made of: WARC files and article rows, from a crawl's output or from files.

A crawl's output (a directory or a :mod:`crawler.storage` location) has ``warc/*.warc.gz``
and ``articles/SITE/RUN_ID*.jsonl``; any other directory is searched for WARC files. Files
still being written (``.open``) are never packaged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from crawler.warc.wacz import WaczInputError, WarcInput

WARC_SUFFIXES = (".warc", ".warc.gz")


def _is_warc(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES)


def local_inputs(specs: list[str]) -> tuple[list[WarcInput], list[Callable[[], IO[bytes]]]]:
    """WARCs and article JSONL parts of crawl output directories, other directories and WARC files."""
    warcs: list[Path] = []
    jsonl: list[Path] = []
    for spec in specs:
        path = Path(spec).expanduser()
        if path.is_dir():
            if (path / "warc").is_dir():
                warcs += sorted(p for p in (path / "warc").iterdir() if p.is_file() and _is_warc(p.name))
                jsonl += sorted(p for p in path.glob("articles/**/*.jsonl") if p.is_file())
            else:
                warcs += sorted(p for p in path.rglob("*") if p.is_file() and _is_warc(p.name))
        elif path.is_file() and _is_warc(path.name):
            warcs.append(path)
        elif path.is_file():
            raise WaczInputError(f"{spec}: not a WARC file (.warc or .warc.gz) or an archive directory")
        else:
            raise WaczInputError(f"{spec}: no such file or directory")
    if not warcs:
        raise WaczInputError(f"{' '.join(specs)}: no WARC files found")
    unique = list(dict.fromkeys(p.resolve() for p in warcs))
    inputs = [WarcInput(p.name, functools.partial(open, p, "rb"), p.stat().st_size) for p in unique]
    return inputs, [functools.partial(open, p, "rb") for p in dict.fromkeys(jsonl)]


def storage_inputs(storage: Any, *, warc_keys: list[str] | None = None, run_id: str | None = None
                   ) -> tuple[list[WarcInput], list[Callable[[], IO[bytes]]]]:
    """The same from a storage location (disk or S3); ``warc_keys``/``run_id`` limit it to one run."""
    keys = warc_keys if warc_keys is not None else [k for k in storage.list("warc/") if _is_warc(k)]
    inputs = [WarcInput(k.rsplit("/", 1)[-1], functools.partial(storage.open_read, k)) for k in keys]
    parts = [k for k in storage.list("articles/") if k.endswith(".jsonl")
             and (run_id is None or k.rsplit("/", 1)[-1].startswith(run_id))]
    return inputs, [functools.partial(storage.open_read, k) for k in parts]
