"""LocalStorage and the scheme registry: the work directory is the output."""

from __future__ import annotations

import os
import threading

import pytest

from crawler.errors import StorageError
from crawler.storage import Storage, atomic_write, open_storage
from crawler.storage.local import LocalStorage
from crawler.storage.spool import claim_spool, spooled_keys


def test_build_commit_list_read(tmp_path):
    storage = LocalStorage(tmp_path / "out")
    storage.check()
    path = storage.local_path("warc/a/b.warc.gz")
    assert path.parent.is_dir() and path == tmp_path / "out" / "warc" / "a" / "b.warc.gz"
    path.write_bytes(b"warc")
    storage.commit("warc/a/b.warc.gz")
    storage.write_bytes("text/site/1.txt", b"one")
    storage.write_bytes("text/site/1.txt", b"uno")  # rewrite replaces atomically
    storage.local_path("warc/c.warc.gz.open").write_bytes(b"partial")
    storage.local_path("warc/.hidden").write_bytes(b"x")
    assert list(storage.list()) == ["text/site/1.txt", "warc/a/b.warc.gz"]
    assert list(storage.list("text")) == ["text/site/1.txt"]
    assert list(storage.list("text/site/1.txt")) == ["text/site/1.txt"]
    assert list(storage.list("nothing")) == []
    with storage.open_read("text/site/1.txt") as fh:
        assert fh.read() == b"uno"
    assert storage.exists("warc/a/b.warc.gz") and not storage.exists("warc/c.warc.gz.open.x")
    assert storage.sync() == 0
    storage.close()
    assert isinstance(storage, Storage)


def test_commit_of_missing_file_fails(tmp_path):
    storage = LocalStorage(tmp_path)
    with pytest.raises(StorageError, match="cannot commit, no such file"):
        storage.commit("nope.txt")


def test_check_unusable_directory(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StorageError, match=r"file/out: cannot create output directory"):
        LocalStorage(tmp_path / "file" / "out").check()


def test_atomic_write_never_shows_half_a_file(tmp_path):
    target = tmp_path / "d" / "obj.bin"
    seen: set[int] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            if target.exists():
                seen.add(len(target.read_bytes()))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(30):
            atomic_write(target, b"x" * 200_000)
    finally:
        stop.set()
        thread.join()
    assert seen <= {200_000}
    assert [p.name for p in target.parent.iterdir()] == ["obj.bin"]  # no temporary left behind


def test_atomic_write_of_one_key_by_two_threads_never_collides(tmp_path):
    """Each writer has its own temporary file: no half file, no FileNotFoundError from a shared one."""
    target = tmp_path / "runs" / "report.json"
    errors: list[BaseException] = []
    bodies = [bytes([65 + n]) * 300_000 for n in range(4)]

    def writer(body: bytes) -> None:
        try:
            for _ in range(25):
                atomic_write(target, body)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_bytes() in bodies
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temporary left behind
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()  # the user's umask, as open() gives


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_open_storage_registry(tmp_path):
    assert isinstance(open_storage(str(tmp_path)), LocalStorage)
    assert open_storage(f"file://{tmp_path}").work_dir == tmp_path
    with pytest.raises(StorageError, match="unknown output scheme 'ftp'"):
        open_storage("ftp://host/dir")


def test_spool_helpers(tmp_path):
    root = claim_spool(tmp_path / "spool", "s3://a/b")
    assert claim_spool(tmp_path / "spool", "s3://a/b") == root  # the same destination again is fine
    with pytest.raises(StorageError, match="belongs to s3://a/b"):
        claim_spool(root, "s3://other")
    for name in ("x/1.txt", "x/2.warc.gz.open", "x/.3.tmp", "y.tmp", "z.jsonl"):
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_bytes(b"")
    assert list(spooled_keys(root)) == ["x/1.txt", "z.jsonl"]


def test_storage_backends_declare_everything_their_callers_use(tmp_path):
    """The run report and the state backup ask storage for these, without probing with hasattr."""
    from crawler.storage.base import Storage
    from crawler.storage.s3.storage import S3Storage

    for member in ("remote", "wait", "spooled", "upload_counts", "commit", "close", "display"):
        assert member in Storage.__annotations__ or callable(getattr(Storage, member, None)), member
        assert hasattr(S3Storage, member) or member == "remote", member  # remote is set per instance
    local = LocalStorage(tmp_path)
    assert isinstance(local, Storage)
    assert local.remote is False and local.spooled() == 0 and local.wait() is None
    assert local.upload_counts() == {"uploaded": 0, "failed": 0, "bytes_uploaded": 0}
