"""S3 failures in one line, without secrets: what went wrong, whether a retry may help, whether S3 is down.

botocore is imported inside the functions, as everywhere in the S3 backend: boto3 is an optional
part, and its absence must give one line from :class:`~crawler.storage.s3.storage.S3Storage`,
not an import crash.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

DENIED_CODES = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
                "ExpiredToken", "InvalidToken", "AuthorizationHeaderMalformed"}


TRANSIENT_CODES = {"RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable", "BadDigest",
                   "RequestTimeTooSkewed", "XAmzContentSHA256Mismatch", "InvalidDigest"}


OUTAGE_CODES = {"RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable"}


class IntegrityError(Exception):
    """The object S3 reports differs from the spooled file."""


def _public_url(url: str | None) -> str:
    """An endpoint URL without user:password, query or fragment (safe for messages)."""
    if not url:
        return "the default AWS endpoint"
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return urlunsplit((parts.scheme, f"{host}:{parts.port}" if parts.port else host, parts.path, "", ""))


def describe_error(exc: BaseException, endpoint: str | None) -> tuple[str, bool]:
    """A one-line, secret-free reason for an S3 failure, and whether retrying may help."""
    from botocore import exceptions as bex  # optional: boto3

    seen = _root_error(exc)
    if isinstance(seen, bex.NoCredentialsError | bex.PartialCredentialsError):
        return "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)", False
    if isinstance(seen, bex.ProfileNotFound):
        return "AWS profile not found (check NEWSWARC_S3_PROFILE / AWS_PROFILE)", False
    if isinstance(seen, bex.ConnectionError | bex.HTTPClientError):
        return f"cannot reach endpoint {_public_url(endpoint)}", True
    if isinstance(seen, bex.ClientError):
        error = seen.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "NoSuchBucket" or (code == "404" and seen.operation_name == "HeadBucket"):
            return "bucket does not exist", False
        if code in DENIED_CODES or status == 403:
            return "access denied (check credentials)", False
        if code.startswith("KMS"):
            return f"KMS key problem ({code}; check NEWSWARC_S3_SSE_KMS_KEY_ID)", False
        return f"S3 error {code or status}", code in TRANSIENT_CODES or status >= 500 or status == 0
    if isinstance(seen, IntegrityError):
        return f"integrity check failed: {seen}", True
    if isinstance(seen, OSError):
        return f"cannot read spooled file: {seen.strerror or seen}", False
    if isinstance(seen, bex.BotoCoreError):
        return f"S3 client error ({type(seen).__name__})", False
    return f"upload failed ({type(exc).__name__})", True


def _root_error(exc: BaseException) -> BaseException:
    """The botocore/OS error inside boto3's wrappers (S3UploadFailedError keeps it as __context__)."""
    from botocore import exceptions as bex  # optional: boto3

    seen = exc
    for _ in range(5):
        if isinstance(seen, bex.ClientError | bex.BotoCoreError | IntegrityError | OSError):
            break
        nxt = seen.__cause__ or seen.__context__
        if nxt is None:
            break
        seen = nxt
    return seen


def is_timeout(exc: BaseException) -> bool:
    """Whether S3 did not answer in time (connect or read timeout)."""
    from botocore import exceptions as bex  # optional: boto3

    return isinstance(_root_error(exc), bex.ConnectTimeoutError | bex.ReadTimeoutError)


def is_outage(exc: BaseException) -> bool:
    """Whether a failure means S3 as a whole is unavailable (not just this object)."""
    from botocore import exceptions as bex  # optional: boto3

    seen = _root_error(exc)
    if isinstance(seen, bex.ConnectionError | bex.HTTPClientError):
        return True
    if isinstance(seen, bex.ClientError):
        code = str(seen.response.get("Error", {}).get("Code", ""))
        return code in OUTAGE_CODES or seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return False
