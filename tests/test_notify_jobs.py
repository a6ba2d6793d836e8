"""Notification jobs in the store (SQLite and PostgreSQL): planned from check-ins in the storing transaction, one per
(student, school day, kind, guardian), claimed with leases (SKIP LOCKED on PostgreSQL), retried with backoff,
dead-lettered, retried by hand; the absence pass and the late follow-up; the worker against a real receiver."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge.central.notify import jobs as q
from edge.central.notify.channels import Accepted, PermanentFailure, RetryAfter, build_channel
from edge.central.notify.directory import DirectoryError, SchoolDirectory, load_directories
from edge.central.notify.hook import NotifyHook, arrivals, connect
from edge.central.notify.planner import JobSpec, absence_jobs, jobs_for_checkin
from edge.central.notify.receivers import HttpReceiver
from edge.central.notify.worker import Notifier
from edge.central.store import CheckinStore, open_store
from edge.cli import cli
from edge.config.central import WebhookChannel
from tests.gate_evidence import vouch
from tests.helpers import wait_until
from tests.notify_support import DAY, GUARDIANS, SECRET, central, checkin, local


@pytest.fixture
def directory(tmp_path: Path) -> SchoolDirectory:
    return load_directories(central(tmp_path))["s1"]


# the store, both dialects ---------------------------------------------------------------------------------------
@dataclass
class Db:
    store: CheckinStore
    conn: Any
    dialect: q.Dialect
    connect: Callable[[], tuple[Any, q.Dialect]]
    url: str

    def __iter__(self) -> Iterator[Any]:  # conn, dialect, connect = db
        return iter((self.conn, self.dialect, self.connect))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """The central store (its migrations make the notify tables) and a connection of the notifier's own."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/central.sqlite"
    else:
        url = request.getfixturevalue("postgres").fresh_database()
    store = open_store(url)
    conn, dialect = connect(url)
    yield Db(store, conn, dialect, lambda: connect(url), url)
    conn.close()
    store.close()


def store_checkin(db: Db, d: SchoolDirectory, event: dict[str, Any]) -> int:
    """What the collector does: the check-in batch stored with the notify hook in its transaction."""
    hook = NotifyHook({d.id: d})
    db.store.store_batch([event], on_stored=hook)
    return hook.queued


def rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql).fetchall()]


# planning (pure) -----------------------------------------------------------------------------------------------
def test_arrival_plans_one_notice_per_guardian(directory: SchoolDirectory) -> None:
    jobs = jobs_for_checkin(directory, checkin(directory, "07:12"))
    assert [(j.guardian_id, j.template, j.language) for j in jobs] == [
        ("minh_anh-g1", "arrived", "vi"),
        ("minh_anh-g2", "arrived", "en"),
    ]
    assert jobs[0].text == "Minh Anh (6A) đã đến trường lúc 07:12 (cổng chính)."
    assert jobs[1].text == "Minh Anh (6A) arrived at school at 07:12 (main gate)."
    assert jobs[0].key == "s1/minh_anh/2026-11-24/arrived/minh_anh-g1" and jobs[0].phone == "+84912345678"


def test_what_is_never_sent(directory: SchoolDirectory) -> None:
    d = directory
    assert jobs_for_checkin(d, checkin(d, "07:12", decision="denied")) == []
    assert jobs_for_checkin(d, checkin(d, "07:12", decision="unknown", person_id=None)) == []
    assert jobs_for_checkin(d, checkin(d, "07:12", person="stranger")) == []
    assert jobs_for_checkin(d, checkin(d, "07:12", site_id="other-school")) == []
    assert jobs_for_checkin(d, checkin(d, "07:12", day=date(2026, 11, 29))) == []  # Sunday
    assert jobs_for_checkin(d, checkin(d, "07:12", person="khoa")) == []  # no guardians
    assert jobs_for_checkin(d, checkin(d, "12:00", direction="out")) == []  # before dismissal
    assert jobs_for_checkin(d, checkin(d, "07:12", occurred_at="yesterday")) == []


