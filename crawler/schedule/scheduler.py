"""``newswarc schedule``: run seeds on cron schedules, never two runs of one seed at once.

Each run is a fresh process (Twisted's reactor cannot restart), started by a ``run_seed``
callable, usually a :class:`SubprocessRunner`. Runs happen one at a time in the scheduler's
main thread, which keeps the timing simple and fakeable: a seed's ticks that fall while it
(or another seed) runs are skipped and logged, never queued up. Across processes, a
:class:`RunLock` (``flock``) per seed keeps a scheduler, a cron job and a manual run apart;
the kernel drops the lock when its holder dies, even by SIGKILL.

SIGTERM/SIGINT stop the scheduler cleanly: no new runs start, the running crawl gets one
SIGTERM (Scrapy's graceful shutdown closes its files), and once it has exited
:meth:`Scheduler.run_forever` returns 0.
"""

from __future__ import annotations

import collections
import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from croniter import CroniterBadDateError, croniter

from crawler.config.cron import validate_cron
from crawler.errors import ConfigError, NewswarcError
from crawler.storage.lock import RunLock, RunLockBusy  # noqa: F401  (RunLockBusy: part of this module's API)

logger = logging.getLogger(__name__)

_MAX_WAIT = 1.0  # real waits are chunked so that signals and clock jumps are noticed quickly


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def next_run(cron: str, after: datetime, *, source: object = "schedule") -> datetime:
    """The first time strictly after ``after`` that ``cron`` matches (naive ``after`` means UTC)."""
    cron = validate_cron(cron, source)
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    try:
        return croniter(cron, after).get_next(datetime)
    except CroniterBadDateError:
        raise ConfigError(
            source, "schedule", f"cron expression {cron!r} never matches after {after}"
        ) from None


@dataclass(frozen=True)
class ScheduledSeed:
    """A seed file to crawl whenever ``cron`` (UTC) matches; validated on creation."""

    name: str
    cron: str
    seed_path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "cron", validate_cron(self.cron, self.seed_path))


class SubprocessRunner:
    """A ``run_seed`` that runs ``argv_for(seed)`` as a child process and returns its exit code.

    The child gets its own session, so a Ctrl-C on the terminal reaches only the scheduler,
    which forwards one SIGTERM through :meth:`terminate` (a second signal would make Scrapy
    stop uncleanly).
    """

    def __init__(
        self,
        argv_for: Callable[[ScheduledSeed], Sequence[str]],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ):
        self._argv_for, self._cwd, self._env = argv_for, cwd, env
        self._procs: set[subprocess.Popen] = set()
        self._signalled: set[int] = set()
        self._terminating = False

    def __call__(self, seed: ScheduledSeed) -> int:
        argv = list(self._argv_for(seed))
        logger.debug("Starting %s", argv)
        proc = subprocess.Popen(argv, cwd=self._cwd, env=self._env, start_new_session=True)
        self._procs.add(proc)
        try:
            if self._terminating:  # stop() came while the child was being started
                self._signal(proc)
            return proc.wait()
        finally:
            self._procs.discard(proc)

    def terminate(self) -> None:
        """Send SIGTERM once to every running child (safe in a signal handler: no locks)."""
        self._terminating = True
        for proc in list(self._procs):
            self._signal(proc)

    def _signal(self, proc: subprocess.Popen) -> None:
        if proc.pid not in self._signalled and proc.poll() is None:
            self._signalled.add(proc.pid)
            logger.info("Forwarding SIGTERM to crawl pid %d", proc.pid)
            proc.send_signal(signal.SIGTERM)


@dataclass(frozen=True)
class RunRecord:
    """One finished run, as logged."""

    seed: str
    started: datetime
    ended: datetime
    exit_code: int


