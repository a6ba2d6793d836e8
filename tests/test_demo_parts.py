"""The demo's parts on their own: the school's clock and cut-offs, and the expectations that decide its exit code
(each kind of failure is caught, so a broken morning cannot print "demo OK")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.central.attendance.rule import Status
from edge.config.central import load_central_config
from edge.demo.morning import ARRIVALS, LATECOMER, NOTICES, STATUSES, UNKNOWN_CARD, Morning, check
from edge.demo.notices import Delivery
from edge.demo.runner import data_dir
from edge.demo.school import EARLY_CLASS, morning_zone, write_school


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_the_school_clock_reads_seven_in_the_morning(now: datetime) -> None:
    assert now.astimezone(ZoneInfo(morning_zone(now))).hour == 7


def test_school_files_validate_and_7b_cutoff_has_just_passed(tmp_path: Path) -> None:
    now = datetime(2026, 11, 24, 20, 50, 30, tzinfo=UTC)
    school = write_school(
        tmp_path, data_dir(), smtp_port=2525, smtp_cafile=tmp_path / "ca.pem", webhook_url="http://127.0.0.1:1/x",
        now=now,
    )  # fmt: skip
    cfg = load_central_config(school.central).school("demo-school")
    local = now.astimezone(ZoneInfo(school.zone))
    assert (local.hour, school.early_cutoff, school.cutoff) == (7, "07:49", "08:05")
    assert cfg.calendar is not None
    assert cfg.calendar.classes[EARLY_CLASS].cutoff == "07:49" and cfg.calendar.cutoff == "08:05"
    assert len(cfg.calendar.weekdays) == 7  # whatever day the demo is run on
    assert {p.class_name for p in school.people} == {"6A", EARLY_CLASS}


def _good_morning() -> Morning:
    m = Morning()
    seq = 0

    def ev(person: str | None, method: str, decision: str, **extra: object) -> None:
        nonlocal seq
        seq += 1
        m.checkins[f"e{seq}"] = {"seq": seq, "person_id": person, "method": method, "decision": decision, **extra}

    for person, method in ARRIVALS.items():
        ev(person, method, "granted")
    ev(None, "face", "unknown")
    ev(None, "card", "denied", card_uid=UNKNOWN_CARD)
    ev(LATECOMER, "card", "granted")
    m.stored = len(m.checkins)
    m.statuses = dict(STATUSES)
    m.deliveries = [Delivery("webhook", g, k, late, "vi", "", "", f"{g}/{k}/{late}", False) for g, k, late in NOTICES]
    m.gate_result, m.relay_driven, m.exits = {"ok": True}, True, {"gateway": 0, "collector": 0}
    return m


def test_a_good_morning_has_no_problems() -> None:
    assert check(_good_morning()) == []


def test_every_kind_of_failure_is_caught() -> None:
    m = _good_morning()
    m.stored -= 1
    assert any("store holds" in p for p in check(m))

    m = _good_morning()
    m.deliveries.append(m.deliveries[0])
    assert any("arrived 2 times" in p for p in check(m))

    m = _good_morning()
    m.deliveries.pop()
    assert any("never arrived" in p for p in check(m))

    m = _good_morning()
    stranger = next(e for e in m.checkins.values() if e["person_id"] is None and e["method"] == "face")
    stranger["decision"] = "granted"
    assert any("stranger was admitted" in p for p in check(m))

    m = _good_morning()
    m.statuses[LATECOMER] = Status.PRESENT
    assert any(LATECOMER in p for p in check(m))

    m = _good_morning()
    m.relay_driven = False
    assert any("relay" in p for p in check(m))

    m = _good_morning()
    m.exits["collector"] = 1
    assert any("collector exited" in p for p in check(m))


def test_cutoffs_follow_the_clock_across_midnight_utc() -> None:
    # the zone changes with the UTC hour; the cut-offs stay one minute before and fifteen after local now
    for hour in range(24):
        now = datetime(2026, 11, 24, hour, 0, 30, tzinfo=UTC) + timedelta(minutes=7)
        local = now.astimezone(ZoneInfo(morning_zone(now)))
        assert local.strftime("%H:%M") == "07:07"


def test_without_the_avr_toolchain_the_main_gate_uses_the_protocol_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from edge.demo import gate_rig
    from firmware_bridge.link.frames import Frame, FrameType
    from firmware_bridge.simulators.avr_sim import SimError

    def no_toolchain(_out: Path) -> tuple[Path, Path]:
        raise SimError("missing avr-gcc: run scripts/bootstrap.sh --dev")

    monkeypatch.setattr(gate_rig, "build", no_toolchain)
    ctl = gate_rig.GateController(tmp_path)
    try:
        assert ctl.kind.startswith("link-protocol simulator (missing avr-gcc")
        mark = ctl.mark()
        assert not ctl.opened_since(mark, timeout=0.2)
        host, port = ctl.port.removeprefix("socket://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(Frame(FrameType.CMD_RELAY, 1, bytes([0, 1, 144])).wire())
            assert ctl.opened_since(mark, timeout=5)
    finally:
        ctl.close()
