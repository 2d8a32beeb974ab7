"""Plain words for why a fetch failed: what a user reads instead of an exception's class name.

The spider counts failures by kind (``newswarc/crawl/errors/<kind>``) and keeps the first host
of each kind (``newswarc/crawl/error_hosts/<kind>``); the run report and the CLI turn the most
frequent kind into one sentence such as "DNS lookup failed for www.example.com".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crawler.urls import url_host

ERRORS = "newswarc/crawl/errors/"
ERROR_HOSTS = "newswarc/crawl/error_hosts/"

# exception class name (Scrapy's and Twisted's, as the spider counts them) -> sentence
_WORDS = {
    "CannotResolveHostError": "DNS lookup failed for {host}",
    "DNSLookupError": "DNS lookup failed for {host}",
    "DownloadConnectionRefusedError": "{host} refused the connection",
    "ConnectionRefusedError": "{host} refused the connection",
    "DownloadTimeoutError": "{host} did not answer in time",
    "TimeoutError": "{host} did not answer in time",
    "TCPTimedOutError": "{host} did not answer in time",
    "ConnectError": "could not connect to {host}",
    "DownloadFailedError": "the connection to {host} failed",
    "ResponseFailed": "the connection to {host} failed",
    "ResponseNeverReceived": "{host} sent no response",
    "ResponseDataLossError": "{host} cut a response short",
    "ConnectionLost": "the connection to {host} was lost",
    "ConnectionDone": "{host} closed the connection",
    "TunnelError": "the proxy could not reach {host}",
    "Error": "TLS with {host} failed",  # OpenSSL.SSL.Error
    "UnsupportedURLSchemeError": "unsupported URL scheme for {host}",
}


def host_of(url: str) -> str:
    """The host a failure names (the URL itself when it has none; never raises, even on a malformed IPv6)."""
    return url_host(url) or url


def failure_words(kind: str, host: str) -> str:
    """One sentence for a failure kind (``CannotResolveHostError``, ``http_503``...) at a host."""
    if kind.startswith("http_"):
        return f"{host} answered HTTP {kind[5:]}"
    return _WORDS.get(kind, "{kind} from {host}").format(kind=kind, host=host)


def count_failure(stats: Any, kind: str, url: str) -> str:
    """Count a failed fetch of ``url`` in Scrapy's ``stats`` (the first host of each kind is kept for
    the run report) and return its sentence for the log."""
    host = host_of(url)
    stats.inc_value(f"{ERRORS}{kind}")
    if stats.get_value(f"{ERROR_HOSTS}{kind}") is None:
        stats.set_value(f"{ERROR_HOSTS}{kind}", host)
    return failure_words(kind, host)


def main_failure(stats: Mapping[str, Any]) -> str | None:
    """The most frequent failure of a crawl in plain words, or None when nothing failed."""
    kinds = {k[len(ERRORS):]: v for k, v in stats.items() if k.startswith(ERRORS) and isinstance(v, int) and v}
    if not kinds:
        return None
    kind = max(sorted(kinds), key=kinds.__getitem__)
    return failure_words(kind, str(stats.get(ERROR_HOSTS + kind) or "the site"))
