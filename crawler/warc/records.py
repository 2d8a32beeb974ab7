"""WARC 1.1 records built from one Scrapy exchange: pure functions, no I/O, no Scrapy import.

Building is kept apart from writing (as in warcio's ``recordbuilder``) so that record bytes can be
tested against golden output with the record-ID and date pinned. A :class:`Record` is a list of
byte chunks (headers, HTTP head, body slices) so a large body is never copied into one buffer.
"""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

WARC_VERSION = b"WARC/1.1"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
RECONSTRUCTED = (
    "HTTP status lines (reason phrase), header name case and order, Content-Length and transfer "
    "framing (chunked encoding removed) were reconstructed from Scrapy's parsed response; header "
    "values, repeated headers and the entity body (still content-encoded) are as received."
)
_HOP_BY_HOP = {b"transfer-encoding", b"content-length"}

Headers = Sequence[tuple[bytes, bytes]]


def make_record_id() -> str:
    """A fresh ``<urn:uuid:...>`` record ID: a version 4 (random) UUID.

    The bits come from :mod:`random` (seeded from the OS at start and again in every forked
    child) rather than ``uuid4``'s ``os.urandom``: that system call lets go of the GIL, and on
    the crawl's reactor thread each one then waited for a parsing thread to hand the GIL back.
    122 random bits are as unique as ``uuid4``'s; record IDs need no secrecy.
    """
    return f"<urn:uuid:{uuid.UUID(int=random.getrandbits(128), version=4)}>"


def warc_date(timestamp: float) -> str:
    """UTC ISO 8601 with microseconds, as WARC 1.1 allows (``2026-01-02T03:04:05.123456Z``)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha1_digest(*parts: bytes) -> str:
    """``sha1:BASE32`` over the concatenated parts (the WARC digest format)."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part)
    return "sha1:" + base64.b32encode(h.digest()).decode("ascii")


@dataclass
class Exchange:
    """One network fetch, copied out of Scrapy's request and raw response on the reactor thread."""

    url: str
    method: str
    request_headers: list[tuple[bytes, bytes]]
    request_body: bytes
    status: int
    response_headers: list[tuple[bytes, bytes]]
    body: bytes
    date: str
    response_id: str
    request_id: str
    protocol: str = "HTTP/1.1"
    ip_address: str | None = None
    truncated: str | None = None
    not_modified: tuple[str, str, str] | None = None  # a 304 to a recheck: (uri, date, digest) of the original


@dataclass
class Record:
    """A WARC record ready to write: named fields in order and the block as byte chunks."""

    warc_type: str
    record_id: str
    fields: list[tuple[str, str]]
    block: list[bytes] = field(default_factory=list)
    precompressed: bool = False  # the payload is content-encoded (gzip, br...): deflating it again gains nothing

    @property
    def block_length(self) -> int:
        return sum(len(part) for part in self.block)

    def head(self) -> bytes:
        lines = [WARC_VERSION] + [f"{k}: {v}".encode() for k, v in self.fields]
        lines.append(b"Content-Length: %d" % self.block_length)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def chunks(self) -> Iterator[bytes]:
        """The record's bytes in order (header, block parts, the two closing CRLFs)."""
        yield self.head()
        yield from self.block
        yield b"\r\n\r\n"

    def to_bytes(self) -> bytes:
        return b"".join(self.chunks())


def status_line(status: int, protocol: str = "HTTP/1.1") -> bytes:
    """``HTTP/1.1 CODE REASON``; Scrapy drops the reason phrase, so it comes from ``HTTPStatus``."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    version = protocol if protocol.startswith("HTTP/1.") else "HTTP/1.1"
    return f"{version} {status} {reason}".encode("latin-1")


def response_head(ex: Exchange) -> bytes:
    """HTTP response head consistent with the stored body: no ``Transfer-Encoding`` and a
    ``Content-Length`` equal to the stored body length (in the original position if any)."""
    lines = [status_line(ex.status, ex.protocol)]
    length_line = b"Content-Length: %d" % len(ex.body)
    for name, value in ex.response_headers:
        low = name.lower()
        if low == b"content-length":
            if length_line:
                lines.append(length_line)
                length_line = b""
        elif low not in _HOP_BY_HOP:
            lines.append(name + b": " + value)
    if length_line:
        lines.append(length_line)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def host_header(url: str) -> bytes:
    """The ``Host`` value the HTTP client sends: host, plus the port when not the default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port and parts.port != default:
        host = f"{host}:{parts.port}"
    return host.encode("idna") if not host.isascii() else host.encode("ascii")


