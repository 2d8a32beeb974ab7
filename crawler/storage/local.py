"""Local-disk storage: the work directory is the output directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from crawler.errors import StorageError
from crawler.storage.base import atomic_write, inside
from crawler.storage.spool import is_finished


class LocalStorage:
    """Output in a local directory; ``commit`` has nothing left to do."""

    def __init__(self, root: str | os.PathLike):
        self.work_dir = Path(root).expanduser().resolve()
        self.uri = str(self.work_dir)
        self.remote = False

    @classmethod
    def from_uri(cls, uri: str, settings=None) -> LocalStorage:
        return cls(uri[len("file://"):] if uri.startswith("file://") else uri)

    def check(self) -> None:
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.work_dir}: cannot create output directory: {exc.strerror}") from None
        if not os.access(self.work_dir, os.W_OK | os.X_OK):
            raise StorageError(f"{self.work_dir}: output directory is not writable")

    def local_path(self, key: str) -> Path:
        path = inside(self.work_dir, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, key: str) -> None:
        if not (self.work_dir / key).exists():
            raise StorageError(f"{self.display(key)}: cannot commit, no such file")

    def write_bytes(self, key: str, data: bytes) -> None:
        atomic_write(inside(self.work_dir, key), data)

    def exists(self, key: str) -> bool:
        return (self.work_dir / key).is_file()

    def open_read(self, key: str) -> BinaryIO:
        return open(self.work_dir / key, "rb")

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self.work_dir / prefix if prefix else self.work_dir
        if base.is_file():
            yield prefix
            return
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and is_finished(path.name):
                yield path.relative_to(self.work_dir).as_posix()

    def sync(self) -> int:
        return 0

    def wait(self) -> None:
        pass

    def spooled(self) -> int:
        return 0

    def upload_counts(self) -> dict[str, int]:
        return {"uploaded": 0, "failed": 0, "bytes_uploaded": 0}

    def close(self) -> None:
        pass

    def display(self, key: str = "") -> str:
        return str(self.work_dir / key) if key else str(self.work_dir)
