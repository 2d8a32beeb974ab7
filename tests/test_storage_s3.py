"""S3Storage against a real S3 API (moto server over HTTP on 127.0.0.1), never an in-process mock."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.errors import StorageError
from crawler.storage import open_storage
from crawler.storage.local import LocalStorage
from crawler.storage.s3.storage import S3Storage, sync_spool
from crawler.storage.spool import default_spool_dir
from tests.crawl_helpers import free_port
from tests.s3_server import TcpProxy, aws_env, new_bucket, s3_client

MiB = 1024 * 1024
FAST = {"upload_attempts": 2, "retry_backoff": 0.01, "max_attempts": 1, "workers": 4}
WRONG_SECRET = "wr0ng-SECRET-d0-not-log-9f8e7d"


def make(tmp_path: Path, bucket: str, prefix: str = "run1", **kwargs) -> S3Storage:
    return S3Storage(bucket, prefix, spool_dir=tmp_path / "spool", **{**FAST, **kwargs})


def spool_files(storage: S3Storage) -> list[str]:
    return sorted(p.relative_to(storage.work_dir).as_posix() for p in storage.work_dir.rglob("*")
                  if p.is_file() and not p.name.startswith("."))


def read_all(storage, key: str) -> bytes:
    with storage.open_read(key) as fh:
        return b"".join(iter(lambda: fh.read(65536), b""))


def write_sample(storage, files: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The same operations a crawl performs: a built WARC, text files, a JSONL row file, an unfinished file."""
    files = files or {
        "warc/newswarc-000.warc.gz": os.urandom(300_000),
        "text/example.org/2024/a1.txt": "Überschrift\n\ntext".encode(),
        "text/example.org/2024/a2.txt": b"second",
        "articles/part-000.jsonl": json.dumps({"id": "a1"}).encode() + b"\n",
    }
    with open(storage.local_path("warc/newswarc-000.warc.gz"), "wb") as fh:
        fh.write(files["warc/newswarc-000.warc.gz"])
    storage.commit("warc/newswarc-000.warc.gz")
    for key in ("text/example.org/2024/a1.txt", "text/example.org/2024/a2.txt", "articles/part-000.jsonl"):
        storage.write_bytes(key, files[key])
    storage.local_path("warc/newswarc-001.warc.gz.open").write_bytes(b"still writing")
    return files


