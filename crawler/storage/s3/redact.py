"""Secret-free SDK logs: signatures, credentials and session tokens never reach a log line."""

from __future__ import annotations

import logging
import re

# SDK loggers: capped at INFO unless the user set a level (their DEBUG output is a few dozen lines
# per request); those that print requests get RedactSecrets.
SDK_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")


LEAKY_LOGGERS = ("botocore.auth", "botocore.endpoint", "botocore.awsrequest", "botocore.parsers",
                 "botocore.httpsession", "botocore.retryhandler", "urllib3.connectionpool")


_SECRETS = re.compile(
    r"(?P<k>(?:X-Amz-)?(?:Signature|Credential|Security-Token)=)[^\s,&'\"]+"
    r"|(?P<h>'(?:Authorization|X-Amz-Security-Token)': b?')[^']*"
    r"|(?P<s>Signature:\s*)[0-9a-f]{64}"
    r"|(?P<t>X-Amz-Security-Token:)[^\n]*",
    re.IGNORECASE,
)


class RedactSecrets(logging.Filter):
    """Masks signatures, credential scopes and session tokens in a record (botocore's DEBUG lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = _SECRETS.sub(lambda m: next(g for g in m.groups() if g is not None) + "***", message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def protect_sdk_logs() -> None:
    """Install :class:`RedactSecrets` on the SDK loggers that print requests (idempotent)."""
    for name in SDK_LOGGERS:
        sdk = logging.getLogger(name)
        if sdk.level == logging.NOTSET:
            sdk.setLevel(logging.INFO)
    for name in LEAKY_LOGGERS:
        leaky = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in leaky.filters):
            leaky.addFilter(RedactSecrets())