class Scheduler:
    """Runs due seeds one at a time until stopped (or until ``max_runs`` runs, for tests)."""

    def __init__(
        self,
        seeds: list[ScheduledSeed],
        run_seed: Callable[[ScheduledSeed], int],
        *,
        lock_dir: Path,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] | None = None,
        max_runs: int | None = None,
        on_stop: Callable[[], None] | None = None,
    ):
        names = [s.name for s in seeds]
        if len(set(names)) != len(names):
            raise NewswarcError(f"schedule: seed names must be unique, got {names}")
        self.seeds, self._run_seed, self.lock_dir = list(seeds), run_seed, Path(lock_dir)
        self._clock, self._sleep, self._max_runs, self._on_stop = clock, sleep, max_runs, on_stop
        self._stopping = False
        self._running: str | None = None
        self.runs_started = 0
        self.skipped = 0
        self.history: collections.deque[RunRecord] = collections.deque(maxlen=100)

    def stop(self) -> None:
        """Start no new run; forward one SIGTERM (``on_stop``) to a running crawl."""
        if self._stopping:
            logger.info("Already stopping; waiting for the running crawl to finish")
            return
        self._stopping = True
        logger.info(
            "Stopping the scheduler%s", f"; waiting for {self._running} to finish" if self._running else ""
        )
        if self._running and self._on_stop:
            self._on_stop()

    def run_forever(self) -> int:
        """Wait for due seeds and run them; returns 0 after a stop or ``max_runs`` runs."""
        if not self.seeds:
            logger.info("No scheduled seeds")
            return 0
        restore = self._install_signal_handlers()
        try:
            now = self._clock()
            due = {s.name: next_run(s.cron, now, source=s.seed_path) for s in self.seeds}
            for seed in self.seeds:
                logger.info(
                    "Scheduled %s (%s): next run %s", seed.name, seed.cron, due[seed.name].isoformat()
                )
            while not self._stopping and (self._max_runs is None or self.runs_started < self._max_runs):
                now = self._clock()
                ready = [s for s in self.seeds if due[s.name] <= now]
                if not ready:
                    self._wait((min(due.values()) - now).total_seconds())
                    continue
                seed = min(ready, key=lambda s: (due[s.name], s.name))
                late = self._ticks_between(seed, due[seed.name], now)
                if late:  # another seed's crawl was running: one late run stands for all of them
                    self.skipped += late
                    logger.info("Skipped %d due run(s) of %s: another crawl was running", late, seed.name)
                due[seed.name] = next_run(seed.cron, now, source=seed.seed_path)
                self._run_once(seed)
                ended = self._clock()
                if due[seed.name] <= ended:  # ticks of this seed during its own run are dropped
                    missed = 1 + self._ticks_between(seed, due[seed.name], ended)
                    self.skipped += missed
                    logger.info("Skipped %d due run(s) of %s: it was still running", missed, seed.name)
                    due[seed.name] = next_run(seed.cron, ended, source=seed.seed_path)
            return 0
        finally:
            restore()

    @staticmethod
    def _ticks_between(seed: ScheduledSeed, first: datetime, last: datetime) -> int:
        """How many ticks fall after ``first`` and up to ``last`` (capped)."""
        count, tick = 0, next_run(seed.cron, first)
        while tick <= last and count < 10_000:
            count, tick = count + 1, next_run(seed.cron, tick)
        return count

    def _run_once(self, seed: ScheduledSeed) -> None:
        lock = RunLock(self.lock_dir, seed.name)
        if not lock.acquire():
            self.skipped += 1
            logger.info("Skipped %s: running in another process (pid %s)", seed.name, lock.holder_pid())
            return
        try:
            self._running = seed.name
            if self._stopping:  # a signal came just before: stop() did not see this run
                return
            self.runs_started += 1
            started = self._clock()
            logger.info("Run of %s started (%s)", seed.name, seed.seed_path)
            try:
                code = self._run_seed(seed)
            except Exception:
                logger.error("Run of %s could not be started", seed.name, exc_info=True)
                code = 1
            ended = self._clock()
            self.history.append(RunRecord(seed.name, started, ended, code))
            level = logging.INFO if code == 0 else logging.WARNING
            logger.log(
                level,
                "Run of %s ended: exit code %d, %.1f s",
                seed.name,
                code,
                (ended - started).total_seconds(),
            )
        finally:
            self._running = None
            lock.release()

    def _wait(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            time.sleep(min(seconds, _MAX_WAIT))

    def _install_signal_handlers(self) -> Callable[[], None]:
        """SIGTERM/SIGINT call :meth:`stop` (main thread only); returns a function restoring them."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {
            sig: signal.signal(sig, lambda signum, frame: self.stop())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore
