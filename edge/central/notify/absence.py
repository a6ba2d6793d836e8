"""The absence pass, guarded: absence notices go out only when the school's gates were healthy before the cut-off.

Each pass, per school:
1. batches the office released are re-judged student by student with the one attendance rule (`absence_jobs`:
   a child whose tap has arrived since gets nothing) and queued — the jobs' unique keys keep each notice once;
2. the absence notices due now (cut-off + grace passed, no granted `in`) that are not queued yet are grouped by
   cut-off; a cut-off that already has a held batch (in any state) is left to the office's decision;
3. each remaining cut-off is judged (edge/central/gates/judge.py over [cut-off − window, now]): healthy → queued
   as before; not → a held batch with the reasons (edge/central/gates/holds.py), a WARNING in the log and the
   `held` counter — the office sees it on the web app.

Besides, each pass judges the gates as they are now (edge/central/gates/alarm.py): a change to "down" is logged as
a WARNING ("GATES DOWN at …") and, when `notify.holds.office_email` names the school's office, an e-mail to it
(gates_mail.py, at most one per `alarm_every_s`); back to "up" is INFO; `gates_down` is the state for the metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from edge.central.gates import holds
from edge.central.gates.alarm import gates_now
from edge.central.gates.evidence import load as load_evidence
from edge.central.gates.judge import Reason, Rules, Verdict, describe, judge
from edge.central.notify import jobs as q
from edge.central.notify.directory import SchoolDirectory
from edge.central.notify.gates_mail import gates_down_job
from edge.central.notify.hook import _rfc3339, excused_on
from edge.central.notify.planner import JobSpec, absence_jobs
from edge.central.web.db import WebTx

log = logging.getLogger(__name__)

Arrivals = Callable[[Any, str, datetime, datetime], set[str]]


@dataclass
class PassResult:
    queued: int = 0
    held: int = 0
    released: int = 0


@dataclass
class AbsenceGuard:
    rules: Rules
    grace_s: float
    arrivals: Arrivals
    office_email: dict[str, str] = field(default_factory=dict)
    """School id -> the office's address for the "gates down" e-mail (gates_mail.py)."""
    alarm_every_s: float = 1800.0
    gates_down: dict[str, bool] = field(default_factory=dict)
    """Per school: are its gates down now (the last pass's judgement)?"""
    _mailed: dict[str, float] = field(default_factory=dict)

    def run(
        self, conn: Any, dialect: q.Dialect, directories: Mapping[str, SchoolDirectory], now: datetime
    ) -> PassResult:
        out = PassResult()
        for d in directories.values():
            self._release(conn, dialect, d, now, out)
            self._due(conn, dialect, d, now, out)
            self._watch(conn, dialect, d, now)
        return out

    # ---------------------------------------------------------------------------------------------------------
    def _verdict(self, tx: WebTx, d: SchoolDirectory, start: datetime, now: datetime, *, expect: bool) -> Verdict:
        day_start = d.calendar.at(d.calendar.local_day(now), time.min)
        ev = load_evidence(tx, d.id, start.timestamp(), _rfc3339(day_start))
        return judge(ev, holds.registered_gateways(tx, d.id), self.rules, now.timestamp(), expect_checkins=expect)

    def _arrived(self, conn: Any, d: SchoolDirectory, day: date) -> set[str]:
        start = d.calendar.at(day, time.min)
        return self.arrivals(conn, d.id, start, start + timedelta(days=1))

    def _due(self, conn: Any, dialect: q.Dialect, d: SchoolDirectory, now: datetime, out: PassResult) -> None:
        judged = now - timedelta(seconds=self.grace_s)
        day = d.calendar.local_day(judged)
        jobs = absence_jobs(d, day, judged, self._arrived(conn, d, day), excused_on(conn, dialect, d.id, day))
        if not jobs:
            return
        tx = WebTx(conn, dialect)
        queued = {r["key"] for r in tx.query(
            "SELECT key FROM notify_jobs WHERE site_id = ? AND day = ? AND kind = 'absent'", (d.id, day.isoformat())
        )}  # fmt: skip
        groups: dict[str, list[JobSpec]] = {}
        for j in jobs:
            if j.key not in queued:
                groups.setdefault(j.time, []).append(j)
        if not groups:
            return
        names = {p.person_id: (p.name, p.class_name) for p in d.students.values()}
        with q.transaction(conn, dialect):
            decided = holds.cutoffs(tx, d.id, day)
            for cutoff, group in sorted(groups.items()):
                if cutoff in decided:
                    hold_id, status = decided[cutoff]
                    if status == "held":  # e.g. a guardian added since: the office's decision covers them too
                        out.held += holds.add(tx, hold_id, group, names)
                    continue
                h, m = (int(x) for x in cutoff.split(":"))
                cutoff_at = d.calendar.at(day, time(h, m))
                verdict = self._verdict(tx, d, cutoff_at - timedelta(seconds=self.rules.window_s), now, expect=True)
                if verdict.healthy:
                    out.queued += q.enqueue(q.ConnTx(conn, dialect), group)
                    continue
                holds.hold(tx, d.id, day, cutoff, verdict.reasons, group, names)
                out.held += len(group)
                log.warning(
                    "HELD %d absence notice(s) of %s %s cut-off %s: the gates were not healthy (%s); the office "
                    "releases or drops the batch on the web app",
                    len(group), d.id, day, cutoff, "; ".join(describe(r, d.calendar.tz) for r in verdict.reasons),
                )  # fmt: skip

    def _release(self, conn: Any, dialect: q.Dialect, d: SchoolDirectory, now: datetime, out: PassResult) -> None:
        tx = WebTx(conn, dialect)
        for b in holds.releasing(tx, d.id):
            people = {n.person_id for n in holds.notices(tx, b.id)}
            arrived = self._arrived(conn, d, b.day)
            excused = excused_on(conn, dialect, d.id, b.day)
            jobs = [j for j in absence_jobs(d, b.day, now, arrived, excused) if j.person_id in people]
            with q.transaction(conn, dialect):
                if not holds.finish_release(tx, b.id, 0, len(people & arrived)):
                    continue  # another notifier released it
                n = q.enqueue(q.ConnTx(conn, dialect), jobs)
                tx.execute("UPDATE absence_holds SET queued = ? WHERE id = ?", (n, b.id))
            out.released += n
            log.info(
                "released held batch %d of %s %s %s (by %s): %d notice(s) queued, %d student(s) arrived since",
                b.id, d.id, b.day, b.cutoff, b.decided_by, n, len(people & arrived),
            )  # fmt: skip

    def _watch(self, conn: Any, dialect: q.Dialect, d: SchoolDirectory, now: datetime) -> None:
        verdict = gates_now(WebTx(conn, dialect), d.id, self.rules, now.timestamp())
        down, was = not verdict.healthy, self.gates_down.get(d.id)
        self.gates_down[d.id] = down
        if down and was is not True:
            log.warning("GATES DOWN at %s: %s", d.id, "; ".join(describe(r, d.calendar.tz) for r in verdict.reasons))
            self._mail(conn, dialect, d, verdict.reasons, now)
        elif not down and was is True:
            log.info("gates at %s healthy again", d.id)

    def _mail(self, conn: Any, dialect: q.Dialect, d: SchoolDirectory, reasons: list[Reason], now: datetime) -> None:
        address = self.office_email.get(d.id)
        last = self._mailed.get(d.id)
        if address is None or (last is not None and now.timestamp() - last < self.alarm_every_s):
            return
        job = gates_down_job(d, reasons, now, address)
        if job is None:
            log.warning("gates down at %s: no email channel to tell the office (%s)", d.id, address)
            return
        with q.transaction(conn, dialect):
            q.enqueue(q.ConnTx(conn, dialect), [job])
        self._mailed[d.id] = now.timestamp()
        log.info("gates down at %s: the office (%s) is told by e-mail", d.id, address)
