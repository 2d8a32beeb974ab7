"""A real S3 API on loopback for tests: moto in server mode (a subprocess), plus an on/off TCP proxy.

Import the fixtures in ``tests/conftest.py`` (or a test module)::

    from tests.s3_server import s3_bucket, s3_env, s3_server  # noqa: F401

``s3_server`` (session) yields the endpoint URL; ``s3_bucket`` (function) sets the AWS_*
environment for that endpoint and yields a fresh, empty bucket name.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator

import boto3
import pytest

from tests.crawl_helpers import free_port

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


class MotoServer:
    """``python -m moto.server`` on 127.0.0.1 in a subprocess: isolated state, a real stop."""

    def __init__(self, port: int | None = None, env: dict[str, str] | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = env or {}
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> MotoServer:
        env = {**os.environ, **self._env}
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self._proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._proc.returncode} (port {self.port} taken?)")
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.url}")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None


class TcpProxy:
    """Forwards 127.0.0.1:port to a target; ``down()`` closes the port (refused), ``up()`` reopens it.

    ``silence()`` makes it a silent endpoint: connections are accepted and what they send is swallowed,
    never answered (a timeout, not a refusal); ``speak()`` forwards new connections again, the ones
    accepted while silent stay silent. Without a target it is silent from the start; with
    ``silence_on`` it goes silent at the first request that holds those bytes.
    """

    def __init__(self, target_port: int | None = None, port: int | None = None, *, silence_on: bytes | None = None):
        self.target_port = target_port
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.silent = target_port is None
        self.silence_on = silence_on
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def silence(self) -> None:
        self.silent = True

    def speak(self) -> None:
        self.silent = False

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            listener.close()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = None
            if not self.silent:
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.target_port))
                except OSError:
                    client.close()
                    continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    if upstream is not None:
                        upstream.close()
                    return
                self._conns += [client] if upstream is None else [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, client: socket.socket, upstream: socket.socket | None) -> None:
        """Copy both ways until either side closes; while silent, swallow instead of copying."""
        socks = [client] if upstream is None else [client, upstream]
        try:
            while True:
                ready, _, _ = select.select(socks, [], [], 1.0)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client and self.silence_on and self.silence_on in data:
                        self.silent = True
                    if upstream is not None and not self.silent:
                        (upstream if sock is client else client).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            client.close()
            if upstream is not None:
                upstream.close()


def s3_client(endpoint: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY):
    """A plain boto3 client for arranging and inspecting test state."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=access_key, aws_secret_access_key=secret_key)


def new_bucket(endpoint: str) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def aws_env(monkeypatch: pytest.MonkeyPatch, endpoint: str, access_key: str = ACCESS_KEY,
            secret_key: str = SECRET_KEY) -> None:
    """Point boto3's standard chain at ``endpoint``; ignore the user's own AWS config."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Endpoint URL of a moto S3 server shared by the session."""
    server = MotoServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS_* environment pointing at the session server; returns the endpoint URL."""
    aws_env(monkeypatch, s3_server)
    return s3_server


@pytest.fixture
def s3_bucket(s3_env: str) -> str:
    """A fresh empty bucket on the session server (the AWS_* environment points there)."""
    return new_bucket(s3_env)


@pytest.fixture(scope="module")
def auth_server():
    """A moto server that checks signatures (IAM), with one user allowed s3:* and a bucket."""
    server = MotoServer(env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"}).start()
    try:
        iam = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1",
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="writer")
        key = iam.create_access_key(UserName="writer")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="writer", PolicyName="s3", PolicyDocument=json.dumps(policy))
        s3_client(server.url).create_bucket(Bucket="authed")
        yield server.url, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        server.stop()
