"""Record building: golden bytes with pinned record IDs and dates (as warcio's own tests do)."""

from __future__ import annotations

import base64
import hashlib
import io

from warcio.archiveiterator import ArchiveIterator

from crawler.warc.records import (
    Exchange,
    metadata_record,
    request_record,
    response_head,
    response_record,
    revisit_record,
    sha1_digest,
    status_line,
    warc_date,
    warcinfo_record,
)

RID1 = "<urn:uuid:00000000-0000-0000-0000-000000000001>"
RID2 = "<urn:uuid:00000000-0000-0000-0000-000000000002>"
DATE = "2026-01-02T03:04:05.000006Z"


def exchange(**kw) -> Exchange:
    base = dict(
        url="http://example.com:8080/news?id=7&x=1", method="GET",
        request_headers=[(b"Accept-Encoding", b"gzip, deflate, br"), (b"User-Agent", b"newswarc-test")],
        request_body=b"", status=200,
        response_headers=[(b"Content-Length", b"999"), (b"Content-Type", b"text/html"), (b"Set-Cookie", b"a=1"),
                          (b"Set-Cookie", b"b=2"), (b"Transfer-Encoding", b"chunked")],
        body=b"<html>hi</html>", date=DATE, response_id=RID1, request_id=RID2, ip_address="127.0.0.1")
    base.update(kw)
    return Exchange(**base)


GOLDEN_RESPONSE = (
    b"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
    b"WARC-Date: 2026-01-02T03:04:05.000006Z\r\nWARC-Target-URI: http://example.com:8080/news?id=7&x=1\r\n"
    b"WARC-IP-Address: 127.0.0.1\r\nContent-Type: application/http;msgtype=response\r\n"
    b"WARC-Payload-Digest: sha1:JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5\r\n"
    b"WARC-Block-Digest: sha1:XGO734GUQ5MJZF2YWUDQSDXFB2QZ5EPQ\r\nContent-Length: 113\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\nContent-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
    b"\r\n<html>hi</html>\r\n\r\n")

GOLDEN_REQUEST = (
    b"WARC/1.1\r\nWARC-Type: request\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000002>\r\n"
    b"WARC-Date: 2026-01-02T03:04:05.000006Z\r\nWARC-Target-URI: http://example.com:8080/news?id=7&x=1\r\n"
    b"WARC-Concurrent-To: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\nWARC-IP-Address: 127.0.0.1\r\n"
    b"Content-Type: application/http;msgtype=request\r\nWARC-Block-Digest: sha1:GEU6BHHXR2LWCJDE2DOFYHH2TBLWNG6Q\r\n"
    b"Content-Length: 118\r\n\r\nGET /news?id=7&x=1 HTTP/1.1\r\nAccept-Encoding: gzip, deflate, br\r\n"
    b"User-Agent: newswarc-test\r\nHost: example.com:8080\r\n\r\n\r\n\r\n")

GOLDEN_REVISIT = (
    b"WARC/1.1\r\nWARC-Type: revisit\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
    b"WARC-Date: 2026-01-02T03:04:05.000006Z\r\nWARC-Target-URI: http://example.com:8080/news?id=7&x=1\r\n"
    b"WARC-IP-Address: 127.0.0.1\r\nContent-Type: application/http;msgtype=response\r\n"
    b"WARC-Profile: http://netpreserve.org/warc/1.1/revisit/identical-payload-digest\r\n"
    b"WARC-Refers-To-Target-URI: http://example.com:8080/other\r\nWARC-Refers-To-Date: 2026-01-01T00:00:00.000000Z\r\n"
    b"WARC-Payload-Digest: sha1:JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5\r\n"
    b"WARC-Block-Digest: sha1:7VH3JT3DP7NBPCWJHZ46QUOL5RZTHADF\r\nContent-Length: 98\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\nContent-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
    b"\r\n\r\n\r\n")

GOLDEN_METADATA = (
    b"WARC/1.1\r\nWARC-Type: metadata\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000003>\r\n"
    b"WARC-Date: 2026-01-02T03:04:05.000006Z\r\nWARC-Target-URI: http://example.com:8080/news?id=7&x=1\r\n"
    b"WARC-Concurrent-To: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\nContent-Type: application/warc-fields\r\n"
    b"WARC-Block-Digest: sha1:TKZBEZESMI4BMSJQXOYCZKRV25NSZYJX\r\nContent-Length: 40\r\n\r\n"
    b"seed: s\r\noutlink: http://example.com/a\r\n\r\n\r\n")