def test_round_trip(tmp_path, s3_bucket):
    storage = make(tmp_path, s3_bucket)
    storage.check()
    files = write_sample(storage)
    storage.close()

    assert list(storage.list()) == sorted(files)
    assert list(storage.list("text")) == ["text/example.org/2024/a1.txt", "text/example.org/2024/a2.txt"]
    assert list(storage.list("tex")) == []
    assert list(storage.list("articles/part-000.jsonl")) == ["articles/part-000.jsonl"]
    for key, data in files.items():
        assert read_all(storage, key) == data
    assert storage.exists("text/example.org/2024/a1.txt") and not storage.exists("text/nope.txt")
    with pytest.raises(FileNotFoundError):
        storage.open_read("text/nope.txt")
    assert (storage.uploaded, storage.failed) == (4, 0)
    assert storage.bytes_uploaded == sum(map(len, files.values()))
    assert spool_files(storage) == ["warc/newswarc-001.warc.gz.open"]  # uploaded files left the spool
    keys = [o["Key"] for o in s3_client(storage.endpoint_url).list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert sorted(keys) == sorted(f"run1/{k}" for k in files)  # the check marker was removed
    assert storage.display("text/x.txt") == f"s3://{s3_bucket}/run1/text/x.txt"


def test_same_layout_as_local(tmp_path, s3_bucket):
    local = LocalStorage(tmp_path / "local")
    remote = make(tmp_path, s3_bucket, prefix="")
    files = write_sample(local)
    write_sample(remote, files)
    remote.close()
    assert list(remote.list()) == list(local.list())
    for prefix in ("text", "text/example.org", "warc", "articles/part-000.jsonl", "missing"):
        assert list(remote.list(prefix)) == list(local.list(prefix)), prefix
    assert all(read_all(local, k) == read_all(remote, k) for k in local.list())
    assert remote.display("warc/a.warc.gz") == f"s3://{s3_bucket}/warc/a.warc.gz"


def test_from_uri_settings_and_open_storage(tmp_path, s3_bucket):
    settings = Settings({"NEWSWARC_SPOOL_DIR": str(tmp_path / "sp"), "NEWSWARC_S3_STORAGE_CLASS": "STANDARD_IA",
                         "NEWSWARC_S3_SSE": "AES256", "NEWSWARC_S3_UPLOAD_WORKERS": 2})
    storage = open_storage(f"s3://{s3_bucket}/a/b/", settings)
    assert isinstance(storage, S3Storage)
    assert (storage.uri, storage.work_dir, storage.workers) == (f"s3://{s3_bucket}/a/b", tmp_path / "sp", 2)
    storage.check()
    storage.write_bytes("x.txt", b"x")
    storage.close()
    head = s3_client(storage.endpoint_url).head_object(Bucket=s3_bucket, Key="a/b/x.txt")
    assert (head["StorageClass"], head["ServerSideEncryption"]) == ("STANDARD_IA", "AES256")


def test_multipart_upload_verified(tmp_path, s3_bucket):
    storage = make(tmp_path, s3_bucket, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    key = "warc/big.warc.gz"
    digest = hashlib.sha256()
    with open(storage.local_path(key), "wb") as fh:
        for _ in range(11):
            block = os.urandom(MiB)
            digest.update(block)
            fh.write(block)
    storage.commit(key)
    storage.close()
    head = s3_client(storage.endpoint_url).head_object(Bucket=s3_bucket, Key=f"run1/{key}")
    assert head["ETag"].strip('"').endswith("-3")  # 5 + 5 + 1 MiB parts
    assert head["ContentLength"] == 11 * MiB
    with storage.open_read(key) as body:
        back = hashlib.sha256()
        for chunk in iter(lambda: body.read(MiB), b""):
            back.update(chunk)
    assert back.hexdigest() == digest.hexdigest()
    assert (storage.uploaded, storage.failed, spool_files(storage)) == (1, 0, [])


def test_many_small_objects_and_rewrites(tmp_path, s3_bucket):
    storage = make(tmp_path, s3_bucket, workers=8)
    for i in range(120):
        storage.write_bytes(f"text/site/{i:03d}.txt", b"v1 %d" % i)
    storage.write_bytes("text/site/000.txt", b"v2")  # same key again while the first may be uploading
    storage.close()
    assert len(list(storage.list("text"))) == 120
    assert read_all(storage, "text/site/000.txt") == b"v2"
    assert spool_files(storage) == [] and storage.failed == 0


def test_outage_keeps_files_spooled_then_sync(tmp_path, s3_server, monkeypatch, caplog):
    aws_env(monkeypatch, s3_server)
    bucket = new_bucket(s3_server)
    proxy = TcpProxy(int(s3_server.rsplit(":", 1)[1])).up()
    try:
        storage = make(tmp_path, bucket, endpoint_url=proxy.url)
        storage.check()
        before = {f"text/before/{i}.txt": b"b%d" % i for i in range(3)}
        for key, data in before.items():
            storage.write_bytes(key, data)
        storage.wait()

        proxy.down()
        during = {f"text/during/{i}.txt": b"d%d" % i for i in range(3)}
        for key, data in during.items():
            storage.write_bytes(key, data)  # never raises: the failure is counted and spooled
        with open(storage.local_path("warc/w.warc.gz"), "wb") as fh:
            fh.write(b"warc bytes")
        storage.commit("warc/w.warc.gz")
        during["warc/w.warc.gz"] = b"warc bytes"
        with caplog.at_level(logging.WARNING, logger="crawler"):
            storage.wait()
        assert (storage.uploaded, storage.failed) == (3, 4)
        assert spool_files(storage) == sorted(during)
        warnings = [r for r in caplog.records if r.name.startswith("crawler") and r.levelno == logging.WARNING]
        assert len(warnings) == 4
        assert all("cannot reach endpoint http://127.0.0.1:" in r.getMessage() for r in warnings)
        assert all("\n" not in r.getMessage() and r.exc_info is None for r in warnings)

        proxy.up()  # S3 is back on the same address
        assert storage.sync() == 4
        storage.close()
        assert list(storage.list()) == sorted({**before, **during})  # nothing missing
        assert all(read_all(storage, k) == v for k, v in {**before, **during}.items())
        assert storage.uploaded == 7 and spool_files(storage) == []  # nothing uploaded twice
    finally:
        proxy.down()


def test_sync_spool_next_run(tmp_path, s3_server, monkeypatch):
    aws_env(monkeypatch, s3_server)
    bucket = new_bucket(s3_server)
    proxy = TcpProxy(int(s3_server.rsplit(":", 1)[1]))  # never up: this run cannot upload
    settings = Settings({"NEWSWARC_SPOOL_DIR": str(tmp_path / "spool"), "NEWSWARC_S3_UPLOAD_ATTEMPTS": 1,
                         "NEWSWARC_S3_MAX_ATTEMPTS": 1, "NEWSWARC_S3_ENDPOINT_URL": proxy.url})
    run = S3Storage.from_uri(f"s3://{bucket}/p", settings)
    run.write_bytes("a/1.txt", b"1")
    run.write_bytes("a/2.txt", b"2")
    run.local_path("warc/x.warc.gz.open").write_bytes(b"partial")
    run.close()
    assert run.failed == 2 and run.spooled() == 2

    settings.set("NEWSWARC_S3_ENDPOINT_URL", None)  # the same destination through AWS_ENDPOINT_URL
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    proxy.up()
    try:
        assert sync_spool(f"s3://{bucket}/p", settings) == (2, 0)
    finally:
        proxy.down()
    keys = [o["Key"] for o in s3_client(s3_server).list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(keys) == ["p/a/1.txt", "p/a/2.txt"]  # .open files are never uploaded
    assert (tmp_path / "spool" / "warc" / "x.warc.gz.open").exists()
    assert not (tmp_path / "spool" / "a").exists()  # empty directories pruned


def test_check_missing_bucket(tmp_path, s3_env):
    storage = make(tmp_path, "no-such-bucket-here")
    with pytest.raises(StorageError) as err:
        storage.check()
    assert str(err.value) == "s3://no-such-bucket-here/run1: bucket does not exist"
    storage.write_bytes("x.txt", b"x")
    storage.close()
    assert storage.failed == 1 and spool_files(storage) == ["x.txt"]


def test_check_unreachable_endpoint(tmp_path, s3_env):
    url = f"http://127.0.0.1:{free_port()}"
    storage = make(tmp_path, "bucket", endpoint_url=url)
    with pytest.raises(StorageError) as err:
        storage.check()
    assert str(err.value) == f"s3://bucket/run1: cannot reach endpoint {url}"


def test_endpoint_credentials_never_shown(tmp_path, s3_env):
    storage = make(tmp_path, "bucket", endpoint_url=f"http://user:{WRONG_SECRET}@127.0.0.1:{free_port()}")
    with pytest.raises(StorageError) as err:
        storage.check()
    assert WRONG_SECRET not in str(err.value) and "cannot reach endpoint http://127.0.0.1:" in str(err.value)


def test_no_credentials(tmp_path, s3_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StorageError, match=r"^s3://bucket/run1: no AWS credentials found"):
        make(tmp_path, "bucket").check()




def test_check_credentials(tmp_path, auth_server, monkeypatch, caplog):
    url, access_key, secret = auth_server
    aws_env(monkeypatch, url, access_key, secret)
    good = make(tmp_path / "good", "authed")
    good.check()
    good.write_bytes("ok.txt", b"ok")
    good.close()
    assert good.uploaded == 1

    aws_env(monkeypatch, url, access_key, WRONG_SECRET)
    bad = make(tmp_path / "bad", "authed")
    caplog.set_level(logging.DEBUG, logger="crawler")
    with pytest.raises(StorageError) as err:
        bad.check()
    assert str(err.value) == "s3://authed/run1: access denied (check credentials)"
    assert err.value.__cause__ is None and err.value.__suppress_context__
    bad.write_bytes("denied.txt", b"no")
    bad.close()
    assert (bad.uploaded, bad.failed, spool_files(bad)) == (0, 1, ["denied.txt"])
    assert "access denied (check credentials)" in caplog.text
    assert WRONG_SECRET not in caplog.text and secret not in caplog.text
    assert "Signature=" not in caplog.text and "X-Amz-" not in caplog.text


def test_spool_belongs_to_one_destination(tmp_path, s3_env):
    make(tmp_path, "bucket-a")
    with pytest.raises(StorageError, match="spool directory belongs to s3://bucket-a/run1"):
        make(tmp_path, "bucket-b")


def test_default_spool_dir_is_stable(tmp_path, s3_env, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = S3Storage.from_uri("s3://bkt/news/", None).work_dir
    assert first == S3Storage.from_uri("s3://bkt/news", None).work_dir
    assert first.parent == tmp_path / "cache" / "newswarc" / "spool" / "bkt"
    assert first != default_spool_dir("bkt", "other", s3_env)


def test_bad_keys_and_settings(tmp_path, s3_env):
    storage = make(tmp_path, "bucket")
    for key in ("../escape", "/abs", "a//b", ""):
        with pytest.raises(StorageError, match="invalid key"):
            storage.local_path(key)
    with pytest.raises(StorageError, match="cannot commit, no such file"):
        storage.commit("never/written.txt")
    with pytest.raises(StorageError, match="NEWSWARC_S3_SSE must be one of"):
        make(tmp_path, "bucket", sse="aes")
    with pytest.raises(StorageError, match="not an S3 URI"):
        S3Storage.from_uri("s3:///prefix")


def test_example_profile(tmp_path, s3_env):
    from crawler.config.profiles import load_profile

    settings = Settings()
    settings.setmodule("crawler.config.settings", priority="project")
    settings.setdict(load_profile(Path(__file__).parent.parent / "settings" / "s3.toml"), priority="project")
    settings.set("NEWSWARC_SPOOL_DIR", str(tmp_path / "spool"))
    storage = open_storage(settings["NEWSWARC_OUTPUT_URI"], settings)
    assert storage.display("warc/a.warc.gz") == "s3://my-news-archive/newswarc/warc/a.warc.gz"
    assert storage.extra_args == {"ChecksumAlgorithm": "SHA256", "StorageClass": "STANDARD_IA",
                                  "ServerSideEncryption": "AES256"}
    assert storage.multipart_threshold == 64 * MiB


def test_a_lease_taken_between_read_and_takeover_is_busy_in_one_line(tmp_path, s3_env, s3_bucket):
    """Two takers of an expired lease: S3 answers the later one 412, which is "in use", not a traceback."""
    from crawler.storage.lock import IN_USE, OutputBusy
    from crawler.storage.s3.lease import LEASE_KEY, S3Lease

    client = s3_client(s3_env)
    client.put_object(Bucket=s3_bucket, Key=f"run1/{LEASE_KEY}", Body=json.dumps(
        {"holder": "crawl killed", "host": "gone", "pid": 1, "expires": 1}).encode())
    storage = make(tmp_path, s3_bucket)

    def other_taker_wins(**kwargs):  # right after our read: the other taker's write changes the ETag
        client.put_object(Bucket=s3_bucket, Key=f"run1/{LEASE_KEY}", Body=b'{"holder": "the other taker"}')

    storage._client.meta.events.register("after-call.s3.GetObject", other_taker_wins)
    lease = S3Lease(storage, holder="crawl here")
    with pytest.raises(OutputBusy, match=IN_USE) as busy:
        lease.acquire()
    assert "\n" not in str(busy.value) and "took the lease a moment ago" in str(busy.value)
    body = client.get_object(Bucket=s3_bucket, Key=f"run1/{LEASE_KEY}")["Body"].read()
    assert b"the other taker" in body  # the winner's lease is untouched


def test_a_lease_taken_over_while_renewing_stops_renewing_and_is_left_alone(tmp_path, s3_env, s3_bucket, caplog):
    from crawler.storage.s3.lease import LEASE_KEY, S3Lease

    client = s3_client(s3_env)
    lease = S3Lease(make(tmp_path, s3_bucket), holder="crawl here", ttl=0.3)  # renewed every 0.1 s
    lease.acquire()
    client.put_object(Bucket=s3_bucket, Key=f"run1/{LEASE_KEY}", Body=b'{"holder": "took it over"}')
    with caplog.at_level(logging.WARNING, logger="crawler.storage.s3.lease"):
        lease._thread.join(timeout=10)
    assert not lease._thread.is_alive()  # it stopped renewing
    ours = [r for r in caplog.records if r.name == "crawler.storage.s3.lease"]
    assert [r.message for r in ours] == [f"s3://{s3_bucket}/run1: the output lease was taken over by "
                                         "another run; no longer renewing it"]
    assert not any(r.exc_info for r in ours)
    lease.release()
    body = client.get_object(Bucket=s3_bucket, Key=f"run1/{LEASE_KEY}")["Body"].read()
    assert body == b'{"holder": "took it over"}'  # not deleted: it is not ours


def test_a_lease_error_names_the_configured_endpoint(tmp_path, s3_env):
    from crawler.storage.s3.lease import S3Lease

    port = free_port()  # nothing listens there
    storage = make(tmp_path, "bucket", endpoint_url=f"http://127.0.0.1:{port}", connect_timeout=1)
    with pytest.raises(StorageError) as err:
        S3Lease(storage, holder="crawl here").acquire()
    assert f"cannot reach endpoint http://127.0.0.1:{port}" in str(err.value)
