"""Replay in pywb: every archived HTML page comes back as the site served it (checklist item 7)."""

from __future__ import annotations

import gzip
import io

import pytest

from crawler.warc.cdxj import write_cdxj
from tests.archive_server import ArchiveServer, Site, crawl_subprocess
from tests.warc_checks import PywbReplay, all_records


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    out = tmp_path_factory.mktemp("replay-crawl")
    with ArchiveServer() as srv:
        crawl_subprocess(srv.url + "/", out, {"NEWSWARC_ARCHIVE_MAX_BODY": 256 * 1024})
    warcs = sorted((out / "warc").glob("*.warc.gz"))
    return {"url": srv.url, "warcs": warcs, "records": all_records(warcs), "tmp": tmp_path_factory}


def served(crawl, uri: str) -> tuple[int, str, bytes, str | None]:
    """What the site sends for ``uri``: status, content type, decoded body, Location."""
    reply = Site().reply("GET", uri[len(crawl["url"]):])
    headers = dict(reply.headers)
    body = gzip.decompress(reply.body) if headers.get("Content-Encoding") == "gzip" else reply.body
    return reply.status, headers.get("Content-Type", ""), body, headers.get("Location")


def archived(crawl, kind: str) -> list[str]:
    recs = [r for r in crawl["records"] if r.type in ("response", "revisit")]
    if kind == "redirect":
        return sorted({r.uri for r in recs if 300 <= r.status < 400})
    html = {r.uri for r in recs if r.type == "response" and (r.header("Content-Type") or [""])[0].startswith("text/html")}
    return sorted(u for u in html if not 300 <= served(crawl, u)[0] < 400)


def check_replay(crawl, pywb: PywbReplay) -> None:
    pages = archived(crawl, "html")
    assert len(pages) >= 10 and any(p.endswith("/error") for p in pages) and any("?" in p for p in pages)
    for uri in pages:
        status, ctype, body, _ = served(crawl, uri)
        got = pywb.get(uri)
        assert (got.status, got.header("Content-Type"), got.body) == (status, ctype, body), uri
    redirects = archived(crawl, "redirect")
    assert len(redirects) == 4
    for uri in redirects:
        status, _, _, location = served(crawl, uri)
        got = pywb.get(uri)
        assert got.status == status and got.header("Location").endswith(location), uri


def test_replay_with_pywb_index(crawl):
    with PywbReplay(crawl["tmp"].mktemp("pywb"), crawl["warcs"]) as pywb:
        check_replay(crawl, pywb)
        # a revisit replays the payload of the record it refers to
        dup = [r for r in crawl["records"] if r.type == "revisit" and r.uri.endswith(("/dup-a", "/dup-b"))]
        assert len(dup) == 1 and pywb.get(dup[0].uri).body == Site().dup


def test_replay_with_our_cdxj_index(crawl):
    buf = io.StringIO()
    assert write_cdxj(crawl["warcs"], buf) == sum(r.type in ("response", "revisit") for r in crawl["records"])
    with PywbReplay(crawl["tmp"].mktemp("pywb-own"), crawl["warcs"], cdxj=buf.getvalue()) as pywb:
        check_replay(crawl, pywb)
