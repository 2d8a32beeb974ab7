"""WARC files: per-record gzip, names, rollover, .open repair, the writer process, CDXJ."""

from __future__ import annotations

import io
import itertools
import re
import threading
import zlib

import pytest

from crawler.storage.local import LocalStorage
from crawler.warc.cdxj import write_cdxj
from crawler.warc.messages import (
    ChannelClosed,
    FileEvent,
    MetadataWritten,
    WriteExchange,
    WriteMetadata,
    Written,
)
from crawler.warc.records import Exchange, request_record, response_record
from crawler.warc.repair import repair_file, repair_open_files, whole_records_end
from crawler.warc.writer import RevisitIndex, WarcFileWriter, warc_filename
from crawler.warc.writer_process import WriterHost, WriterProcess
from tests.warc_checks import check_index, check_warc, read_records

NAME_RE = re.compile(r"^pfx-\d{17}-\d{5}-[A-Za-z0-9._]+-\d+\.warc\.gz$")


def exchange(n: int, size: int = 2000) -> Exchange:
    body = (f"<html>page {n} ".encode() + bytes(range(256)) * (size // 256 + 1))[:size]
    return Exchange(url=f"http://site.test/p/{n}?q={n}", method="GET", request_headers=[(b"Accept", b"*/*")],
                    request_body=b"", status=200, response_headers=[(b"Content-Type", b"text/html")],
                    body=body, date=f"2026-01-02T03:04:{n % 60:02d}.000000Z",
                    response_id=f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>",
                    request_id=f"<urn:uuid:00000000-0000-0000-0001-{n:012d}>", ip_address="127.0.0.1")


def new_writer(tmp_path, **kw) -> WarcFileWriter:
    ids = (f"<urn:uuid:00000000-0000-0000-0002-{i:012d}>" for i in itertools.count())
    return WarcFileWriter(LocalStorage(tmp_path), prefix="pfx", warcinfo=[("software", "test")],
                          make_id=lambda: next(ids), **kw)


def write_pairs(fw: WarcFileWriter, n: int, size: int = 2000) -> list:
    return [fw.write([response_record(exchange(i, size)), request_record(exchange(i, size))]) for i in range(n)]


def test_filename_is_unique_and_sortable():
    name = warc_filename("pfx", 3, now=1767322800.123, host="crawl-01.example", pid=42)
    assert name == "pfx-20260102030000123-00003-crawl_01.example-42.warc.gz"  # '-' only separates fields
    assert warc_filename("pfx", 1, host="a/b c").split("-")[3] == "a_b_c"


def test_file_is_valid_and_records_are_readable_at_their_offsets(tmp_path):
    fw = new_writer(tmp_path)
    locations = write_pairs(fw, 5)
    assert list((tmp_path / "warc").glob("*.open"))
    fw.close()
    (path,) = (tmp_path / "warc").glob("*.warc.gz")
    assert NAME_RE.match(path.name) and not list((tmp_path / "warc").glob("*.open"))
    check_warc(path)
    recs = {r.offset: r for r in read_records(path)}
    for i, ((key, off, length), (_, roff, _)) in enumerate(locations):
        assert key == "warc/" + path.name
        assert recs[off].type == "response" and recs[off].uri == f"http://site.test/p/{i}?q={i}"
        assert recs[roff].type == "request" and off + length == roff
    buf = io.StringIO()
    assert write_cdxj([path], buf) == 5
    assert check_index(path, buf.getvalue().splitlines()) == 5


def test_one_gzip_member_per_record_at_the_configured_level(tmp_path):
    sizes = {}
    for level in (1, 9):
        fw = new_writer(tmp_path / str(level), gzip_level=level)
        write_pairs(fw, 3, size=50_000)
        fw.close()
        (path,) = (tmp_path / str(level) / "warc").glob("*.warc.gz")
        data, members = path.read_bytes(), 0
        while data:
            dec = zlib.decompressobj(31)
            dec.decompress(data)
            assert dec.eof
            data, members = dec.unused_data, members + 1
        assert members == 1 + 3 * 2  # warcinfo + 3 response/request pairs
        sizes[level] = path.stat().st_size
    assert sizes[1] != sizes[9]


def test_compressed_bodies_are_stored_not_deflated_again_unless_asked(tmp_path):
    import gzip
    import random
    from dataclasses import replace

    rnd = random.Random(7)
    words = " ".join(rnd.choice(["news", "city", "council", "vote", "river", "bridge", "mayor", "budget", "school",
                                 "rain", "market", "road", "team", "coach", "season"]) + str(rnd.randrange(100))
                     for _ in range(8000))
    text = f"<html><body><p>{words}</p></body></html>".encode()
    ex = replace(exchange(1), body=gzip.compress(text),
                 response_headers=[(b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip")])
    plain = replace(exchange(2), body=text)
    sizes = {}
    for recompress in (False, True):
        fw = new_writer(tmp_path / str(recompress), gzip_level=6, recompress=recompress)
        (_, _, gz_len), _ = fw.write([response_record(ex), request_record(ex)])
        (_, _, plain_len), _ = fw.write([response_record(plain), request_record(plain)])
        fw.close()
        (path,) = (tmp_path / str(recompress) / "warc").glob("*.warc.gz")
        check_warc(path)
        assert [r.body for r in read_records(path) if r.type == "response"] == [ex.body, text]
        sizes[recompress] = gz_len
        assert plain_len < len(text) // 2  # text is still deflated at the configured level
    assert sizes[False] > len(ex.body) and sizes[True] < sizes[False]  # stored: body bytes as they are


def test_rollover_keeps_pairs_together_and_starts_each_file_with_warcinfo(tmp_path):
    fw = new_writer(tmp_path, max_size=2500)
    write_pairs(fw, 12)
    fw.close()
    files = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert len(files) >= 3 and not list((tmp_path / "warc").glob("*.open"))
    assert len({NAME_RE.match(f.name) and f.name.split("-")[2] for f in files}) == len(files)  # serials
    total = 0
    for f in files:
        check_warc(f, run_warcio=f is files[0])
        recs = read_records(f)
        assert recs[0].type == "warcinfo"
        total += sum(r.type == "response" for r in recs)
    assert total == 12


def test_repair_cuts_a_partial_record(tmp_path):
    fw = new_writer(tmp_path)
    write_pairs(fw, 4)
    fw._fh.flush()
    (path,) = (tmp_path / "warc").glob("*.open")
    size = path.stat().st_size
    fw._fh.close()  # simulate a crash: the lock goes away, no rename
    fw._fh = None
    with open(path, "rb") as fh:
        assert whole_records_end(fh) == (size, 9)
    with open(path, "r+b") as fh:
        fh.truncate(size - 50)  # cut the last record (a request) in the middle
    (final,) = repair_open_files(tmp_path / "warc")
    assert final.name == path.name[:-5] and not path.exists()
    recs = read_records(final)
    # the partial request is gone, and so is its response (a response never ends a file)
    assert [r.type for r in recs] == ["warcinfo"] + ["response", "request"] * 3
    check_warc(final)


def test_repair_drops_garbage_and_empty_files(tmp_path):
    fw = new_writer(tmp_path)
    write_pairs(fw, 2)
    fw._fh.close()
    fw._fh = None
    (path,) = (tmp_path / "warc").glob("*.open")
    good = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(b"\x1f\x8b\x08\x00garbage that is not deflate")
    empty = tmp_path / "warc" / "pfx-x.warc.gz.open"
    empty.write_bytes(b"\x1f\x8b")
    assert repair_open_files(tmp_path / "warc") == [path.with_name(path.name[:-5])]
    assert path.with_name(path.name[:-5]).stat().st_size == good and not empty.exists()
    check_warc(path.with_name(path.name[:-5]))


def test_repair_leaves_a_file_in_use_alone(tmp_path):
    fw = new_writer(tmp_path)
    write_pairs(fw, 1)
    (path,) = (tmp_path / "warc").glob("*.open")
    assert repair_file(path) is None and path.exists()
    fw.close()


def test_revisit_index():
    idx = RevisitIndex()
    assert idx.lookup("sha1:A") is None
    idx.add("sha1:A", "http://a/", "2026-01-01T00:00:00Z")
    idx.add("sha1:A", "http://b/", "2026-01-02T00:00:00Z")
    assert idx.lookup("sha1:A") == ("http://a/", "2026-01-01T00:00:00Z")


def test_writer_process_writes_answers_and_bounds_what_is_in_flight(tmp_path):
    from dataclasses import replace

    results, low = [], threading.Event()
    wp = WriterProcess.start(str(tmp_path), writer_args={"prefix": "pfx", "warcinfo": [("software", "test")]},
                             state_path=None, revisits=True, queue_size=4, on_results=results.extend,
                             on_low_water=low.set)
    again = replace(exchange(0), response_id="<urn:uuid:again-r>", request_id="<urn:uuid:again-q>")
    assert wp.submit_batch([WriteExchange(i, exchange(i)) for i in range(3)] + [WriteExchange(3, again)])
    assert not wp.submit_batch([WriteExchange(4, exchange(4))])  # 4 in flight: the caller must wait (and pause)
    assert low.wait(60)  # the child caught up
    assert wp.submit_batch([WriteMetadata("http://site.test/", "2026-01-02T03:04:05Z", exchange(0).response_id,
                                          [("seed", "t")])])
    assert wp.close(timeout=60) and not wp.dead
    written = {r.seq: r for r in results if isinstance(r, Written)}
    assert sorted(written) == [0, 1, 2, 3] and all(r.error is None for r in written.values())
    assert written[3].at.record_type == "revisit" and written[3].new_digest is None  # same payload as 0: a revisit
    assert written[0].at.record_type == "response" and written[0].new_digest.startswith("sha1:")
    assert MetadataWritten({"records/metadata": 1,
                            "bytes": next(r.counts["bytes"] for r in results if isinstance(r, MetadataWritten))}) in results
    closed = [r.key for r in results if isinstance(r, FileEvent) and r.event == "closed"]
    assert len(closed) == 1 and results[-1] == ChannelClosed()
    path = tmp_path / closed[0]
    check_warc(path)
    recs = {r.offset: r for r in read_records(path)}
    assert recs[written[1].at.offset].uri == exchange(1).url
    assert not wp.process.is_alive()  # its own process, stopped with its only channel


def test_one_writer_process_serves_several_crawls_each_with_its_own_files(tmp_path):
    results_a, results_b = [], []
    host = WriterHost()
    args = {"writer_args": {"prefix": "pfx"}, "state_path": None, "revisits": True, "queue_size": 8}
    a = host.open(str(tmp_path / "a"), on_results=results_a.extend, **args)
    b = host.open(str(tmp_path / "b"), on_results=results_b.extend, **args)
    assert a.process.pid == b.process.pid
    assert a.submit_batch([WriteExchange(0, exchange(0))]) and b.submit_batch([WriteExchange(0, exchange(1))])
    assert a.close(timeout=60)
    assert host.process.is_alive()  # b still writes
    assert b.submit_batch([WriteExchange(1, exchange(2))]) and b.close(timeout=60)
    host.process.join(10)
    assert not host.process.is_alive()  # the last channel stopped it
    for results, root, seqs in ((results_a, "a", [0]), (results_b, "b", [0, 1])):
        assert sorted(r.seq for r in results if isinstance(r, Written) and r.error is None) == seqs
        (closed,) = [r.key for r in results if isinstance(r, FileEvent) and r.event == "closed"]
        check_warc(tmp_path / root / closed)


def test_write_failure_rewinds_to_whole_records(tmp_path):
    fw = new_writer(tmp_path)
    write_pairs(fw, 2)
    before, real = fw._offset, fw._fh

    class DiskFull:
        """Writes half of what it is given, then fails (like ENOSPC in the middle of a record)."""

        def write(self, data):
            real.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(real, name)

    fw._fh = DiskFull()
    with pytest.raises(OSError):
        fw.write([response_record(exchange(7)), request_record(exchange(7))])
    fw._fh = real
    assert fw._offset == before and real.tell() == before
    fw.write([response_record(exchange(5)), request_record(exchange(5))])
    fw.close()
    (path,) = (tmp_path / "warc").glob("*.warc.gz")
    check_warc(path)
    assert sum(r.type == "response" for r in read_records(path)) == 3


def test_check_warc_catches_a_decoded_body_under_gzip_headers(tmp_path):
    fw = new_writer(tmp_path)
    ex = exchange(1)
    ex.response_headers.append((b"Content-Encoding", b"gzip"))  # body is not gzip: what a writer at 543 does
    fw.write([response_record(ex), request_record(ex)])
    fw.close()
    (path,) = (tmp_path / "warc").glob("*.warc.gz")
    with pytest.raises(AssertionError, match="Content-Encoding"):
        check_warc(path, run_warcio=False)


def test_a_record_that_cannot_be_written_is_reported_as_one_log_line_in_the_crawl(tmp_path, caplog):
    from concurrent.futures import Future
    from dataclasses import replace

    from crawler.crawl.capture import ArchiveError, WarcCapture

    cap = WarcCapture(LocalStorage(tmp_path))
    cap.open_writer()
    bad, good = Future(), Future()
    cap._futures[0] = (bad, replace(exchange(0), body=None))  # the digest of no body raises in the writer
    cap._futures[1] = (good, exchange(1))
    with caplog.at_level("DEBUG", logger="crawler.crawl.capture"):
        assert cap._send([WriteExchange(0, replace(exchange(0), body=None)), WriteExchange(1, exchange(1))])
        assert isinstance(bad.exception(timeout=60), ArchiveError)
        assert good.result(timeout=60).record_type == "response"  # the next page is written all the same
        cap.close()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "Could not archive http://site.test/p/0" in errors[0].getMessage()
    assert "\n" not in errors[0].getMessage() and not errors[0].exc_info  # one line; the traceback is at DEBUG
    assert any("Traceback" in r.getMessage() for r in caplog.records if r.levelname == "DEBUG")


def test_capture_fails_pages_instead_of_hanging_when_the_writer_dies(tmp_path):
    import time
    from concurrent.futures import Future

    from crawler.crawl.capture import ArchiveError, WarcCapture

    cap = WarcCapture(LocalStorage(tmp_path))
    cap.open_writer()
    before, after = Future(), Future()
    cap._futures[0] = (before, exchange(0))  # sent before the writer died (as response_downloaded records it)
    cap.writer.process.kill()
    deadline = time.monotonic() + 30
    while not cap.writer.dead and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cap.writer.dead
    cap._futures[1] = (after, exchange(1))
    assert cap._send([WriteExchange(1, exchange(1))])  # taken (and failed), so the crawl is not paused for it
    assert isinstance(before.exception(timeout=10), ArchiveError)
    assert isinstance(after.exception(timeout=10), ArchiveError)
    cap.close()  # returns: nothing waits for a dead writer
