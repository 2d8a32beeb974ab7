"""The output lock of an S3 destination across machines: a lease object with an expiry.

``<prefix>/state/locks/output.lease`` holds who writes the destination (command, host, pid) and
until when. It is created with ``If-None-Match: *`` (S3 conditional writes), renewed in the
background with ``If-Match`` on its ETag, and deleted when the command ends. A lease that has
expired (its holder was killed, or lost the network), or whose holder on this machine has exited,
is taken over, again with ``If-Match``, so
of two takers only one wins. The local ``flock`` on the spool (``storage.lock``) still keeps the
runs of one machine apart before any request is made.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import Any

from crawler.errors import StorageError
from crawler.storage.lock import IN_USE, OutputBusy
from crawler.storage.s3.errors import describe_error

logger = logging.getLogger(__name__)

LEASE_KEY = "state/locks/output.lease"
LEASE_SECONDS = 300.0  # a killed holder blocks the destination this long at most


class S3Lease:
    """``acquire()`` or :class:`~crawler.storage.lock.OutputBusy`; renewed until ``release()``."""

    def __init__(self, storage: Any, holder: str, ttl: float = LEASE_SECONDS):
        self.storage, self.holder, self.ttl = storage, holder, float(ttl)
        self.key = storage._s3_key(LEASE_KEY)
        self.etag: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _body(self) -> bytes:
        return json.dumps({"holder": self.holder, "host": socket.gethostname(), "pid": os.getpid(),
                           "expires": time.time() + self.ttl}).encode()

    def _put(self, client: Any = None, **condition: str) -> str:
        client = client or self.storage._client
        return client.put_object(Bucket=self.storage.bucket, Key=self.key, Body=self._body(), **condition)["ETag"]

    def acquire(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # optional: boto3

        try:
            try:
                self.etag = self._put(IfNoneMatch="*")
            except ClientError as exc:
                if not _held(exc):
                    raise
                current = self.storage._client.get_object(Bucket=self.storage.bucket, Key=self.key)
                lease = _parse(current["Body"].read())
                if lease.get("expires", 0) > time.time() and not _dead_here(lease):
                    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(lease["expires"]))
                    raise OutputBusy(f"{self.storage.uri} {IN_USE} ({lease.get('holder', '?')} "
                                     f"on {lease.get('host', '?')}, pid {lease.get('pid', '?')}; lease until {until}); "
                                     f"run again when it has ended") from None
                self.etag = self._put(IfMatch=current["ETag"])  # expired: take it over (one taker wins)
                logger.info("%s: took over an expired lease of %s", self.storage.uri, lease.get("holder", "?"))
        except ClientError as exc:
            if _held(exc):
                raise OutputBusy(f"{self.storage.uri} {IN_USE} (it took the lease "
                                 f"a moment ago); run again when it has ended") from None
            raise StorageError(f"{self.storage.display(LEASE_KEY)}: {self._why(exc)}") from None
        except BotoCoreError as exc:
            raise StorageError(f"{self.storage.display(LEASE_KEY)}: {self._why(exc)}") from None
        self._thread = threading.Thread(target=self._renew, name="newswarc-lease", daemon=True)
        self._thread.start()

    def _why(self, exc: BaseException) -> str:
        """The one-line reason, naming the configured endpoint (not the default AWS one) when it is unreachable."""
        return describe_error(exc, self.storage.endpoint_url)[0]

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.etag = self._put(self.storage._check_client, IfMatch=self.etag or "")  # one attempt
            except Exception as exc:  # noqa: BLE001 - S3 down a while: the next renewal tries again
                if _held(exc):  # it expired (S3 was unreachable too long) and another run took it over
                    logger.warning("%s: the output lease was taken over by another run; no longer renewing it",
                                   self.storage.uri)
                    self.etag = None  # not ours: release() leaves it alone
                    return
                logger.warning("%s: could not renew the output lease: %s", self.storage.uri, self._why(exc))

    def release(self) -> None:
        self._stop.set()
        if self.etag is None:
            return
        client = self.storage._check_client  # one attempt each: S3 gone at exit must not hold the exit up
        try:
            head = client.head_object(Bucket=self.storage.bucket, Key=self.key)
            if head.get("ETag") == self.etag:  # still ours
                client.delete_object(Bucket=self.storage.bucket, Key=self.key)
        except Exception as exc:  # noqa: BLE001 - it expires by itself
            logger.debug("%s: could not delete the output lease: %s", self.storage.uri, exc)
        self.etag = None


def _dead_here(lease: dict) -> bool:
    """A lease of this machine whose process has exited (killed, or S3 was down when it ended)."""
    if lease.get("host") != socket.gethostname() or not isinstance(lease.get("pid"), int):
        return False
    try:
        os.kill(lease["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _held(exc: BaseException) -> bool:
    """A conditional write refused (412 precondition failed, 409 conflict): another run holds the lease.

    By code or by HTTP status: a 412 may come without an error body (and so without a code).
    """
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409") or status in (409, 412)


def _parse(data: bytes) -> dict:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
