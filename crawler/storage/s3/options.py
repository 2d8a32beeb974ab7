"""An S3 destination from its URI and the ``NEWSWARC_S3_*`` / ``NEWSWARC_SPOOL_*`` settings.

The defaults are those of the one settings table, ``crawler/config/settings.py``, used as well
when the caller has no Scrapy settings (tests, ``newswarc replay`` from ``s3://``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from crawler.config import settings as default_settings
from crawler.errors import StorageError

DEFAULTS: dict[str, Any] = {name: getattr(default_settings, name) for name in dir(default_settings)
                            if name.startswith(("NEWSWARC_S3_", "NEWSWARC_SPOOL_"))}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` → ``("bucket", "some/prefix")``."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise StorageError(f"{uri}: not an S3 URI (use s3://bucket/prefix)")
    return parts.netloc, parts.path.strip("/")


def _setting(settings: Any, name: str, default: Any = None) -> Any:
    value = settings.get(name) if settings is not None else None
    return DEFAULTS.get(name, default) if value is None else value


def _number(settings: Any, name: str, kind: type) -> Any:
    value = _setting(settings, name)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise StorageError(f"{name}: expected a number, got {value!r}") from None


def storage_options(settings: Any = None) -> dict[str, Any]:
    """``S3Storage``'s keyword arguments from Scrapy-style ``settings`` (None: the defaults).

    A number that is not one is a :class:`StorageError` naming the setting.
    """
    return {
        "spool_dir": _setting(settings, "NEWSWARC_SPOOL_DIR"),
        "endpoint_url": _setting(settings, "NEWSWARC_S3_ENDPOINT_URL") or _setting(settings, "AWS_ENDPOINT_URL"),
        "region": _setting(settings, "NEWSWARC_S3_REGION") or _setting(settings, "AWS_REGION_NAME"),
        "profile": _setting(settings, "NEWSWARC_S3_PROFILE"),
        "storage_class": _setting(settings, "NEWSWARC_S3_STORAGE_CLASS"),
        "sse": _setting(settings, "NEWSWARC_S3_SSE"),
        "sse_kms_key_id": _setting(settings, "NEWSWARC_S3_SSE_KMS_KEY_ID"),
        "multipart_threshold": _number(settings, "NEWSWARC_S3_MULTIPART_THRESHOLD", int),
        "multipart_chunksize": _number(settings, "NEWSWARC_S3_MULTIPART_CHUNKSIZE", int),
        "max_attempts": _number(settings, "NEWSWARC_S3_MAX_ATTEMPTS", int),
        "connect_timeout": _number(settings, "NEWSWARC_S3_CONNECT_TIMEOUT", float),
        "read_timeout": _number(settings, "NEWSWARC_S3_READ_TIMEOUT", float),
        "upload_attempts": _number(settings, "NEWSWARC_S3_UPLOAD_ATTEMPTS", int),
        "retry_backoff": _number(settings, "NEWSWARC_S3_RETRY_BACKOFF", float),
        "workers": _number(settings, "NEWSWARC_S3_UPLOAD_WORKERS", int),
    }
