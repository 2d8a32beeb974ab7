"""How the packages of several runs hang together: ``requires`` and the multi-WACZ ``collection.json``.

A run's revisits may point at captures archived by an earlier run, so its package alone does
not replay them. :func:`requires` finds, in the earlier packages' indexes, the ones that hold
those originals (``datapackage.json`` names them); :func:`write_collection` lists every package
of a directory as one multi-WACZ package (Browsertrix's ``multi-wacz-package`` profile), which
ReplayWeb.page opens as one archive.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

from crawler.storage.base import atomic_write
from crawler.warc import wacz_index

logger = logging.getLogger(__name__)

NAME_UNSAFE = re.compile(r"[^a-z0-9._/-]+")  # what a Frictionless resource name may not hold


def requires(targets: set[tuple[str, str]], earlier: list[Path]) -> list[dict[str, Any]]:
    """The earlier packages holding originals of ``targets`` (removed from ``targets`` as found)."""
    found: list[dict[str, Any]] = []
    for path in sorted(earlier, key=lambda p: p.name, reverse=True):  # newest run first
        if not targets:
            break
        hit = False
        try:
            with zipfile.ZipFile(path) as zf, zf.open("indexes/index.cdx.gz") as fh:
                for line in wacz_index.iter_index_lines(fh):
                    key, ts, rest = line.split(" ", 2)
                    if (key, ts) in targets and '"mime": "warc/revisit"' not in rest:
                        targets.discard((key, ts))
                        hit = True
                digest = json.loads(zf.read("datapackage-digest.json"))["hash"]
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            logger.warning("%s: not a readable WACZ (%s): skipped", path, exc)
            continue
        if hit:
            found.append({"name": path.name, "path": path.name, "datapackage_hash": digest})
    return found


def write_collection(directory: Path, *, title: str = "newswarc archive") -> Path:
    """``collection.json``: a multi-WACZ package listing every ``*.wacz`` of ``directory``.

    ReplayWeb.page opens it as one archive, so revisits of one run's package find their
    originals in another's.
    """
    resources = []
    for path in sorted(directory.glob("*.wacz")):
        with zipfile.ZipFile(path) as zf:
            digest = json.loads(zf.read("datapackage-digest.json"))["hash"]
        resources.append({"name": NAME_UNSAFE.sub("-", path.name.lower()), "path": path.name,
                          "bytes": path.stat().st_size, "datapackage_hash": digest})
    out = directory / "collection.json"
    atomic_write(out, (json.dumps({"profile": "multi-wacz-package", "title": title, "resources": resources},
                                  indent=2) + "\n").encode("utf-8"))
    return out
