"""S3 storage: files are built in a local spool, uploaded by a thread pool, deleted once confirmed.

Integrity: every upload asks S3 for a SHA-256 checksum (``ChecksumAlgorithm="SHA256"``), so
S3 rejects corrupted parts; afterwards ``HeadObject`` must report our size and our SHA-256
(of the whole file for a single PUT, the "checksum of part checksums" for a multipart
upload; :mod:`crawler.storage.s3.checksums`). Only then is the local copy deleted. What fails
stays spooled for :meth:`sync`.
Credentials come from boto3's chain only (environment, shared profile, instance role), and
signatures never reach a log: botocore's records are redacted
(:class:`~crawler.storage.s3.redact.RedactSecrets`). boto3 and botocore are imported inside the
methods that use them: a missing boto3 is one line of error, not an import crash.

Outages: when S3 stays unreachable after the retries, uploads pause for ``outage_pause``
seconds; files committed meanwhile stay in the spool at once (one WARNING each) instead of
each waiting through its own retries, so a crawl ends on time and ``sync`` uploads them later.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from pathlib import Path
from typing import Any, BinaryIO

from crawler.errors import StorageError
from crawler.storage.base import atomic_write, inside
from crawler.storage.s3.checksums import FileDigests, file_digests, matches_head
from crawler.storage.s3.errors import IntegrityError, _public_url, describe_error, is_outage, is_timeout
from crawler.storage.s3.options import DEFAULTS, parse_s3_uri, storage_options
from crawler.storage.s3.redact import protect_sdk_logs
from crawler.storage.spool import claim_spool, default_spool_dir, is_finished, prune_empty_dirs, spooled_keys

logger = logging.getLogger(__name__)

SSE_VALUES = ("AES256", "aws:kms")
OUTAGE_PAUSE = 60.0  # seconds without upload attempts after S3 stayed unreachable


class S3Storage:
    """Output under ``s3://bucket/prefix``, built in a local spool and uploaded on commit."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        spool_dir: str | os.PathLike | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        storage_class: str | None = None,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
        multipart_threshold: int = DEFAULTS["NEWSWARC_S3_MULTIPART_THRESHOLD"],
        multipart_chunksize: int = DEFAULTS["NEWSWARC_S3_MULTIPART_CHUNKSIZE"],
        max_attempts: int = DEFAULTS["NEWSWARC_S3_MAX_ATTEMPTS"],
        connect_timeout: float = DEFAULTS["NEWSWARC_S3_CONNECT_TIMEOUT"],
        read_timeout: float = DEFAULTS["NEWSWARC_S3_READ_TIMEOUT"],
        upload_attempts: int = DEFAULTS["NEWSWARC_S3_UPLOAD_ATTEMPTS"],
        retry_backoff: float = DEFAULTS["NEWSWARC_S3_RETRY_BACKOFF"],
        workers: int = DEFAULTS["NEWSWARC_S3_UPLOAD_WORKERS"],
        outage_pause: float = OUTAGE_PAUSE,
    ):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        if sse not in (None, *SSE_VALUES):
            raise StorageError(f"{self.uri}: NEWSWARC_S3_SSE must be one of {', '.join(SSE_VALUES)}, got {sse!r}")
        if sse_kms_key_id and sse != "aws:kms":
            raise StorageError(f"{self.uri}: NEWSWARC_S3_SSE_KMS_KEY_ID needs NEWSWARC_S3_SSE = \"aws:kms\"")
        try:
            import boto3  # optional: a missing boto3 is one line of error below
            from boto3.exceptions import Boto3Error
            from boto3.s3.transfer import TransferConfig
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError  # optional: boto3
        except ImportError as exc:
            raise StorageError(f"{self.uri}: the S3 backend needs boto3 ({exc.msg}); pip install boto3") from None
        protect_sdk_logs()
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        spool = spool_dir or default_spool_dir(bucket, self.prefix, self.endpoint_url)
        self.work_dir = claim_spool(spool, f"{self.uri} {_public_url(self.endpoint_url)}")
        self.extra_args: dict[str, str] = {"ChecksumAlgorithm": "SHA256"}
        if storage_class:
            self.extra_args["StorageClass"] = storage_class
        if sse:
            self.extra_args["ServerSideEncryption"] = sse
        if sse_kms_key_id:
            self.extra_args["SSEKMSKeyId"] = sse_kms_key_id
        self.workers = max(1, int(workers))
        self.upload_attempts = max(1, int(upload_attempts))
        self.retry_backoff = float(retry_backoff)
        self.outage_pause = float(outage_pause)
        self._paused_until = 0.0  # time.monotonic() before which uploads are not attempted
        self._pause_reason = ""
        self.multipart_threshold = int(multipart_threshold)
        self.multipart_chunksize = int(multipart_chunksize)
        per_upload = 4
        self._transfer = TransferConfig(multipart_threshold=self.multipart_threshold,
                                        multipart_chunksize=self.multipart_chunksize, max_concurrency=per_upload)
        config = Config(retries={"total_max_attempts": max(1, int(max_attempts)), "mode": "standard"},
                        connect_timeout=float(connect_timeout), read_timeout=float(read_timeout),
                        max_pool_connections=self.workers * per_upload + 4)
        try:
            session = boto3.session.Session(profile_name=profile or None, region_name=region or None)
            self._client = session.client("s3", endpoint_url=endpoint_url or None, config=config)
            # the start-up check asks once: no answer within the timeouts means unusable (exit 3)
            self._check_client = session.client("s3", endpoint_url=endpoint_url or None, config=config.merge(
                Config(retries={"total_max_attempts": 1, "mode": "standard"})))
        except BotoCoreError as exc:
            raise StorageError(f"{self.uri}: {describe_error(exc, self.endpoint_url)[0]}") from None
        self.endpoint_url = self._client.meta.endpoint_url
        self.uploaded = self.failed = self.bytes_uploaded = 0
        self.remote = True
        self._lock = threading.RLock()
        self._pending: dict[str, Future] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._expected_errors = (BotoCoreError, ClientError, Boto3Error, IntegrityError, OSError)

    @classmethod
    def from_uri(cls, uri: str, settings: Any = None) -> S3Storage:
        """Build from ``s3://bucket/prefix`` and the ``NEWSWARC_S3_*`` settings (None: defaults)."""
        bucket, prefix = parse_s3_uri(uri)
        return cls(bucket, prefix, **storage_options(settings))

    # --- the Storage interface

    def check(self) -> None:
        """The bucket exists and we may write under the prefix (a tiny marker put + delete)."""
        from botocore.exceptions import BotoCoreError, ClientError  # optional: boto3

        try:
            try:
                self._check_client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:  # 403 without s3:ListBucket: the put below decides
                if describe_error(exc, self.endpoint_url)[0] != "access denied (check credentials)":
                    raise
            marker = self._s3_key(f".newswarc-check-{uuid.uuid4().hex}")
            self._check_client.put_object(Bucket=self.bucket, Key=marker, Body=b"", **self._put_args())
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"{self.uri}: {describe_error(exc, self.endpoint_url)[0]}") from None
        try:
            self._check_client.delete_object(Bucket=self.bucket, Key=marker)
        except (BotoCoreError, ClientError) as exc:  # write-only (append-only) buckets are fine
            logger.warning("%s: could not delete check marker %s: %s", self.uri, marker,
                           describe_error(exc, self.endpoint_url)[0])

    def local_path(self, key: str) -> Path:
        path = self._spool_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, key: str) -> None:
        """Queue ``key`` for upload and return at once; failures stay spooled (see :meth:`sync`)."""
        if not self._spool_path(key).is_file():
            raise StorageError(f"{self.display(key)}: cannot commit, no such file in spool {self.work_dir}")
        self._submit(key, logging.INFO)

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write to the spool (atomically) and queue the upload; many small objects go in parallel."""
        atomic_write(self._spool_path(key), data)
        self._submit(key, logging.DEBUG)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError  # optional: boto3

        self._wait_for(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._s3_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"{self.display(key)}: {describe_error(exc, self.endpoint_url)[0]}") from None
        except BotoCoreError as exc:
            raise StorageError(f"{self.display(key)}: {describe_error(exc, self.endpoint_url)[0]}") from None
        return True

    def open_read(self, key: str) -> BinaryIO:
        """A streaming body (read in chunks; never loaded whole)."""
        from botocore.exceptions import BotoCoreError, ClientError  # optional: boto3

        self._wait_for(key)
        try:
            return self._client.get_object(Bucket=self.bucket, Key=self._s3_key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(self.display(key)) from None
            raise StorageError(f"{self.display(key)}: {describe_error(exc, self.endpoint_url)[0]}") from None
        except BotoCoreError as exc:
            raise StorageError(f"{self.display(key)}: {describe_error(exc, self.endpoint_url)[0]}") from None

    def list(self, prefix: str = "") -> Iterator[str]:
        """Committed keys under ``prefix`` (a key or a directory, as for local output), sorted."""
        from botocore.exceptions import BotoCoreError, ClientError  # optional: boto3

        self.wait()
        prefix = prefix.strip("/")
        base = f"{self.prefix}/" if self.prefix else ""
        keys: list[str] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix)
            for page in pages:
                for obj in page.get("Contents", ()):
                    rel = obj["Key"][len(base):]
                    if prefix and rel != prefix and not rel.startswith(prefix + "/"):
                        continue
                    if is_finished(rel.rsplit("/", 1)[-1]):
                        keys.append(rel)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"{self.display(prefix)}: {describe_error(exc, self.endpoint_url)[0]}") from None
        yield from sorted(keys)

    def sync(self) -> int:
        """Upload every finished file in the spool; returns how many were uploaded."""
        with self._lock:
            self._paused_until = 0.0  # an explicit request: try now, even after an outage
            futures = [self._submit(key, logging.INFO) for key in spooled_keys(self.work_dir)
                       if key not in self._pending]
        wait_futures(futures)
        self.wait()
        return sum(1 for fut in futures if fut.result())

    def wait(self) -> None:
        """Block until every queued upload has finished (successfully or not)."""
        while True:
            with self._lock:
                pending = list(self._pending.values())
            if not pending:
                return
            wait_futures(pending)

    def close(self) -> None:
        """Wait for pending uploads; what failed stays spooled for :meth:`sync`."""
        self.wait()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        if self.failed and (left := self.spooled()):
            logger.warning("%s: %d file(s) could not be uploaded and stay in the spool %s; "
                           "run `newswarc sync` to upload them", self.uri, left, self.work_dir)

    def display(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self._s3_key(key)}" if key else self.uri

    def spooled(self) -> int:
        """How many finished files wait in the spool (not uploaded yet, or failed)."""
        return sum(1 for _ in spooled_keys(self.work_dir))

    def upload_counts(self) -> dict[str, int]:
        return {"uploaded": self.uploaded, "failed": self.failed, "bytes_uploaded": self.bytes_uploaded}

    # --- internals

    def _s3_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _spool_path(self, key: str) -> Path:
        return inside(self.work_dir, key)

    def _put_args(self) -> dict[str, str]:
        return {k: v for k, v in self.extra_args.items() if k != "ChecksumAlgorithm"}

    def _submit(self, key: str, level: int) -> Future:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="newswarc-s3")
            previous = self._pending.get(key)  # same key again: upload after the earlier one
            fut = self._pool.submit(self._upload, key, previous, level)
            self._pending[key] = fut
        fut.add_done_callback(lambda f, k=key: self._forget(k, f))
        return fut

    def _forget(self, key: str, fut: Future) -> None:
        with self._lock:
            if self._pending.get(key) is fut:
                del self._pending[key]

    def _wait_for(self, key: str) -> None:
        with self._lock:
            fut = self._pending.get(key)
        if fut is not None:
            wait_futures([fut])

    def _upload(self, key: str, previous: Future | None, level: int) -> bool:
        """Upload one spooled file (in a pool thread); True when it is safely in S3."""
        if previous is not None:
            wait_futures([previous])
        path = self._spool_path(key)
        try:
            before = path.stat()
        except FileNotFoundError:
            return True  # an earlier commit of the same key already uploaded it
        try:
            digests = file_digests(path, before.st_size, self.multipart_chunksize)
        except OSError as exc:
            return self._failed(key, path, describe_error(exc, self.endpoint_url)[0])
        reason, error = "", None
        for attempt in range(self.upload_attempts):
            if paused := self._paused():
                return self._failed(key, path, paused)
            if attempt:
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            try:
                if digests.size < self.multipart_threshold:
                    self._put(key, path, digests)
                else:
                    self._client.upload_file(str(path), self.bucket, self._s3_key(key),
                                             ExtraArgs=self.extra_args, Config=self._transfer)
                    self._verify(key, digests)
                break
            except self._expected_errors as exc:
                error = exc
                reason, transient = describe_error(exc, self.endpoint_url)
                logger.debug("%s: upload attempt %d failed: %s", self.display(key), attempt + 1, reason)
                if is_timeout(exc):  # botocore retried already: S3 does not answer, wait no longer
                    self._pause(reason)
                    return self._failed(key, path, reason)
                if not transient:
                    return self._failed(key, path, reason)
            except Exception:
                logger.error("unexpected error uploading %s; kept in spool", self.display(key), exc_info=True)
                return self._failed(key, path, "unexpected error")
        else:
            if error is not None and is_outage(error):
                self._pause(reason)
            return self._failed(key, path, reason)
        with self._lock:
            self._paused_until = 0.0  # S3 answers again
        try:
            after = path.stat()
            if (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size,
                                                                    before.st_mtime_ns):
                path.unlink()  # rewritten meanwhile? then the queued newer commit uploads and deletes it
        except FileNotFoundError:
            pass
        with self._lock:
            self.uploaded += 1
            self.bytes_uploaded += digests.size
        logger.log(level, "uploaded %s (%d bytes)", self.display(key), digests.size)
        return True

    def _paused(self) -> str:
        """Why uploads are paused (empty when they are not)."""
        with self._lock:
            if time.monotonic() < self._paused_until:
                return f"{self._pause_reason} (uploads paused after repeated failures)"
            return ""

    def _pause(self, reason: str) -> None:
        with self._lock:
            if time.monotonic() < self._paused_until:
                return
            self._paused_until, self._pause_reason = time.monotonic() + self.outage_pause, reason
        logger.info("%s: %s after %d attempts: uploads paused for %g s, files stay in the spool",
                    self.uri, reason, self.upload_attempts, self.outage_pause)

    def _failed(self, key: str, path: Path, reason: str) -> bool:
        with self._lock:
            self.failed += 1
        logger.warning("S3 upload failed, kept in spool: %s -> %s: %s", path, self.display(key), reason)
        return False

    def _verify(self, key: str, digests: FileDigests) -> None:
        """The stored object has our size and our SHA-256 (when the server reports checksums)."""
        head = self._client.head_object(Bucket=self.bucket, Key=self._s3_key(key), ChecksumMode="ENABLED")
        if not matches_head(head, digests):
            logger.debug("%s: server reports no SHA-256; verified size only", self.display(key))

    def _put(self, key: str, path: Path, digests: FileDigests) -> None:
        """One PUT streamed from the file, carrying our SHA-256: S3 rejects a body that differs."""
        with open(path, "rb") as body:
            response = self._client.put_object(Bucket=self.bucket, Key=self._s3_key(key), Body=body,
                                               ChecksumSHA256=digests.whole, **self._put_args())
        remote = response.get("ChecksumSHA256")
        if remote is None:  # some S3-compatible servers do not echo it: ask
            self._verify(key, digests)
        elif remote != digests.whole:
            raise IntegrityError("SHA-256 differs from the spooled file")



def sync_spool(uri: str, settings: Any = None) -> tuple[int, int]:
    """Upload what a previous run left in the spool of ``uri``: (uploaded, still spooled)."""
    storage = S3Storage.from_uri(uri, settings)
    try:
        storage.check()
        uploaded = storage.sync()
    finally:
        storage.close()
    prune_empty_dirs(storage.work_dir)
    return uploaded, storage.spooled()