def test_late_arrival_and_left(directory: SchoolDirectory) -> None:
    d = directory
    late = jobs_for_checkin(d, checkin(d, "08:03"))
    assert [j.template for j in late] == ["arrived_late", "arrived_late"]
    assert late[1].text == "Minh Anh (6A) arrived late at school at 08:03 (main gate)."
    # Lan opted into absences only: she gets the late arrival as the follow-up, not an on-time one
    assert [j.guardian_id for j in jobs_for_checkin(d, checkin(d, "08:03", person="bao"))] == ["bao-g1"]
    assert jobs_for_checkin(d, checkin(d, "07:00", person="bao")) == []
    left = jobs_for_checkin(d, checkin(d, "16:31", direction="out"))
    assert [(j.kind, j.guardian_id) for j in left] == [("left", "minh_anh-g1")]
    assert left[0].text == "Minh Anh (6A) đã rời trường lúc 16:31 (cổng chính)."


def test_absence_jobs(directory: SchoolDirectory) -> None:
    d = directory
    assert absence_jobs(d, DAY, local(d, "07:14"), arrived=set()) == []
    due = absence_jobs(d, DAY, local(d, "07:15"), arrived={"minh_anh"})
    assert [(j.person_id, j.guardian_id, j.text) for j in due] == [
        ("bao", "bao-g1", "Bảo Ngọc (7B) chưa đến trường tính đến 07:15.")
    ]
    assert absence_jobs(d, date(2026, 11, 29), local(d, "09:00", date(2026, 11, 29)), set()) == []


def test_directory_errors_listed(tmp_path: Path) -> None:
    cfg = central(tmp_path)
    (tmp_path / "guardians.csv").write_text(GUARDIANS + "ghost,X,,,app,vi,\nbao,Y,,,sms,vi,\n")
    with pytest.raises(DirectoryError) as exc:
        load_directories(cfg)
    assert [p.split(": ", 2)[-1] for p in exc.value.problems] == [
        "line 5: person_id 'ghost' is not in the roster",
        "line 6: channel 'sms' is not one of this school's channels ['app']",
    ]


# the outbox in the store ------------------------------------------------------------------------------------------
def test_enqueue_in_the_storing_transaction(db: Db, directory: SchoolDirectory) -> None:
    conn, dialect, _ = db
    event = checkin(directory, "07:12")
    assert store_checkin(db, directory, event) == 2
    # redelivery of the same event, and a second tap (new event id) the same morning: no new notice
    assert store_checkin(db, directory, event) == 0
    assert store_checkin(db, directory, checkin(directory, "07:20")) == 0
    assert db.store.count() == 2
    assert rows(conn, "SELECT COUNT(*) FROM notify_jobs") == [(2,)]

    # a failed transaction stores neither the check-in nor its notices
    def failing(tx: Any, stored: list[dict[str, Any]]) -> None:
        NotifyHook({directory.id: directory})(tx, stored)
        raise RuntimeError("a bug after the jobs were written")

    with pytest.raises(RuntimeError):
        db.store.store_batch([checkin(directory, "16:40", direction="out")], on_stored=failing)
    assert db.store.count() == 2
    assert rows(conn, "SELECT COUNT(*) FROM notify_jobs") == [(2,)]
    notices = q.notices_of(conn, dialect, "s1", "minh_anh", DAY)
    assert [(n["kind"], n["status"], n["language"]) for n in notices] == [("arrived", "queued", "vi"),
                                                                          ("arrived", "queued", "en")]  # fmt: skip


def test_absence_then_late_follow_up(db: Db, directory: SchoolDirectory) -> None:
    conn, dialect, _ = db
    d = directory
    with q.transaction(conn, dialect):
        assert q.enqueue(q.ConnTx(conn, dialect), absence_jobs(d, DAY, local(d, "07:20"), set())) == 2  # Bình, Lan
    with q.transaction(conn, dialect):
        assert q.enqueue(q.ConnTx(conn, dialect), absence_jobs(d, DAY, local(d, "07:30"), set())) == 0  # again
    assert store_checkin(db, d, checkin(d, "08:03")) == 2
    got = {(n["kind"], n["template"], n["guardian_id"]) for n in q.notices_of(conn, dialect, "s1", "minh_anh")}
    assert got == {
        ("absent", "absent", "minh_anh-g1"),
        ("arrived", "arrived_late", "minh_anh-g1"),
        ("arrived", "arrived_late", "minh_anh-g2"),
    }


