"""URL canonicalization: one spelling per page, so dedup, state and article IDs agree.

Two URLs that differ only by a fragment, tracking parameters, parameter order, host case,
a default port or percent-encoding style are the same page to a news archive. Path case and
trailing slashes are kept: servers may treat them as different resources.

:class:`DigestSet` is the compact set behind every per-URL memory of a run (the spider's
requested and emitted URLs, a sitemap's locs, the crawl's dupefilter, the article dedup): 8 bytes
a member instead of the 150-250 bytes of a Python ``set`` of strings, so that a crawl's memory
stays flat in its size.
"""

from __future__ import annotations

import functools
import logging
import re
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import numpy as np
from w3lib.url import canonicalize_url as _w3lib_canonicalize
from w3lib.url import safe_url_string

logger = logging.getLogger(__name__)

# Parameters that only say how a reader arrived; they never change the page.
TRACKING_PARAMS: frozenset[str] = frozenset(
    (
        "fbclid gclid gclsrc dclid gbraid wbraid msclkid yclid twclid ttclid li_fat_id igshid "
        "mc_cid mc_eid _ga _gl ref_src ref_url _hsenc _hsmi __hstc __hssc __hsfp hsctatracking "
        "mkt_tok vero_id vero_conv oly_anon_id oly_enc_id rb_clickid s_kwcid ncid ocid cmpid "
        "at_medium at_campaign at_custom1 at_custom2 at_custom3 at_custom4 sr_share smid xtor"
    ).split()
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hmb_")

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    """True for a query parameter name that only tracks the visit (``utm_*``, ``fbclid``...)."""
    key = name.strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _clean_query(query: str) -> str:
    """Drop tracking pairs from an already sorted, encoded query; keep the rest as is."""
    kept = [
        pair
        for pair in query.split("&")
        if pair and not is_tracking_param(unquote_plus(pair.split("=", 1)[0]))
    ]
    return "&".join(kept)


def _clean_netloc(scheme: str, netloc: str) -> str:
    """Lowercase the host and drop the scheme's default port (user info is kept verbatim)."""
    userinfo, sep, hostport = netloc.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        if end != -1:
            host, rest = hostport[: end + 1], hostport[end + 1 :]
            port = rest[1:] if rest.startswith(":") else ""
    elif ":" in hostport:
        host, port = hostport.rsplit(":", 1)
    host = host.lower().rstrip(".")
    if port.isdigit() and int(port) == _DEFAULT_PORTS.get(scheme, -1):
        port = ""
    return f"{userinfo}{sep}{host}{':' + port if port else ''}"


@functools.lru_cache(maxsize=8192)  # menus and related links repeat on every page (bounded: ~400 B an entry)
def canonicalize_url(url: str, *, keep_query: bool = True) -> str:
    """Return the one spelling of ``url`` used for dedup and state.

    Lowercases scheme and host, drops the default port and the fragment, removes tracking
    parameters, sorts the remaining parameters (stable), normalises percent-encoding and
    IDN hosts, and turns an empty path into ``/``. ``keep_query=False`` drops the query
    entirely. Never raises: junk and non-http(s) URLs come back stripped.
    """
    stripped = (url or "").strip()
    try:
        given = urlsplit(stripped)
        if given.scheme.lower() not in ("http", "https") or not given.netloc:
            return stripped  # not a web URL: nothing to normalise
        parts = urlsplit(_w3lib_canonicalize(stripped, keep_fragments=False))
        scheme = parts.scheme.lower()
        query = _clean_query(parts.query) if keep_query else ""
        return urlunsplit((scheme, _clean_netloc(scheme, parts.netloc), parts.path or "/", query, ""))
    except (ValueError, UnicodeError, TypeError):
        logger.debug("cannot canonicalize %r; keeping it as given", stripped)
        return stripped


def url_host(url: str) -> str:
    """The lowercase host name of ``url`` without port (``""`` if there is none)."""
    try:
        host = urlsplit((url or "").strip()).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


@functools.lru_cache(maxsize=1024)  # a crawl sees few hosts, and checks each of its links
def _idna(host: str) -> str:
    """ASCII (punycode) form of a host name, so Unicode and encoded spellings compare equal."""
    host = host.strip().strip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def is_allowed_domain(url: str, allowed_domains: Sequence[str]) -> bool:
    """True if ``url`` is http(s) on one of ``allowed_domains`` or a subdomain of one.

    ``www.`` is forgiven both ways: ``example.com`` allows ``www.example.com`` (as a
    subdomain) and ``www.example.com`` allows the bare ``example.com``. A port in an
    allowed domain is ignored.
    """
    try:
        parts = urlsplit((url or "").strip())
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https"):
        return False
    return _host_allowed(host.rstrip(".").lower(), tuple(allowed_domains))


@functools.lru_cache(maxsize=1024)  # the spider checks every link of every page: few distinct hosts
def _host_allowed(host: str, allowed_domains: tuple[str, ...]) -> bool:
    host = _idna(host)
    if not host:
        return False
    for domain in allowed_domains:
        d = domain.strip().lower()
        if "://" in d:
            d = url_host(d)
        elif d.startswith("[") or d.count(":") == 1:
            d = d.rsplit(":", 1)[0] if not d.startswith("[") else d.split("]")[0].lstrip("[")
        d = _idna(d)
        if not d:
            continue
        if host == d or host.endswith("." + d):
            return True
        if d.startswith("www.") and host == d[4:]:
            return True
    return False


_USERINFO = re.compile(r"(?<=://)[^/@\s]*@|(?<![\w/.-])[^\s/@:'\"]+:[^\s/@'\"]*@(?=[\w\[])")


class RedactCredentials(logging.Filter):
    """A log filter: the ``user:password@`` of URLs in a record's message becomes ``***@``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the handler's to report, not ours
            return True
        if "@" in message and "://" in message:
            record.msg, record.args = redact_url(message), None
        return True


def redact_url(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL (or bare ``user:password@host``) in it replaced
    by ``***@`` (for log lines)."""
    return _USERINFO.sub("***@", text) if "@" in text else text


# --- validation: one check for every URL the crawl may request (links, sitemap and feed entries,
# seeds). A link with port 99999, ``abc`` or ``%31``, a broken IPv6 literal, an empty host label
# or a control character would make ``scrapy.Request`` raise, and one such link used to stop the
# discovery of its whole page: the spider counts and skips it (``skipped/bad_url``) instead, and
# seed files are refused with the same words (exit 2).

MAX_URL_LENGTH = 8192  # longer "URLs" in the wild are data, session blobs or traps
_BAD_HOST_CHARS = re.compile(r"[\x00-\x20\x7f<>\"{}|\\^`%]")


def url_problem(url: str) -> str | None:
    """None when ``url`` is an absolute http(s) URL the crawl can request; else the reason, in a few words."""
    if not isinstance(url, str) or not url.strip():
        return "empty URL"
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL"
        return str(exc)
    if parts.scheme.lower() not in ("http", "https"):
        return f"not http(s): {parts.scheme or 'no scheme'}"
    host = parts.hostname or ""
    if not host:
        return "no host"
    try:
        port = parts.port
    except ValueError:
        return f"bad port {parts.netloc.rpartition(':')[2]!r}"
    if port == 0:
        return "bad port 0"
    if not parts.netloc.endswith("]") and not parts.netloc.rpartition("@")[2].startswith("["):
        if _BAD_HOST_CHARS.search(host):
            return f"bad host {host!r}"
        try:
            host.rstrip(".").encode("idna")
        except UnicodeError:
            return f"bad host {host!r}"
    try:
        safe_url_string(url)  # what scrapy.Request does with it
    except ValueError as exc:
        return str(exc)
    return None


_MASK = (1 << 64) - 1


_HTTP_PREFIX = re.compile(r"^https?:", re.I)
_ABSOLUTE_HTTP = re.compile(r"^https?://[a-z0-9.-]+(?::\d+)?(?:[/?#][^\s\\]*)?$", re.I)


def absolute_http(href: str | None, base: str, *, keep_broken: bool = False) -> str | None:
    """``href`` made absolute against ``base`` if it is http(s); None otherwise.

    ``keep_broken``: an http(s) link that cannot be resolved at all (a broken IPv6 literal such as
    ``http://[::1/x``) is returned as found (scheme-relative ones with ``base``'s scheme) instead of
    None, so that the spider's URL check counts it as a skipped ``bad_url`` instead of it vanishing.
    """
    if not href:
        return None
    href = href.strip().replace("\n", "").replace("\t", "").replace("\r", "")
    if not href:
        return None
    if _ABSOLUTE_HTTP.match(href):  # fast path: most sitemap and feed URLs are already absolute
        return href
    try:
        full = urljoin(base, href) if base else href
        parts = urlsplit(full)
    except ValueError:
        return _broken_http(href, base) if keep_broken else None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return full


def _broken_http(href: str, base: str) -> str | None:
    """An unresolvable ``href`` as the link it meant to be, when it means an http(s) URL."""
    if _HTTP_PREFIX.match(href):
        return href
    if href.startswith("//"):
        scheme = base.partition(":")[0].lower()
        return f"{scheme}:{href}" if scheme in ("http", "https") else None
    return None


def digest_key(value: str | bytes) -> int:
    """64 bits that stand for ``value`` in a :class:`DigestSet`.

    Bytes are a digest already (a Scrapy request fingerprint, a SHA-1): their first 8 bytes.
    A string (or any other hashable value) is hashed with Python's own string hash (SipHash, computed once per string object):
    keys live in one process only, like the sets they replace. Two members of a million share
    a key with odds of 3 in 100 million, and then the later one counts as seen.
    """
    if isinstance(value, bytes):
        return int.from_bytes(value[:8], "big")
    return hash(value) & _MASK


class DigestSet:
    """A set of strings or digests kept as 64-bit keys (:func:`digest_key`): a sorted ``uint64`` array
    and a short buffer of the latest ones (a Python set, merged into the array when ``buffer`` long,
    or 1/64 of the array).

    Membership costs about a microsecond (a binary search); memory is 8 bytes a member plus the
    buffer (about 1 byte a member), whatever the crawl's size. One thread uses it (or its owner's lock guards it).

    Lookups bisect a ``memoryview`` of the array (plain Python ints) instead of calling numpy's
    ``searchsorted``: on the crawl's reactor thread, while the parsing threads ran, a numpy call per
    lookup cost some thirty times more than the search itself (measured per call in a crawl of
    the real-page benchmark site); numpy is kept for the rare merges.
    """

    def __init__(self, values: Any = (), *, buffer: int = 4096):
        self._set_sorted(np.empty(0, dtype=np.uint64))
        self._recent: set[int] = set()
        self._buffer = buffer
        for value in values:
            self.add(value)

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def __contains__(self, value: object) -> bool:
        return self._has(digest_key(value))  # type: ignore[arg-type]

    def _set_sorted(self, keys: np.ndarray) -> None:
        self._sorted = keys
        self._view = memoryview(keys)  # indexing gives Python ints, and never releases the GIL

    def _index(self, key: int) -> int | None:
        """Where ``key`` is in the sorted array, or None."""
        view = self._view
        at = bisect_left(view, key)
        return at if at < len(view) and view[at] == key else None

    def _has(self, key: int) -> bool:
        return key in self._recent or self._index(key) is not None

    def add(self, value: str | bytes) -> None:
        key = digest_key(value)
        if self._has(key):
            return
        self._recent.add(key)
        # a merge copies the array: the buffer grows with it (1/64), so merging stays O(n log n) overall
        if len(self._recent) >= max(self._buffer, len(self._sorted) >> 6):
            new = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
            new.sort()
            self._set_sorted(np.insert(self._sorted, self._sorted.searchsorted(new), new))
            self._recent = set()

    def update(self, values: Any) -> None:
        for value in values:
            self.add(value)

    def discard(self, value: str | bytes) -> None:
        key = digest_key(value)
        if key in self._recent:
            self._recent.discard(key)
            return
        if (at := self._index(key)) is not None:
            self._set_sorted(np.delete(self._sorted, at))

    @property
    def nbytes(self) -> int:
        """Bytes of the keys (the sorted array's 8 a member; the buffer's Python ints not counted)."""
        return self._sorted.nbytes
