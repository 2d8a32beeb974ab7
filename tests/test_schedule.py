"""Scheduler: cron maths, cross-process locks, fake-clock runs, and a real SIGTERM shutdown."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.config.cron import validate_cron
from crawler.errors import ConfigError
from crawler.schedule.scheduler import RunLock, RunLockBusy, ScheduledSeed, Scheduler, next_run

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC)


def at(minute: int, second: int = 0) -> datetime:
    return datetime(2024, 1, 1, 0, minute, second, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when slept on (or advanced by a fake crawl)."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def seed(name: str = "demo", cron: str = "* * * * *") -> ScheduledSeed:
    return ScheduledSeed(name, cron, Path(f"seeds/{name}.toml"))


# --- cron


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        ("* * * * *", at(0, 30), at(1)),
        ("* * * * *", at(1), at(2)),  # strictly after
        ("*/15 * * * *", at(16), at(30)),
        ("0 */6 * * *", datetime(2024, 1, 1, 7, 0, tzinfo=UTC), datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        (
            "30 2 * * 1",
            datetime(2024, 1, 1, 3, 0, tzinfo=UTC),
            datetime(2024, 1, 8, 2, 30, tzinfo=UTC),
        ),  # Mondays
        ("0 0 1 * *", datetime(2024, 1, 31, 23, 59, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)),
        ("0 0 29 2 *", datetime(2024, 3, 1, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),
        ("@hourly", at(0, 30), datetime(2024, 1, 1, 1, 0, tzinfo=UTC)),
        ("@daily", at(0, 30), datetime(2024, 1, 2, tzinfo=UTC)),
        ("* * * * *", datetime(2024, 1, 1, 0, 0, 30), at(1)),  # naive means UTC
    ],
)
def test_next_run(cron, after, expected):
    assert next_run(cron, after) == expected


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("61 * * * *", "bad cron expression '61 * * * *': "),
        ("* * * *", "bad cron expression '* * * *': 4 fields; expected 5 fields"),
        ("0 * * * * *", "6 fields"),
        ("@reboot", "unsupported cron alias '@reboot'"),
        ("", "missing cron expression"),
        ("0 0 30 2 *", "never matches"),
        ("every hour", "bad cron expression 'every hour'"),
    ],
)
def test_bad_cron_is_a_config_error(cron, problem):
    with pytest.raises(ConfigError) as info:
        validate_cron(cron, "seeds/demo.toml")
    assert (info.value.path, info.value.key) == ("seeds/demo.toml", "schedule")
    assert str(info.value).startswith("seeds/demo.toml: schedule: ")
    assert problem in str(info.value)


def test_scheduled_seed_validates_against_its_file():
    with pytest.raises(ConfigError, match=r"^seeds/bad.toml: schedule: bad cron"):
        ScheduledSeed("bad", "99 * * * *", Path("seeds/bad.toml"))
    assert ScheduledSeed("ok", "  @Daily ", Path("x.toml")).cron == "@daily"


# --- locks

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from crawler.schedule.scheduler import RunLock
    lock = RunLock(Path(sys.argv[1]), "demo")
    print("locked" if lock.acquire() else "busy", flush=True)
    time.sleep(60)
    """
)


def test_run_lock_in_one_process(tmp_path):
    first, second = RunLock(tmp_path, "demo"), RunLock(tmp_path, "demo")
    assert first.acquire() and first.locked
    assert not second.acquire()
    assert RunLock(tmp_path, "other").acquire()
    with pytest.raises(RunLockBusy, match=rf"demo: already running \(pid {os.getpid()}, lock "):
        with second:
            pass
    first.release()
    with second:
        assert second.locked and not first.acquire()
    assert not second.locked and first.acquire()
    assert RunLock(tmp_path, "a/b c").path == tmp_path / "a_b_c.lock"