def test_claim_finish_retry_dead(db: Db, directory: SchoolDirectory) -> None:
    conn, dialect, _ = db
    store_checkin(db, directory, checkin(directory, "07:12"))
    policy = q.Policy(max_attempts=2, backoff_initial_s=10, backoff_max_s=60)
    now = time.time() + 5
    a, b = q.claim(conn, dialect, "s1", "app", limit=10, lease_s=30, now=now + 1)
    assert (a.attempts, b.attempts) == (1, 1)
    assert q.claim(conn, dialect, "s1", "app", limit=10, lease_s=30, now=now + 2) == []  # leased
    assert q.finish(conn, dialect, a, Accepted("HTTP 200"), policy, duration_ms=3, now=now + 3) == "sent"
    assert q.finish(conn, dialect, b, RetryAfter(None, "HTTP 503"), policy, duration_ms=3, now=now + 3) == "queued"
    assert q.claim(conn, dialect, "s1", "app", limit=10, lease_s=30, now=now + 4) == []  # backing off (5–10 s)
    (b2,) = q.claim(conn, dialect, "s1", "app", limit=10, lease_s=30, now=now + 14)
    assert b2.attempts == 2
    assert q.finish(conn, dialect, b2, RetryAfter(None, "HTTP 503"), policy, duration_ms=3, now=now + 15) == "dead"
    st = q.status(conn, dialect)
    assert sorted(st.counts) == [("arrived", "app", "dead", 1), ("arrived", "app", "sent", 1)]
    assert st.last_errors[0][3] == "gave up after 2 attempts: HTTP 503"
    assert st.failed == {("arrived", "app"): 2}
    shown = CliRunner().invoke(cli, ["notify", "status", "--store", db.url])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[1].split() == ["arrived", "app", "0", "0", "1", "1", "2"]
    assert "[dead] app s1/minh_anh/2026-11-24/arrived/minh_anh-g" in shown.output
    attempts = rows(conn, "SELECT attempt, outcome, detail FROM notify_attempts ORDER BY id")
    assert attempts == [(1, "accepted", "HTTP 200"), (1, "retry", "HTTP 503"), (2, "retry", "HTTP 503")]
    assert CliRunner().invoke(cli, ["notify", "retry", "--store", db.url]).output == "1 notice(s) queued again\n"
    (b3,) = q.claim(conn, dialect, "s1", "app", limit=10, lease_s=30)
    assert b3.attempts == 1 and b3.spec.key == b.spec.key
    assert q.finish(conn, dialect, b3, PermanentFailure("HTTP 400 bad number"), policy, duration_ms=1) == "dead"
    assert q.status(conn, dialect).last_errors[0][3] == "permanent: HTTP 400 bad number"
    lines = CliRunner().invoke(cli, ["notify", "notices", "--store", db.url, "s1", "minh_anh"]).output.splitlines()
    assert sorted(json.loads(x)["status"] for x in lines) == ["dead", "sent"]


def test_lease_expiry_and_release(db: Db, directory: SchoolDirectory) -> None:
    conn, dialect, _ = db
    store_checkin(db, directory, checkin(directory, "07:12"))
    now = time.time() + 5
    first = q.claim(conn, dialect, "s1", "app", limit=1, lease_s=30, now=now)
    # the worker dies (kill -9) holding it: after the lease, it is claimed again and the gap is recorded
    again = q.claim(conn, dialect, "s1", "app", limit=1, lease_s=30, now=now + 31)
    assert [j.spec.key for j in again] == [first[0].spec.key] and again[0].interrupted and again[0].attempts == 2
    assert rows(conn, "SELECT outcome FROM notify_attempts") == [("interrupted",)]
    q.release(conn, dialect, again)
    (back,) = q.claim(conn, dialect, "s1", "app", limit=1, lease_s=30, now=now + 32)
    assert back.attempts == 2  # release did not count an attempt
    assert len(q.claim(conn, dialect, "s1", "app", limit=5, lease_s=30, now=now + 33)) == 1  # the other job


def test_concurrent_claims_never_share_a_job(db: Db, directory: SchoolDirectory) -> None:
    conn, dialect, connect = db
    specs = [
        JobSpec(f"s1/p{i}/2026-11-24/arrived/g", "s1", f"p{i}", DAY, "arrived", "g", "app", "vi", "arrived",
                "07:00", "t", "s", None, None, None)
        for i in range(300)
    ]  # fmt: skip
    with q.transaction(conn, dialect):
        q.enqueue(q.ConnTx(conn, dialect), specs)
    taken: list[list[str]] = [[], [], []]
    go = threading.Event()

    def worker(n: int) -> None:
        c, dia = connect()
        go.wait()
        try:
            while batch := q.claim(c, dia, "s1", "app", limit=7, lease_s=60):
                taken[n].extend(j.spec.key for j in batch)
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(n,), name=f"claimer-{n}") for n in range(3)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(60)
    everything = taken[0] + taken[1] + taken[2]
    assert len(everything) == 300 and len(set(everything)) == 300


