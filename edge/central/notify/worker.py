"""The notifier (`edge notify run`): one thread per school channel sends that channel's jobs; one thread queues the
absence notices when a cut-off passes.

Threads (each named, each stopped by the one stop event, started and stopped in this order):
  notify-<school>-<channel>  claim due jobs of the channel, wait for its rate limit, send, record the answer
  notify-absence             after each class's cut-off (+ grace), queue "has not arrived" for who has not —
                             or hold them when the gates were not healthy (absence.py)

A channel that fails (RetryAfter) pauses with exponential backoff and gives its untried jobs back without counting an
attempt: an SMTP server down for two minutes costs each notice at most a few attempts, and the other channels go on.
A notice that cannot be rendered or sent (its channel raised) is dead-lettered with the reason and the loop goes on:
no single notice can stop a channel (a thread stops only for a bug outside a send, or the store). A provider outage
never touches check-in storage: jobs are rows in the store, nothing more.

On PostgreSQL several notifier processes can run (claims use SKIP LOCKED); on SQLite run one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from edge.central.gates.judge import Rules
from edge.central.notify import jobs as q
from edge.central.notify.absence import AbsenceGuard
from edge.central.notify.channels import Channel, Outcome, PermanentFailure, RetryAfter, build_channels
from edge.central.notify.directory import SchoolDirectory
from edge.config.central import NotifyConfig
from edge.ops.heartbeat import Heartbeat, Heartbeats

log = logging.getLogger(__name__)

PAUSE_BEAT_S = 0.2
"""A loop waiting on purpose beats this often: well inside the shortest heartbeat age (half the watchdog period;
the tests run a 2 s watchdog), so a 1 s idle wait can never look like a stuck loop."""

Connect = Callable[[], tuple[Any, q.Dialect]]
"""Opens a new connection to the central store: (connection in autocommit mode, dialect)."""
Arrivals = Callable[[Any, str, datetime, datetime], set[str]]
"""(connection, site, start, end) -> person ids with a granted 'in' check-in in [start, end)."""
SendObserver = Callable[[str, str, str, str, float], None]
"""(site, channel, notice kind, 'sent' | 'retried' | 'dead', seconds the send took): metrics (edge/ops)."""


class Notifier:
    def __init__(
        self,
        notify: NotifyConfig,
        directories: Mapping[str, SchoolDirectory],
        connect: Connect,
        arrivals: Arrivals | None = None,
        *,
        channels: dict[tuple[str, str], Channel] | None = None,
        clock: Callable[[], datetime] | None = None,
        heartbeats: Heartbeats | None = None,
        observe: SendObserver | None = None,
    ) -> None:
        self.cfg = notify
        self.directories = directories
        self.connect = connect
        self.arrivals = arrivals
        self.absence = (
            AbsenceGuard(
                Rules.of(notify.holds),
                notify.absence_grace_s,
                arrivals,
                notify.holds.office_email,
                notify.holds.alarm_every_s,
            )
            if arrivals is not None
            else None
        )
        """The guarded absence pass: holds a cut-off's notices when the gates were not healthy."""
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.policy = q.Policy(notify.max_attempts, notify.backoff_initial_s, notify.backoff_max_s)
        if channels is None:
            channels = {}
            for site, d in directories.items():
                channels.update({(site, name): ch for name, ch in build_channels(d.school, connect).items()})
        self.channels = channels
        self.stop_event = threading.Event()
        self.heartbeats = heartbeats or Heartbeats()
        """Each loop beats once per round: the systemd watchdog (edge.ops.supervision) pings only while they do."""
        self.observe = observe
        self.counters: dict[str, int] = {"sent": 0, "retried": 0, "dead": 0, "absence_queued": 0, "absence_held": 0}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        for (site, name), ch in self.channels.items():
            t = threading.Thread(target=self._guard, args=(self._channel_loop, site, ch), name=f"notify-{site}-{name}")
            self._threads.append(t)
        if self.arrivals is not None:
            self._threads.append(
                threading.Thread(target=self._guard, args=(self._absence_loop,), name="notify-absence")
            )
        for t in self._threads:
            t.start()
        log.info("notifier started: %s", ", ".join(t.name for t in self._threads))

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        for t in self._threads:
            t.join(timeout)
        for ch in self.channels.values():
            ch.close()
        log.info("notifier stopped: %s", self.counters)

    def _guard(self, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        except BaseException as exc:  # a bug, or the store gone: record it, stop everything, exit non-zero
            log.exception("%s failed", threading.current_thread().name)
            self.errors.append(exc)
            self.stop_event.set()

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + n

    # sending ---------------------------------------------------------------------------------------------
    def _channel_loop(self, site: str, ch: Channel) -> None:
        conn, dialect = self.connect()
        hb = self.heartbeats.register(threading.current_thread().name)
        failures = 0
        try:
            while not self.stop_event.is_set():
                hb.beat()
                batch = q.claim(conn, dialect, site, ch.name, limit=self.cfg.batch, lease_s=self.cfg.lease_s)
                if not batch:
                    self.stop_event.wait(self.cfg.poll_s)
                    continue
                for i, job in enumerate(batch):
                    if not ch.limiter.acquire(self.stop_event):
                        q.release(conn, dialect, batch[i:])
                        return
                    started = time.monotonic()
                    outcome = self._send(ch, job)
                    took = time.monotonic() - started
                    status = q.finish(conn, dialect, job, outcome, self.policy, duration_ms=took * 1000)
                    hb.beat()
                    counted = {"sent": "sent", "queued": "retried", "dead": "dead"}[status]
                    self._count(counted)
                    if self.observe is not None:
                        self.observe(site, ch.name, job.spec.kind, counted, took)
                    if status == "dead":
                        log.warning("notice %s dead: %s", job.spec.key, getattr(outcome, "reason", outcome))
                    if isinstance(outcome, RetryAfter) and outcome.pause_channel:
                        failures += 1
                        q.release(conn, dialect, batch[i + 1 :])
                        pause = max(outcome.seconds or 0.0, self.policy.backoff(failures))
                        log.warning("channel %s/%s: %s; pausing %.1fs", site, ch.name, outcome.reason, pause)
                        self._pause(pause, hb)
                        break
                    failures = 0
        finally:
            hb.retire()
            conn.close()

    def _send(self, ch: Channel, job: q.Job) -> Outcome:
        """The channel's answer; a notice that cannot be rendered or sent at all (the channel raised) is
        dead-lettered with the exception as its reason. One poisoned notice (a name with CR LF from an old roster,
        a channel's bug on one input) must not stop every parent's notices: the loop goes on with the next."""
        try:
            return ch.send(job.spec.notice())
        except Exception as exc:
            log.exception("notice %s on %s/%s cannot be sent; dead-lettered", job.spec.key, job.spec.site, ch.name)
            return PermanentFailure(f"cannot be rendered or sent: {type(exc).__name__}: {exc}")

    def _pause(self, seconds: float, hb: Heartbeat) -> None:
        """A deliberate wait (a channel's backoff) is progress: beat through it, so the watchdog can tell it from
        a send that hangs."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self.stop_event.wait(min(left, PAUSE_BEAT_S)):
            hb.beat()

    # absences --------------------------------------------------------------------------------------------
    def _absence_loop(self) -> None:
        conn, dialect = self.connect()
        hb = self.heartbeats.register("notify-absence")
        try:
            while not self.stop_event.is_set():
                hb.beat()
                self.absence_pass(conn, dialect, self.clock())
                # idle between passes is not being stuck: beat through it (a pass that hangs stops the beats)
                self._pause(max(1.0, self.cfg.poll_s), hb)
        finally:
            hb.retire()
            conn.close()

    def absence_pass(self, conn: Any, dialect: q.Dialect, now: datetime) -> int:
        """Queue the absence notices due at `now` (cut-off + grace passed) — or hold them when the gates were not
        healthy, and queue the batches the office released (edge/central/notify/absence.py); returns how many
        notices were queued."""
        assert self.absence is not None
        result = self.absence.run(conn, dialect, self.directories, now)
        new = result.queued + result.released
        if new:
            self._count("absence_queued", new)
            log.info("queued %d absence notice(s)", new)
        if result.held:
            self._count("absence_held", result.held)
        return new
