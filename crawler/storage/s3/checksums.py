"""What S3 must hold before a spooled file is deleted: our size and our SHA-256, whole or per part.

A single PUT carries the file's SHA-256, which S3 checks on arrival. A multipart upload's object
checksum is the SHA-256 of its parts' SHA-256s ("checksum of checksums"), so the parts are hashed
where the transfer manager will cut them (s3transfer's own ``ChunksizeAdjuster``): one pass over
the file gives both, before the upload starts, and ``HeadObject`` afterwards must report the one
that applies.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.storage.s3.errors import IntegrityError

READ_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class FileDigests:
    size: int
    whole: str  # base64 SHA-256 of the file (single PUT)
    composite: str  # base64 SHA-256 of the concatenated part SHA-256s (multipart)
    parts: int


def file_digests(path: Path, size: int, multipart_chunksize: int) -> FileDigests:
    """SHA-256 of the file and of its parts (as the transfer manager will cut them), one pass."""
    from s3transfer.utils import ChunksizeAdjuster  # optional: boto3

    part_size = ChunksizeAdjuster().adjust_chunksize(multipart_chunksize, size)
    whole, part, parts = hashlib.sha256(), hashlib.sha256(), []
    left = part_size
    with open(path, "rb") as fh:
        while chunk := fh.read(min(READ_BUFFER, left)):
            whole.update(chunk)
            part.update(chunk)
            left -= len(chunk)
            if not left:
                parts.append(part.digest())
                part, left = hashlib.sha256(), part_size
    if left != part_size or not parts:
        parts.append(part.digest())
    composite = hashlib.sha256(b"".join(parts)).digest()
    return FileDigests(size, base64.b64encode(whole.digest()).decode(), base64.b64encode(composite).decode(),
                       len(parts))


def matches_head(head: dict[str, Any], digests: FileDigests) -> bool:
    """Whether ``HeadObject``'s answer shows our SHA-256; False when the server reports none (size checked).

    Raises :class:`IntegrityError` when the size or the reported checksum differs.
    """
    if head["ContentLength"] != digests.size:
        raise IntegrityError(f"size {head['ContentLength']} != {digests.size}")
    remote = head.get("ChecksumSHA256")
    if remote is None:
        return False
    multipart = "-" in head.get("ETag", "") or head.get("ChecksumType") == "COMPOSITE"
    expected = digests.composite if multipart else digests.whole
    if remote.split("-")[0] != expected:
        raise IntegrityError("SHA-256 differs from the spooled file")
    return True
