"""JSON for requests in the shared queue (scrapy-redis ``SCHEDULER_SERIALIZER``), instead of pickle.

scrapy-redis hands ``Request.to_dict()`` to ``dumps`` and ``loads``' result to
``request_from_dict``: callbacks travel by name, so a queue outlives a code upgrade and any
worker can read any other's requests. ``to_dict`` holds bytes (headers, body): they are tagged
as base64. A meta value that has no JSON form (a live object some middleware keeps, such as
the WARC capture's future) is dropped: it belongs to the process that made it, not to the queue.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

logger = logging.getLogger(__name__)

_BYTES = "__b64__"
_dropped: set[str] = set()


def _encode(value: Any, path: str = "") -> Any:
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            k = k.decode("latin-1") if isinstance(k, bytes) else str(k)  # header names: Headers takes str
            try:
                out[k] = _encode(v, f"{path}.{k}")
            except TypeError:
                if path == ".meta" or path.startswith(".meta."):
                    _drop(f"{path}.{k}", v)
                    continue
                raise
        return out
    if isinstance(value, list | tuple):
        return [_encode(v, f"{path}[]") for v in value]
    raise TypeError(f"{path or 'request'}: {type(value).__name__} has no JSON form")


def _drop(path: str, value: Any) -> None:
    if path not in _dropped:
        _dropped.add(path)
        logger.debug("Request%s (%s) is not kept in the shared queue", path, type(value).__name__)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _BYTES in value:
            return base64.b64decode(value[_BYTES])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


# what Request() takes when a key is missing: not stored (a queued request is a few hundred bytes less)
_DEFAULTS = {"headers": {}, "body": b"", "cookies": {}, "encoding": "utf-8", "flags": [], "cb_kwargs": {},
             "dont_filter": False, "method": "GET", "callback": None, "errback": None, "priority": 0, "meta": {}}


def dumps(obj: dict) -> str:
    """A request's ``to_dict()`` as compact JSON, without the values every request has by default."""
    return json.dumps({k: _encode(v, f".{k}") for k, v in obj.items() if k not in _DEFAULTS or v != _DEFAULTS[k]},
                      separators=(",", ":"), sort_keys=True)


def loads(data: bytes | str) -> dict:
    """The dict for ``request_from_dict`` (headers, body and cookies as they were)."""
    return _decode(json.loads(data))