# the worker against a real receiver ----------------------------------------------------------------------------
def test_worker_delivers_and_dead_letters(db: Db, tmp_path: Path) -> None:
    conn, dialect, connect = db
    receiver = HttpReceiver(secret=SECRET, dedupe=True)
    receiver.responder = lambda body, _h: (400, {}) if body["guardian_id"] == "minh_anh-g2" else None
    cfg = central(tmp_path, receiver.url)
    d = load_directories(cfg)["s1"]
    store_checkin(db, d, checkin(d, "07:12"))
    notifier = Notifier(cfg.notify, {"s1": d}, connect)
    notifier.start()
    try:
        assert receiver.wait_for(1, 30)
        wait_until(lambda: notifier.counters["dead"] == 1, 30, "the 400 dead-lettered")
    finally:
        notifier.stop()
    assert notifier.errors == []
    assert [r.body["text"] for r in receiver.received] == ["Minh Anh (6A) đã đến trường lúc 07:12 (cổng chính)."]
    st = dict(((k, s), n) for k, _c, s, n in q.status(conn, dialect).counts)
    assert st == {("arrived", "sent"): 1, ("arrived", "dead"): 1}
    assert "HTTP 400" in q.status(conn, dialect).last_errors[0][3]
    receiver.close()


def test_absence_pass_in_the_worker(db: Db, directory: SchoolDirectory) -> None:
    conn, dialect, connect = db
    d = directory
    store_checkin(db, d, checkin(d, "07:05", person="bao"))

    cfg = central(Path(d.school.roster or ".").parent).notify
    n = Notifier(cfg, {"s1": d}, connect, arrivals, channels={})
    vouch(conn, dialect, "s1", ["gw-1"], local(d, "05:00").timestamp(), local(d, "07:16").timestamp() + 1)
    assert n.absence_pass(conn, dialect, local(d, "07:15")) == 0  # within the grace after the cut-off
    assert n.absence_pass(conn, dialect, local(d, "07:16") + timedelta(seconds=1)) == 1  # Bình: minh_anh absent
    assert n.absence_pass(conn, dialect, local(d, "09:00")) == 0
    assert [(x["kind"], x["guardian_id"]) for x in q.notices_of(conn, dialect, "s1", "minh_anh")] == [
        ("absent", "minh_anh-g1")
    ]


def test_channel_outage_does_not_burn_attempts(db: Db, tmp_path: Path) -> None:
    conn, _dialect, connect = db
    cfg = central(tmp_path)
    d = load_directories(cfg)["s1"]
    for person, hhmm in (("minh_anh", "07:01"), ("bao", "08:00")):
        store_checkin(db, d, checkin(d, hhmm, person=person))
    receiver = HttpReceiver(secret=SECRET, dedupe=True)
    down = {"on": True}
    receiver.responder = lambda _b, _h: (503, {}) if down["on"] else None
    ch = build_channel(WebhookChannel(name="app", type="webhook", url=receiver.url, secret=SECRET), "s1")
    policy = cfg.notify.model_copy(update={"max_attempts": 50})
    notifier = Notifier(policy, {"s1": d}, connect, channels={("s1", "app"): ch})
    notifier.start()
    try:
        wait_until(lambda: notifier.counters["retried"] >= 5, 30, "a few failed attempts")
        down["on"] = False
        assert receiver.wait_for(3, 30)
    finally:
        notifier.stop()
    # one probe per pause: the rest of the batch was given back untried, so failed attempts are spaced by the
    # backoff (>= 0.5 x 0.05 s), not fired back to back for every queued notice
    times = [r[0] for r in rows(conn, "SELECT at FROM notify_attempts WHERE outcome = 'retry' ORDER BY at")]
    assert len(times) >= 5
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.02
    assert receiver.distinct == 3 and receiver.duplicates == 0
    receiver.close()