def request_head(ex: Exchange) -> bytes:
    """The request line with path and query, every header sent, then ``Host`` (wire order)."""
    parts = urlsplit(ex.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{ex.method} {target} HTTP/1.1".encode("latin-1")]
    lines += [k + b": " + v for k, v in ex.request_headers]
    if not any(k.lower() == b"host" for k, _ in ex.request_headers):
        lines.append(b"Host: " + host_header(ex.url))  # Twisted adds it last
    if ex.request_body and not any(k.lower() == b"content-length" for k, _ in ex.request_headers):
        lines.append(b"Content-Length: %d" % len(ex.request_body))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _common(warc_type: str, record_id: str, date: str, uri: str) -> list[tuple[str, str]]:
    return [("WARC-Type", warc_type), ("WARC-Record-ID", record_id), ("WARC-Date", date),
            ("WARC-Target-URI", uri)]


def _http_fields(ex: Exchange) -> list[tuple[str, str]]:
    out = []
    if ex.ip_address:
        out.append(("WARC-IP-Address", ex.ip_address))
    if not ex.protocol.startswith("HTTP/1."):
        out.append(("WARC-Protocol", "h2" if ex.protocol.upper().startswith("HTTP/2") else ex.protocol.lower()))
    return out


def response_record(ex: Exchange, payload_digest: str | None = None) -> Record:
    """A ``response`` record; the payload digest is over the stored (transfer-decoded) body."""
    head = response_head(ex)
    payload_digest = payload_digest or sha1_digest(ex.body)
    fields = _common("response", ex.response_id, ex.date, ex.url) + _http_fields(ex)
    fields += [("Content-Type", "application/http;msgtype=response"),
               ("WARC-Payload-Digest", payload_digest), ("WARC-Block-Digest", sha1_digest(head, ex.body))]
    if ex.truncated:
        fields.append(("WARC-Truncated", ex.truncated))
    return Record("response", ex.response_id, fields, [head, ex.body] if ex.body else [head],
                  precompressed=len(ex.body) > 512 and content_encoded(ex.response_headers))


def content_encoded(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    """Whether the body is sent compressed (a ``Content-Encoding`` other than ``identity``)."""
    return any(k.lower() == b"content-encoding" and v.strip().lower() not in (b"", b"identity") for k, v in headers)


def revisit_record(ex: Exchange, payload_digest: str, refers_uri: str, refers_date: str,
                   profile: str = REVISIT_PROFILE) -> Record:
    """A ``revisit`` record: the HTTP head only; the payload is the one of the record it refers to.

    ``identical-payload-digest`` for a body we already hold, ``server-not-modified`` for a 304
    answer to a conditional request (as Heritrix writes it).
    """
    # A 304 carries no entity: its revisit block is left empty (allowed for this profile), so replay
    # tools (pywb) take status, headers and payload from the original capture instead of a bare 304.
    head = b"" if profile == NOT_MODIFIED_PROFILE else response_head(ex)
    fields = _common("revisit", ex.response_id, ex.date, ex.url) + _http_fields(ex)
    fields += [("Content-Type", "application/http;msgtype=response"), ("WARC-Profile", profile),
               ("WARC-Refers-To-Target-URI", refers_uri), ("WARC-Refers-To-Date", refers_date),
               ("WARC-Payload-Digest", payload_digest), ("WARC-Block-Digest", sha1_digest(head))]
    return Record("revisit", ex.response_id, fields, [head])


def request_record(ex: Exchange) -> Record:
    """The ``request`` record of an exchange: same URI and date, concurrent to the response."""
    head = request_head(ex)
    fields = _common("request", ex.request_id, ex.date, ex.url) + [("WARC-Concurrent-To", ex.response_id)]
    fields += _http_fields(ex)
    fields += [("Content-Type", "application/http;msgtype=request"),
               ("WARC-Block-Digest", sha1_digest(head, ex.request_body))]
    return Record("request", ex.request_id, fields, [head, ex.request_body] if ex.request_body else [head])


def warc_fields(pairs: Sequence[tuple[str, str]]) -> bytes:
    """An ``application/warc-fields`` block (one ``name: value`` line per pair, repeats allowed)."""
    return b"".join(f"{k}: {' '.join(str(v).split())}\r\n".encode() for k, v in pairs)


def metadata_record(uri: str, date: str, record_id: str, concurrent_to: str,
                    pairs: Sequence[tuple[str, str]]) -> Record:
    """A ``metadata`` record about a page (seed, route, hops, outlinks), concurrent to its response."""
    block = warc_fields(pairs)
    fields = _common("metadata", record_id, date, uri) + [
        ("WARC-Concurrent-To", concurrent_to), ("Content-Type", "application/warc-fields"),
        ("WARC-Block-Digest", sha1_digest(block))]
    return Record("metadata", record_id, fields, [block])


def warcinfo_record(filename: str, date: str, record_id: str, pairs: Sequence[tuple[str, str]]) -> Record:
    """The ``warcinfo`` record that opens each file; ``filename`` is the final (closed) name."""
    block = warc_fields(pairs)
    fields = [("WARC-Type", "warcinfo"), ("WARC-Record-ID", record_id), ("WARC-Date", date),
              ("WARC-Filename", filename), ("Content-Type", "application/warc-fields"),
              ("WARC-Block-Digest", sha1_digest(block))]
    return Record("warcinfo", record_id, fields, [block])