def test_run_lock_across_processes_and_after_sigkill(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        lock = RunLock(tmp_path, "demo")
        assert not lock.acquire()
        assert lock.holder_pid() == holder.pid
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert lock.acquire(), "the kernel should drop a dead holder's flock"
        # and now the other way round: a second process cannot take it from us
        other = subprocess.run(
            [sys.executable, "-c", HOLDER.replace("time.sleep(60)", ""), str(tmp_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert other.stdout.strip() == "busy"
        lock.release()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(shutil.which("flock") is None, reason="util-linux flock not installed")
def test_run_lock_is_shared_with_the_flock_command(tmp_path):
    lock = RunLock(tmp_path, "demo")
    assert lock.acquire()
    busy = subprocess.run(["flock", "-n", str(lock.path), "true"], timeout=10)
    assert busy.returncode != 0
    lock.release()
    assert subprocess.run(["flock", "-n", str(lock.path), "true"], timeout=10).returncode == 0


# --- the scheduler with a fake clock


def test_runs_a_seed_every_minute_never_overlapping(tmp_path):
    clock, spans, active = FakeClock(), [], []

    def run_seed(s: ScheduledSeed) -> int:
        assert not active, "two runs at once"
        active.append(s)
        start = time.monotonic()
        time.sleep(0.05)
        spans.append((clock(), start, time.monotonic()))
        active.pop()
        return 0

    sched = Scheduler([seed()], run_seed, lock_dir=tmp_path, clock=clock, sleep=clock.sleep, max_runs=2)
    assert sched.run_forever() == 0
    assert [s[0] for s in spans] == [at(1), at(2)]
    assert spans[0][2] <= spans[1][1]
    assert [(r.seed, r.started, r.exit_code) for r in sched.history] == [
        ("demo", at(1), 0),
        ("demo", at(2), 0),
    ]
    assert sched.skipped == 0


def test_skips_ticks_while_the_previous_run_is_still_running(tmp_path, caplog):
    clock, starts = FakeClock(), []

    def run_seed(s: ScheduledSeed) -> int:
        starts.append(clock())
        clock.now += timedelta(seconds=150 if len(starts) == 1 else 5)  # the first crawl takes 2.5 minutes
        return 0

    sched = Scheduler([seed()], run_seed, lock_dir=tmp_path, clock=clock, sleep=clock.sleep, max_runs=2)
    with caplog.at_level(logging.INFO, logger="crawler.schedule"):
        assert sched.run_forever() == 0
    assert starts == [at(1), at(4)]  # 00:02 and 00:03 fell during the first run
    assert sched.skipped == 2
    assert "Skipped 2 due run(s) of demo: it was still running" in caplog.text
    assert "Run of demo ended: exit code 0, 150.0 s" in caplog.text


def test_two_seeds_take_turns(tmp_path):
    clock, runs = FakeClock(), []

    def run_seed(s: ScheduledSeed) -> int:
        runs.append((s.name, clock()))
        clock.now += timedelta(seconds=10)
        return 0

    seeds = [seed("b"), seed("a")]
    sched = Scheduler(seeds, run_seed, lock_dir=tmp_path, clock=clock, sleep=clock.sleep, max_runs=4)
    sched.run_forever()
    assert runs == [("a", at(1)), ("b", at(1, 10)), ("a", at(2)), ("b", at(2, 10))]


def test_a_seed_delayed_by_another_crawl_runs_late_once(tmp_path, caplog):
    clock, runs = FakeClock(), []

    def run_seed(s: ScheduledSeed) -> int:
        runs.append((s.name, clock()))
        clock.now += timedelta(seconds=150 if s.name == "a" else 5)
        return 0

    sched = Scheduler(
        [seed("a"), seed("b")], run_seed, lock_dir=tmp_path, clock=clock, sleep=clock.sleep, max_runs=3
    )
    with caplog.at_level(logging.INFO, logger="crawler.schedule"):
        sched.run_forever()
    # b was due at 00:01, 00:02 and 00:03 while a ran: one late run at 00:03:30 stands for them
    assert runs == [("a", at(1)), ("b", at(3, 30)), ("a", at(4))]
    assert "Skipped 2 due run(s) of b: another crawl was running" in caplog.text


def test_skips_a_seed_locked_by_another_process(tmp_path, caplog):
    clock, runs = FakeClock(), []
    other = RunLock(tmp_path, "demo")
    assert other.acquire()

    def sleep(seconds: float) -> None:
        if clock.now >= at(1):
            other.release()  # the other run ends before the next tick
        clock.sleep(seconds)

    def run_seed(s: ScheduledSeed) -> int:
        runs.append(clock())
        return 0

    sched = Scheduler([seed()], run_seed, lock_dir=tmp_path, clock=clock, sleep=sleep, max_runs=1)
    with caplog.at_level(logging.INFO, logger="crawler.schedule"):
        sched.run_forever()
    assert runs == [at(2)] and sched.skipped == 1
    assert f"Skipped demo: running in another process (pid {os.getpid()})" in caplog.text


def test_a_failing_run_is_logged_and_the_schedule_goes_on(tmp_path, caplog):
    clock, calls = FakeClock(), []

    def run_seed(s: ScheduledSeed) -> int:
        calls.append(clock())
        if len(calls) == 1:
            raise FileNotFoundError("newswarc")
        return 3

    sched = Scheduler([seed()], run_seed, lock_dir=tmp_path, clock=clock, sleep=clock.sleep, max_runs=2)
    with caplog.at_level(logging.INFO, logger="crawler.schedule"):
        assert sched.run_forever() == 0
    assert [r.exit_code for r in sched.history] == [1, 3]
    assert "Run of demo could not be started" in caplog.text
    assert any(r.levelno == logging.WARNING and "exit code 3" in r.getMessage() for r in caplog.records)


def test_stop_during_a_run_lets_it_finish_and_starts_no_more(tmp_path):
    clock, forwarded, runs = FakeClock(), [], []
    sched: Scheduler

    def run_seed(s: ScheduledSeed) -> int:
        runs.append(clock())
        sched.stop()
        sched.stop()  # a second signal: still one forward
        return 0

    sched = Scheduler(
        [seed()],
        run_seed,
        lock_dir=tmp_path,
        clock=clock,
        sleep=clock.sleep,
        on_stop=lambda: forwarded.append(1),
    )
    assert sched.run_forever() == 0
    assert runs == [at(1)] and forwarded == [1]
    assert RunLock(tmp_path, "demo").acquire()  # released


def test_duplicate_seed_names_are_refused(tmp_path):
    with pytest.raises(Exception, match="seed names must be unique"):
        Scheduler([seed(), seed()], lambda s: 0, lock_dir=tmp_path)


# --- a real scheduler process and SIGTERM

SCHEDULER_SCRIPT = textwrap.dedent(
    """
    import logging, sys, time
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from crawler.schedule.scheduler import ScheduledSeed, Scheduler, SubprocessRunner

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    work, child_argv = Path(sys.argv[1]), sys.argv[2:]
    t0, base = time.monotonic(), datetime(2024, 1, 1, 0, 0, 59, 700000, tzinfo=UTC)  # first tick in 0.3 s
    clock = lambda: base + timedelta(seconds=time.monotonic() - t0)
    runner = SubprocessRunner(lambda seed: child_argv)
    sched = Scheduler([ScheduledSeed("demo", "* * * * *", work / "demo.toml")], runner,
                      lock_dir=work / "locks", clock=clock, on_stop=runner.terminate)
    sys.exit(sched.run_forever())
    """
)

GRACEFUL_CHILD = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    work, got = Path(sys.argv[1]), []
    signal.signal(signal.SIGTERM, lambda *a: got.append(1))
    signal.signal(signal.SIGINT, lambda *a: got.append(2))
    (work / "started").write_text("x")
    deadline = time.monotonic() + 20
    while not got and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.7)  # "closing files"
    (work / "finished").write_text(repr(got))
    """
)


def start_scheduler(tmp_path: Path, *child_argv: str) -> subprocess.Popen:
    script = tmp_path / "sched.py"
    script.write_text(SCHEDULER_SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), *child_argv],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


@pytest.mark.parametrize("signals", [(signal.SIGTERM,), (signal.SIGINT, signal.SIGTERM)])
def test_signal_stops_the_scheduler_after_the_running_crawl_finishes(tmp_path, signals):
    child = tmp_path / "child.py"
    child.write_text(GRACEFUL_CHILD)
    sched = start_scheduler(tmp_path, sys.executable, str(child), str(tmp_path))
    try:
        wait_for(tmp_path / "started", sched)
        sent = time.monotonic()
        for sig in signals:
            sched.send_signal(sig)
            time.sleep(0.1)
        assert sched.wait(15) == 0
        elapsed = time.monotonic() - sent
        assert (tmp_path / "finished").read_text() == "[1]"  # one SIGTERM, and the child had finished
        assert 0.6 < elapsed < 8, elapsed
        log = sched.stderr.read()
        assert "Forwarding SIGTERM to crawl pid" in log and "Run of demo ended: exit code 0" in log
    finally:
        sched.kill()
        sched.wait()


def test_sigterm_with_a_sleep_child(tmp_path):
    pidfile = tmp_path / "started"
    sched = start_scheduler(
        tmp_path, "sh", "-c", f"echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; exec sleep 2"
    )
    try:
        wait_for(pidfile, sched)
        child_pid = int(pidfile.read_text())
        sched.send_signal(signal.SIGTERM)
        assert sched.wait(10) == 0
        with pytest.raises(ProcessLookupError):  # the child was ended and reaped, not orphaned
            os.kill(child_pid, 0)
        assert "Run of demo ended: exit code -15" in sched.stderr.read()
    finally:
        sched.kill()
        sched.wait()
