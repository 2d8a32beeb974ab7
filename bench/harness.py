"""Benchmark plumbing: the demo site as static files behind nginx, and per-process measurement.

The site is served from a separate process (nginx when installed, else
:mod:`bench.static_server`, labeled as the slower fallback) so that the server is not what is
being measured. Each tool under test runs as a child process reaped with ``os.wait4``, which
gives that child's own rusage: CPU seconds (its waited-for children, such as extraction
workers, included) and ``ru_maxrss`` (the largest of the child and any one of its children, but
never below the bench's own peak: Linux carries a parent's high-water mark into a forked child;
:func:`via_fresh_parent` avoids that). The child's own peak RSS is sampled from
``/proc/PID/status`` (``VmHWM``, reset at exec): that is the figure the reports use.
"""

from __future__ import annotations

import http.client
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{
        text/html html;
        application/xml xml xsl;
        text/plain txt;
        application/x-gzip gz;
    }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/html text/plain application/xml application/rss+xml application/atom+xml;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    gzip on;
    gzip_vary on;
    gzip_types application/xml application/rss+xml application/atom+xml;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location ^~ /feed/ {{ types {{ }} default_type application/rss+xml; }}
        location ^~ /feed/atom/ {{ types {{ }} default_type application/atom+xml; }}
    }}
}}
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the site's absolute URLs need it before the server starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary() -> str | None:
    """Path of nginx (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                          if os.access(p, os.X_OK)), None)


def nginx_version(binary: str) -> str:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()
    return out.rsplit("/", 1)[-1] if "/" in out else out


class StaticSite:
    """The demo site written as static files under ``workdir`` and served on 127.0.0.1 from another process.

    Use as a context manager; ``url`` is the base URL, ``server`` names what serves it. ``build``
    writes another site instead (``build(www, base_url)`` returns its article count), such as
    :func:`bench.realsite.write_site`'s real pages; ``label`` names the site in the report.
    """

    def __init__(self, workdir: Path, n_articles: int = 0, *, seed: int = 42, use_nginx: bool = True,
                 build: Callable[[Path, str], int] | None = None, label: str = "demo site"):
        self.workdir, self.n_articles, self.seed, self.use_nginx = Path(workdir), n_articles, seed, use_nginx
        self.build, self.label = build, label
        self.port = 0
        self.server = ""
        self.files = 0
        self.build_seconds = 0.0
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StaticSite:
        from crawler.demo.site import build_site

        self.port = free_port()
        www = self.workdir / "www"
        started = time.perf_counter()
        if self.build is not None:
            self.n_articles = self.build(www, self.url)
        else:
            build_site(self.n_articles, self.seed).write_static(www, base_url=self.url)
        self.build_seconds = time.perf_counter() - started
        self.files = sum(1 for p in www.rglob("*") if p.is_file())
        nginx = nginx_binary() if self.use_nginx else None
        if nginx:
            self._start_nginx(nginx, www)
        else:
            if self.use_nginx:
                logger.warning("nginx is not installed: serving the site with the (slower) Python fallback server")
            self.server = "python http.server (fallback: nginx not installed; slower)"
            self._proc = subprocess.Popen([sys.executable, "-m", "bench.static_server", str(www), str(self.port)],
                                          cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()
        return self

    def _start_nginx(self, binary: str, www: Path) -> None:
        prefix = self.workdir / "nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=prefix, port=self.port, root=www), encoding="utf-8")
        user = "user root;\n" if os.geteuid() == 0 else ""  # else workers run as nobody: no access to a 0700 temp dir
        conf.write_text(user + conf.read_text(encoding="utf-8"), encoding="utf-8")
        self.server = f"nginx {nginx_version(binary)} (1 worker, gzip on)"
        self._proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise RuntimeError(f"{self.server} exited with {self._proc.returncode}: {err.strip()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/robots.txt")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.server} did not answer on port {self.port} within {timeout:.0f} s")

    def __exit__(self, *exc: object) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGQUIT if self.server.startswith("nginx") else signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


@dataclass
class Measured:
    """What one child process and its descendants cost: wall and CPU seconds, peak RSS (KiB), exit code."""

    wall_s: float
    cpu_s: float  # the child's own CPU plus every descendant's (sampled), user + sys
    main_cpu_s: float  # the child's own CPU (the reactor process for a crawl)
    main_rss_kib: int  # the child's own peak RSS (VmHWM)
    tree_rss_kib: int  # peak of the summed RSS of the child and its descendants (sampled)
    ru_cpu_s: float  # os.wait4: the child plus the descendants it reaped itself
    ru_maxrss_kib: int  # os.wait4: the largest of the child and any one reaped descendant (floored by the bench's own)
    processes: int
    returncode: int
    #: each kind of process's largest own peak RSS (VmHWM, KiB): ``main`` (the command), ``spawned`` (children
    #: started by multiprocessing's spawn: a crawl's WARC writer), ``forkserver`` (the fork server and the
    #: processes it forked: a crawl's extraction workers), ``other``
    process_rss_kib: dict[str, int] = field(default_factory=dict)
    #: CPU seconds by the same kinds, summed over the processes of each kind: where the work went
    process_cpu_s: dict[str, float] = field(default_factory=dict)
    #: [seconds since start, the child's own CPU s, the tree's CPU s] about once a second: where the
    #: cores were busy, and where they waited (start-up, the tail of extraction after the last fetch)
    timeline: list[list[float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(ppid, own user+sys seconds, RSS KiB) from /proc/PID/stat, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE_KIB


_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _TreeSampler(threading.Thread):
    """Every ``interval`` s: each descendant's own CPU so far, and the tree's summed RSS."""

    def __init__(self, pid: int, interval: float = 0.25, every: float = 1.0):
        super().__init__(daemon=True)
        self.pid, self.interval, self.every = pid, interval, every
        self.cpu: dict[int, float] = {}
        self.tree_rss = self.main_hwm = 0
        self.stop = threading.Event()
        self.started = time.perf_counter()
        self.timeline: list[list[float]] = []
        self.kinds: dict[int, str] = {}
        self.kind_hwm: dict[str, int] = {}

    def _kind(self, pid: int) -> str:
        if pid not in self.kinds:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    cmdline = fh.read()
            except OSError:
                return "other"
            self.kinds[pid] = ("main" if pid == self.pid else "forkserver" if b"forkserver" in cmdline
                               else "spawned" if b"spawn_main" in cmdline else "other")
        return self.kinds[pid]

    def cpu_by_kind(self) -> dict[str, float]:
        by_kind: dict[str, float] = {}
        for pid, cpu in self.cpu.items():
            kind = self._kind(pid)
            by_kind[kind] = by_kind.get(kind, 0.0) + cpu
        return {kind: round(cpu, 2) for kind, cpu in by_kind.items()}

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        procs = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (st := _stat(int(entry))):
                procs[int(entry)] = st
        tree, todo = set(), [self.pid]
        while todo:
            p = todo.pop()
            tree.add(p)
            todo.extend(c for c, st in procs.items() if st[0] == p and c not in tree)
        rss = 0
        for p in tree & procs.keys():
            _, cpu, kib = procs[p]
            self.cpu[p] = max(self.cpu.get(p, 0.0), cpu)
            rss += kib
            kind = self._kind(p)
            self.kind_hwm[kind] = max(self.kind_hwm.get(kind, 0), _vm_hwm(p))
        self.tree_rss = max(self.tree_rss, rss)
        self.main_hwm = max(self.main_hwm, _vm_hwm(self.pid))
        now = time.perf_counter() - self.started
        if not self.timeline or now - self.timeline[-1][0] >= self.every:
            self.timeline.append([round(now, 2), round(self.cpu.get(self.pid, 0.0), 2),
                                  round(sum(self.cpu.values()), 2)])


def run_measured(cmd: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 1800,
                 log: Path | None = None) -> Measured:
    """Run ``cmd`` to completion and measure its process tree; stdout+stderr go to ``log``.

    The child is waited for without reaping first (``waitid(WNOWAIT)``), so that its final own
    CPU time can still be read from ``/proc`` before ``os.wait4`` collects its rusage.
    """
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - started
            sampler.stop.set()
            sampler.join()
            sampler.sample()  # the zombie's final own CPU time
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            sampler.stop.set()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    main_cpu = sampler.cpu.get(proc.pid, ru.ru_utime + ru.ru_stime)
    # sampling misses the last moments of a descendant that ends between two samples; wait4 counts
    # the descendants the child reaped itself, so the tree used at least that much
    tree_cpu = max(sum(sampler.cpu.values()), ru.ru_utime + ru.ru_stime)
    return Measured(wall_s=wall, cpu_s=tree_cpu, main_cpu_s=main_cpu,
                    main_rss_kib=max(sampler.main_hwm, 0) or ru.ru_maxrss, tree_rss_kib=sampler.tree_rss,
                    ru_cpu_s=ru.ru_utime + ru.ru_stime, ru_maxrss_kib=ru.ru_maxrss,
                    processes=len(sampler.cpu), returncode=proc.returncode, timeline=sampler.timeline,
                    process_rss_kib=dict(sampler.kind_hwm), process_cpu_s=sampler.cpu_by_kind())



# A parent as small as Python gets, between a big process (pytest, the bench) and the command measured.
# Linux carries the parent's peak RSS into a forked child's ``ru_maxrss`` (exec keeps the old memory's
# high-water mark in the process's rusage), so a 300 MiB pytest made every command it ran look like a
# 300 MiB command. The child of this parent starts from the parent's few MiB.
_FRESH_PARENT = """
import os, signal, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda n, _f: proc.send_signal(n))
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def via_fresh_parent(cmd: list[str], rss_file: Path) -> list[str]:
    """``cmd`` run under a minimal Python parent that writes the command's ``ru_maxrss`` (KiB: the
    command and the processes it reaped) to ``rss_file`` and exits as the command did. Signals
    SIGTERM/SIGINT are passed on to the command."""
    return [sys.executable, "-c", _FRESH_PARENT, str(rss_file), *cmd]


def read_rss_kib(rss_file: Path) -> int:
    """What :func:`via_fresh_parent` wrote (0 when the parent was killed before it could)."""
    try:
        return int(Path(rss_file).read_text() or 0)
    except (OSError, ValueError):
        return 0