GOLDEN_WARCINFO = (
    b"WARC/1.1\r\nWARC-Type: warcinfo\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000004>\r\n"
    b"WARC-Date: 2026-01-02T03:04:05.000006Z\r\nWARC-Filename: x.warc.gz\r\nContent-Type: application/warc-fields\r\n"
    b"WARC-Block-Digest: sha1:OQCAIL3XISEKW6W7AWVONUOEC6A3EIV3\r\nContent-Length: 26\r\n\r\n"
    b"software: newswarc/0.1.0\r\n\r\n\r\n")


def test_response_golden_bytes():
    assert response_record(exchange()).to_bytes() == GOLDEN_RESPONSE


def test_request_golden_bytes():
    assert request_record(exchange()).to_bytes() == GOLDEN_REQUEST


def test_revisit_golden_bytes():
    ex = exchange()
    rec = revisit_record(ex, sha1_digest(ex.body), "http://example.com:8080/other", "2026-01-01T00:00:00.000000Z")
    assert rec.to_bytes() == GOLDEN_REVISIT


def test_metadata_and_warcinfo_golden_bytes():
    meta = metadata_record(exchange().url, DATE, "<urn:uuid:00000000-0000-0000-0000-000000000003>", RID1,
                           [("seed", "s"), ("outlink", "http://example.com/a")])
    assert meta.to_bytes() == GOLDEN_METADATA
    info = warcinfo_record("x.warc.gz", DATE, "<urn:uuid:00000000-0000-0000-0000-000000000004>",
                           [("software", "newswarc/0.1.0")])
    assert info.to_bytes() == GOLDEN_WARCINFO


def test_digest_is_sha1_base32_of_the_payload():
    expected = "sha1:" + base64.b32encode(hashlib.sha1(b"<html>hi</html>").digest()).decode()
    assert sha1_digest(b"<html>", b"hi</html>") == expected == "sha1:JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5"


def test_records_parse_back_with_warcio():
    data = GOLDEN_RESPONSE + GOLDEN_REQUEST + GOLDEN_METADATA
    recs = list(ArchiveIterator(io.BytesIO(data), check_digests=True))
    assert [r.rec_type for r in recs] == ["response", "request", "metadata"]


def test_head_matches_stored_body_and_drops_framing():
    head = response_head(exchange(response_headers=[(b"Transfer-Encoding", b"chunked"), (b"X-A", b"1")],
                                  body=b"x" * 10)).decode()
    assert "Transfer-Encoding" not in head
    assert head.endswith("X-A: 1\r\nContent-Length: 10\r\n\r\n")


def test_truncated_response_is_flagged():
    rec = response_record(exchange(truncated="length"))
    assert ("WARC-Truncated", "length") in rec.fields


def test_status_line_reason_phrases():
    assert status_line(404) == b"HTTP/1.1 404 Not Found"
    assert status_line(308) == b"HTTP/1.1 308 Permanent Redirect"
    assert status_line(599) == b"HTTP/1.1 599 Unknown"
    assert status_line(200, "HTTP/1.0") == b"HTTP/1.0 200 OK"


def test_http2_is_stored_as_http11_with_protocol_field():
    rec = response_record(exchange(protocol="h2"))
    assert ("WARC-Protocol", "h2") in rec.fields
    assert rec.block[0].startswith(b"HTTP/1.1 200 OK\r\n")


def test_default_ports_are_not_in_host_header():
    rec = request_record(exchange(url="https://example.com/a?b=c"))
    assert b"GET /a?b=c HTTP/1.1\r\n" in rec.block[0] and b"Host: example.com\r\n" in rec.block[0]


def test_warc_date_format():
    assert warc_date(0.25) == "1970-01-01T00:00:00.250000Z"


def test_record_ids_are_random_uuids_distinct_in_forked_children():
    import os
    import uuid

    from crawler.warc.records import make_record_id

    ids = {make_record_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    sample = next(iter(ids))
    assert sample.startswith("<urn:uuid:") and sample.endswith(">")
    assert uuid.UUID(sample[10:-1]).version == 4
    read, write = os.pipe()
    pid = os.fork()  # the extraction pool's workers are forked: each must draw its own IDs
    if pid == 0:
        os.write(write, make_record_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    assert child != make_record_id() and child not in ids
