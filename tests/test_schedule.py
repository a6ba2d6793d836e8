"""Gate opening hours: windows per weekday, boundaries, time zones; and the config checks around them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from edge.config.model import GatewayConfig, ScheduleConfig
from edge.gateway.schedule import GateSchedule

SCHOOL = {
    "open": [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "16:30"},
        {"days": ["sat"], "start": "09:00", "end": "12:00"},
    ],
    "timezone": "Europe/Berlin",
}


def at(day: int, hh: int, mm: int) -> datetime:
    """November 2026 in UTC: Berlin is UTC+1 (the 23rd is a Monday)."""
    return datetime(2026, 11, day, hh, mm, tzinfo=UTC)


def test_windows_days_and_boundaries_in_the_schedule_time_zone() -> None:
    s = GateSchedule(ScheduleConfig.model_validate(SCHOOL))
    assert not s.is_open(at(23, 5, 59))  # Monday 06:59 Berlin
    assert s.is_open(at(23, 6, 0))  # 07:00: opens
    assert s.is_open(at(23, 15, 29))  # 16:29
    assert not s.is_open(at(23, 15, 30))  # 16:30: closed (end is exclusive)
    assert s.is_open(at(28, 8, 30)) and not s.is_open(at(28, 11, 0))  # Saturday 09:30 / 12:00
    assert not s.is_open(at(29, 9, 0))  # Sunday


def test_whole_day_window_and_local_time() -> None:
    s = GateSchedule(ScheduleConfig.model_validate({"open": [{"days": ["sun"], "start": "00:00", "end": "24:00"}]}))
    assert s.is_open(datetime(2026, 11, 29, 23, 59).astimezone())
    assert not s.is_open(datetime(2026, 11, 30, 0, 0).astimezone())


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"open": [{"days": ["mon"], "start": "16:00", "end": "07:00"}]}, "later than start"),
        ({"open": [{"days": ["mon"], "start": "7:00", "end": "16:00"}]}, "pattern"),
        ({"open": [{"days": ["monday"], "start": "07:00", "end": "16:00"}]}, "mon"),
        ({"open": [{"days": ["mon"], "start": "07:00", "end": "16:00"}], "timezone": "Mars/Olympus"}, "time zone"),
        ({"open": []}, "at least 1"),
    ],
)
def test_bad_schedules_are_refused(schedule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScheduleConfig.model_validate(schedule)


def gateway(gates: list[dict[str, Any]]) -> dict[str, Any]:
    return {"site_id": "s", "gateway_id": "g", "gates": gates, "broker": {"insecure_plaintext": True}}


def test_controller_config_rules() -> None:
    ctl = {"id": "ctl-1", "port": "/dev/ttyAMA0"}
    ok = GatewayConfig.model_validate(gateway([{"id": "a", "direction": "in", "mode": "card", "controller": ctl}]))
    assert ok.gates[0].controller is not None and ok.gates[0].controller.pulse_ms == 3000
    with pytest.raises(ValidationError, match="controller"):  # a schedule needs something to lock
        GatewayConfig.model_validate(
            gateway([{"id": "a", "direction": "in", "readers": [{"id": "r", "port": "loop://"}], "schedule": SCHOOL}])
        )
    with pytest.raises(ValidationError, match="duplicate controller port"):
        GatewayConfig.model_validate(
            gateway(
                [
                    {"id": "a", "direction": "in", "mode": "card", "controller": ctl},
                    {"id": "b", "direction": "out", "mode": "card", "controller": {**ctl, "id": "ctl-2"}},
                ]
            )
        )
    with pytest.raises(ValidationError, match="relay"):
        GatewayConfig.model_validate(
            gateway([{"id": "a", "direction": "in", "mode": "card", "controller": {**ctl, "relay": 3}}])
        )
