"""One storage layer for disk and S3, chosen by the output URI's scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.utils.misc import load_object

from crawler.errors import StorageError
from crawler.storage.base import Storage, atomic_write

STORAGE_BACKENDS = {
    "": "crawler.storage.local.LocalStorage",
    "file": "crawler.storage.local.LocalStorage",
    "s3": "crawler.storage.s3.storage.S3Storage",
}


def open_storage(uri: str, settings=None) -> Storage:
    """The storage backend for ``uri`` (a directory, ``file://...`` or ``s3://bucket/prefix``)."""
    scheme = urlsplit(str(uri)).scheme
    if len(scheme) == 1:  # a Windows drive letter is a path, not a scheme
        scheme = ""
    if scheme not in STORAGE_BACKENDS:
        raise StorageError(f"{uri}: unknown output scheme {scheme!r} (use a directory or s3://bucket/prefix)")
    return load_object(STORAGE_BACKENDS[scheme]).from_uri(str(uri), settings)


__all__ = ["Storage", "StorageError", "atomic_write", "open_storage"]
