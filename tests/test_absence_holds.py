"""Never a false absence notice (#20), in the store (SQLite and PostgreSQL) with a pinned clock: a cut-off's absence
notices are queued only when the gates were healthy before it; otherwise the batch is held with its reasons, and
the office's release re-judges each student (who arrived since gets nothing, each notice once) or its drop sends
nothing. The real processes (collector, gateway, broker, notifier) are in test_absence_holds_live.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.central.gates import holds
from edge.central.gates.evidence import Evidence, Link, LinkObservation, record_link, record_uptime
from edge.central.gates.judge import Reason, Rules, describe, judge
from edge.central.notify import jobs as q
from edge.central.notify.directory import SchoolDirectory, load_directories
from edge.central.notify.hook import NotifyHook, arrivals, connect
from edge.central.notify.worker import Notifier
from edge.central.store import CheckinStore, open_store
from edge.central.web.db import WebTx
from edge.config.central import parse_central_text
from tests.gate_evidence import vouch

ROSTER = "person_id,name,class,card_uid\nminh_anh,Minh Anh,6A,\nbao,Bảo Ngọc,7B,\nkhoa,Khoa,7B,\n"
GUARDIANS = (
    "person_id,name,phone,email,channel,language,kinds\n"
    "minh_anh,Bình,0912 345 678,,app,vi,arrived;absent\n"
    "bao,Lan,,,app,vi,absent\n"
)
DAY = date(2026, 11, 24)  # a Tuesday in term; cut-off 07:15, grace 60 s: judged from 07:16


class School:
    """One school's store, directory and notifier (no channels: queued notices stay in the store)."""

    def __init__(self, store: CheckinStore, url: str, d: SchoolDirectory, notifier: Notifier) -> None:
        self.store, self.url, self.d, self.notifier = store, url, d, notifier
        self.conn, self.dialect = connect(url)
        self.tx = WebTx(self.conn, self.dialect)

    def at(self, hhmm: str, seconds: int = 0) -> datetime:
        h, m = (int(x) for x in hhmm.split(":"))
        return self.d.calendar.at(DAY, datetime(2000, 1, 1, h, m).time()) + timedelta(seconds=seconds)

    def ts(self, hhmm: str, seconds: int = 0) -> float:
        return self.at(hhmm, seconds).timestamp()

    def tap(self, person: str, hhmm: str) -> None:
        event = {
            "schema_version": 1, "event_id": f"e-{person}-{hhmm}", "site_id": "s1", "gateway_id": "gw-1", "seq": 1,
            "method": "card", "gate": "main-in", "direction": "in", "decision": "granted", "person_id": person,
            "occurred_at": self.at(hhmm).astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }  # fmt: skip
        self.store.store_batch([event], on_stored=NotifyHook({"s1": self.d}))

    def passes(self, *hhmm: str) -> int:
        return sum(self.notifier.absence_pass(self.conn, self.dialect, self.at(t, 1)) for t in hhmm)

    def absent(self) -> list[tuple[str, str]]:
        rows = self.tx.query("SELECT person_id, guardian_id FROM notify_jobs WHERE kind = 'absent' ORDER BY key")
        return [(r["person_id"], r["guardian_id"]) for r in rows]

    def link(self, status: str, hhmm: str, seconds: int = 0, **kw: Any) -> None:
        at = self.ts(hhmm, seconds)
        obs = LinkObservation("s1", "gw-1", status, at, at if status == "online" else None, transitions=[(at, status)])
        for k, v in kw.items():
            setattr(obs, k, v)
        with q.transaction(self.conn, self.dialect):
            record_link(self.tx, obs)

    def only_batch(self) -> holds.HeldBatch:
        (b,) = holds.batches(self.tx, "s1")
        return b


@pytest.fixture(params=["sqlite", "postgresql"])
def school(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[School]:
    (tmp_path / "roster.csv").write_text(ROSTER)
    (tmp_path / "guardians.csv").write_text(GUARDIANS)
    text = """
schools:
  - id: s1
    name: Trường A
    timezone: Asia/Ho_Chi_Minh
    roster: roster.csv
    guardians: guardians.csv
    calendar: {terms: [{name: T1, start: 2026-09-05, end: 2027-01-16}], cutoff: "07:15", dismissal: "16:30"}
    channels:
      - {name: app, type: webhook, url: "http://127.0.0.1:9/", secret: s3cret-s3cret-s3cret}
      - {name: mail, type: email, host: 127.0.0.1, port: 9, sender: diemdanh@school.example}
notify:
  absence_grace_s: 60
  holds: {window_s: 3600, max_gap_s: 60, stale_s: 120, stuck_outbox_s: 60, office_email: {s1: vp@school.example}}
"""
    cfg = parse_central_text(text, env={}, base_dir=tmp_path)
    d = load_directories(cfg)["s1"]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/central.sqlite"
    else:
        url = request.getfixturevalue("postgres").fresh_database()
    store = open_store(url)
    s = School(store, url, d, Notifier(cfg.notify, {"s1": d}, lambda: connect(url), arrivals, channels={}))
    yield s
    s.conn.close()
    store.close()


def test_healthy_gates_send_as_before(school: School) -> None:
    vouch(school.conn, school.dialect, "s1", ["gw-1"], school.ts("05:00"), school.ts("07:16", 1))
    school.tap("bao", "07:05")
    assert school.passes("07:14", "07:15") == 0  # before the cut-off + grace
    assert school.passes("07:16") == 1
    assert school.absent() == [("minh_anh", "minh_anh-g1")]
    assert holds.batches(school.tx, "s1") == []
    assert school.passes("07:30", "09:00") == 0


def test_gateway_offline_before_the_cutoff_holds_the_batch(school: School) -> None:
    vouch(school.conn, school.dialect, "s1", ["gw-1"], school.ts("05:00"), school.ts("07:16", 1))
    school.link("offline", "07:00")  # its last will: the network is cut, or it died
    school.tap("khoa", "06:55")  # a check-in before: "no check-in at all" is not the reason here
    assert school.passes("07:16", "07:20", "08:00") == 0
    assert school.absent() == []
    b = school.only_batch()
    assert (b.status, b.cutoff, b.day, b.notices, b.students) == ("held", "07:15", DAY, 2, 2)
    assert [r.code for r in b.reasons] == ["gateway_down"]
    assert (b.reasons[0].gateway, b.reasons[0].status, b.reasons[0].until) == ("gw-1", "offline", None)
    assert describe(b.reasons[0], school.d.calendar.tz) == "gateway gw-1 offline from 07:00:00 to now"
    assert {(n.person_id, n.guardian_id, n.name) for n in holds.notices(school.tx, b.id)} == {
        ("minh_anh", "minh_anh-g1", "Minh Anh"), ("bao", "bao-g1", "Bảo Ngọc"),
    }  # fmt: skip
    assert school.notifier.counters["absence_held"] == 2


def test_a_blip_shorter_than_the_gap_is_tolerated(school: School) -> None:
    vouch(school.conn, school.dialect, "s1", ["gw-1"], school.ts("05:00"), school.ts("07:16", 1))
    school.link("offline", "07:00")
    school.link("online", "07:00", 30)  # 30 s < max_gap_s 60: its outbox kept the taps
    school.link("online", "07:16", 1, health_at=school.ts("07:16"), outbox_depth=0)
    school.tap("bao", "07:00")
    assert school.passes("07:16") == 1
    assert holds.batches(school.tx, "s1") == []


def test_collector_down_before_the_cutoff_holds_the_batch(school: School) -> None:
    vouch(school.conn, school.dialect, "s1", ["gw-1"], school.ts("05:00"), school.ts("07:16", 1), collector="x")
    with q.transaction(school.conn, school.dialect):
        school.tx.execute("DELETE FROM collector_uptime")
        record_uptime(school.tx, "col-1", school.ts("05:00"), school.ts("06:50"))
        record_uptime(school.tx, "col-1", school.ts("07:10"), school.ts("07:16", 1))  # back, but 20 min away
    school.tap("bao", "07:05")
    assert school.passes("07:16") == 0
    reasons = school.only_batch().reasons
    assert [(r.code, r.until) for r in reasons] == [("collector_down", school.ts("07:10"))]


def test_no_checkin_at_all_holds_the_batch(school: School) -> None:
    vouch(school.conn, school.dialect, "s1", ["gw-1"], school.ts("05:00"), school.ts("07:16", 1))
    assert school.passes("07:16") == 0
    b = school.only_batch()
    assert [r.code for r in b.reasons] == ["no_checkins"] and b.students == 2


def test_what_the_store_cannot_vouch_for_is_unhealthy(school: School) -> None:
    school.tap("bao", "07:05")
    assert school.passes("07:16") == 0  # no collector ever, no gateway registered
    assert [r.code for r in school.only_batch().reasons] == ["collector_never", "no_gateways"]


def test_taps_stuck_in_a_gateway_outbox_hold_the_batch(school: School) -> None:
    vouch(school.conn, school.dialect, "s1", ["gw-1"], school.ts("05:00"), school.ts("07:16", 1))
    school.link("online", "07:16", health_at=school.ts("07:16"), outbox_depth=7, outbox_oldest_age_s=900.0)
    school.tap("bao", "07:05")
    assert school.passes("07:16") == 0
    (r,) = school.only_batch().reasons
    assert (r.code, r.gateway, r.count) == ("gateway_backlog", "gw-1", 7)


def test_release_after_the_taps_flowed_sends_exactly_the_truly_absent(school: School) -> None:
    vouch(school.conn, school.dialect, "s1", ["gw-1"], school.ts("05:00"), school.ts("07:16", 1))
    school.link("offline", "07:00")
    assert school.passes("07:16") == 0
    b = school.only_batch()
    # the gateway comes back at 07:40 and its outbox flows: Bảo had tapped at 07:05
    school.link("online", "07:40")
    school.tap("bao", "07:05")
    assert school.passes("07:41") == 0  # the held cut-off waits for the office
    with q.transaction(school.conn, school.dialect):
        assert holds.decide(school.tx, "s1", b.id, "release", "office1")
        assert not holds.decide(school.tx, "s1", b.id, "drop", "office2")  # decided once
    assert school.passes("07:42") == 1
    assert school.absent() == [("minh_anh", "minh_anh-g1")]
    done = school.only_batch()
    assert (done.status, done.decided_by, done.queued, done.arrived_since) == ("released", "office1", 1, 1)
    assert school.passes("07:43", "09:00") == 0  # each notice once
    assert school.absent() == [("minh_anh", "minh_anh-g1")]


def test_drop_sends_nothing(school: School) -> None:
    school.tap("bao", "07:05")
    assert school.passes("07:16") == 0
    b = school.only_batch()
    vouch(school.conn, school.dialect, "s1", ["gw-1"], school.ts("05:00"), school.ts("09:00", 1))  # healthy again
    with q.transaction(school.conn, school.dialect):
        assert holds.decide(school.tx, "s1", b.id, "drop", "office1")
        assert not holds.decide(school.tx, "s1", b.id, "release", "office1")
    assert school.passes("07:17", "08:00", "09:00") == 0
    assert school.absent() == []
    assert school.only_batch().status == "dropped"


def test_judge_gaps_and_reasons() -> None:
    """The pure verdict: coverage of the window, a gateway never seen, silence, no health report."""
    link = Link("gw-1", "online", 0.0, 990.0, 990.0, 0, None, None)
    ev = Evidence(100.0, [(0.0, 500.0), (530.0, 1000.0)], {"gw-1": link}, {"gw-1": [(0.0, "online")]}, 5)
    rules = Rules(window_s=900, max_gap_s=60, stale_s=120)
    assert judge(ev, ["gw-1"], rules, 1000.0, expect_checkins=True).healthy
    gap = Evidence(100.0, [(0.0, 500.0), (600.0, 1000.0)], {"gw-1": link}, {"gw-1": [(0.0, "online")]}, 5)
    assert judge(gap, ["gw-1"], rules, 1000.0, expect_checkins=True).reasons == [
        Reason("collector_down", None, 500.0, 600.0)
    ]
    v = judge(ev, ["gw-1", "gw-2"], rules, 1200.0, expect_checkins=True)
    assert [(r.code, r.gateway) for r in v.reasons] == [
        ("collector_down", None), ("gateway_silent", "gw-1"), ("gateway_never", "gw-2"),
    ]  # fmt: skip
    quiet = Link("gw-1", "online", 0.0, 990.0, 700.0, 0, None, None)
    v = judge(Evidence(100.0, ev.uptime, {"gw-1": quiet}, ev.log, 5), ["gw-1"], rules, 1000.0, expect_checkins=False)
    assert [r.code for r in v.reasons] == ["gateway_no_health"]
    stopped = {"gw-1": [(0.0, "online"), (800.0, "stopped"), (980.0, "online")]}
    v = judge(Evidence(100.0, ev.uptime, {"gw-1": link}, stopped, 5), ["gw-1"], rules, 1000.0, expect_checkins=True)
    assert v.reasons == [Reason("gateway_down", "gw-1", 800.0, 980.0, "stopped")]


def test_the_cli_lists_releases_and_drops_held_batches(school: School) -> None:
    from click.testing import CliRunner

    from edge.central.school.edits import upsert_school
    from edge.central.web import audit
    from edge.central.web.db import WebDb
    from edge.cli import cli

    school.tap("bao", "07:05")
    with q.transaction(school.conn, school.dialect):
        upsert_school(school.tx, "s1", name="Trường A", timezone="Asia/Ho_Chi_Minh")
    assert school.passes("07:16") == 0
    b = school.only_batch()
    run = CliRunner()
    listed = run.invoke(cli, ["notify", "holds", "--store", school.url])
    assert listed.exit_code == 0, listed.output
    assert f"#{b.id} s1 2026-11-24 cut-off 07:15 [held] 1 student(s), 1 notice(s): no collector" in listed.output
    assert "6A     Minh Anh -> minh_anh-g1 (app)" in listed.output
    released = run.invoke(cli, ["notify", "release", str(b.id), "--by", "office1", "--store", school.url])
    assert released.exit_code == 0 and "released by office1" in released.output
    again = run.invoke(cli, ["notify", "drop", str(b.id), "--by", "office1", "--store", school.url])
    assert again.exit_code == 1 and "already releasing" in again.output
    assert run.invoke(cli, ["notify", "drop", "999", "--by", "x", "--store", school.url]).exit_code == 1
    assert school.passes("07:17") == 1 and school.absent() == [("minh_anh", "minh_anh-g1")]
    db = WebDb(school.url, pool_size=1)
    try:
        (row,) = audit.recent(db, action="absence_hold_release")
    finally:
        db.close()
    assert (row["username"], row["site_id"], row["detail"]["via"]) == ("office1", "s1", "cli")


def test_the_office_is_emailed_once_when_the_gates_go_down(school: School) -> None:
    vouch(school.conn, school.dialect, "s1", ["gw-1"], school.ts("05:00"), school.ts("07:00"))
    school.tap("bao", "06:55")
    assert school.passes("06:59") == 0  # healthy: no alarm
    assert school.tx.query("SELECT key FROM notify_jobs WHERE kind = 'gates_down'") == []
    school.link("offline", "07:00")
    school.passes("07:01", "07:02", "07:10")  # down from 07:01 on: one e-mail, not one per pass
    (mail,) = school.tx.query(
        "SELECT channel, email, subject, text, person_id FROM notify_jobs WHERE kind = 'gates_down'"
    )
    assert (mail["channel"], mail["email"], mail["person_id"]) == ("mail", "vp@school.example", "office")
    assert mail["subject"] == "Cổng không ổn định — Trường A / Gates down — Trường A"
    assert "thiết bị gw-1: Mất kết nối từ 07:00 đến bây giờ" in mail["text"]
    assert "gateway gw-1 Offline from 07:00 to now" in mail["text"]


def test_the_witness_survives_a_store_it_cannot_write_and_keeps_what_it_saw(school: School) -> None:
    from edge.central.collector.witness import GateWitness

    clock = iter(float(t) for t in range(1000, 2000))
    w = GateWitness(school.url, "col-w", "edge/v1", clock=lambda: next(clock))
    w.start_db()
    try:
        w.connected()
        w.message("edge/v1/s1/gw-1/status", b"online")
        w.message("edge/v1/s1/gw-1/health", b'{"outbox_depth": 2, "outbox_oldest_age_s": 1.5}')
        w.message("edge/v1/s1/gw-1/health", b"not json")  # ignored, never raised
        w.checkins([{"site_id": "s1", "gateway_id": "gw-1", "occurred_at": "2026-11-24T00:05:00.000Z"}])
        with q.transaction(school.conn, school.dialect):
            school.tx.execute("ALTER TABLE gateway_links RENAME TO gateway_links_away")
        w.beat()
        assert w.last_error is not None and w.beats == 0
        with q.transaction(school.conn, school.dialect):
            school.tx.execute("ALTER TABLE gateway_links_away RENAME TO gateway_links")
        w.message("edge/v1/s1/gw-1/status", b"offline")
        w.beat()
        assert w.last_error is None and w.beats == 1
    finally:
        w.stop()
    link = school.tx.query("SELECT status, outbox_depth, outbox_oldest_age_s, last_checkin_at FROM gateway_links")
    assert link == [{"status": "offline", "outbox_depth": 2, "outbox_oldest_age_s": 1.5,
                     "last_checkin_at": datetime(2026, 11, 24, 0, 5, tzinfo=UTC).timestamp()}]  # fmt: skip
    log = school.tx.query("SELECT status FROM gateway_link_log ORDER BY id")
    assert [r["status"] for r in log] == ["online", "offline"]
    assert school.tx.query("SELECT collector_id FROM collector_uptime") == [{"collector_id": "col-w"}]
