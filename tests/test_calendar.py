"""School calendar, the attendance rule, the centre's config model and `edge calendar check`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from edge.central.attendance.calendar import SchoolCalendar
from edge.central.attendance.rule import Status, Tap, decide, is_after_dismissal, is_late
from edge.cli import cli
from edge.config.central import CentralConfig, load_central_config, parse_central_text
from edge.config.loader import ConfigError
from tests.calendar_support import CENTRAL

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def cfg() -> CentralConfig:
    return parse_central_text(CENTRAL, env={})


@pytest.fixture
def cal(cfg: CentralConfig) -> SchoolCalendar:
    return SchoolCalendar.of(cfg.schools[0])


def issues(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_central_text(text, file="central.yaml", env=env or {})
    return [str(i) for i in exc.value.issues]


# calendar -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "school", "reason"),
    [
        (date(2026, 11, 24), True, "tue in term T1"),
        (date(2026, 11, 28), True, "sat in term T1"),
        (date(2026, 11, 29), False, "sun is not a school weekday"),
        (date(2027, 1, 1), False, "holiday: New year"),
        (date(2027, 2, 8), False, "holiday: Tet"),
        (date(2027, 2, 19), False, "holiday: Tet"),
        (date(2027, 2, 20), True, "sat in term T2"),
        (date(2027, 1, 20), False, "outside every term"),
        (date(2027, 7, 1), False, "outside every term"),
        (date(2026, 9, 5), True, "sat in term T1"),
        (date(2027, 1, 16), True, "sat in term T1"),
    ],
)
def test_school_day_and_why(cal: SchoolCalendar, day: date, school: bool, reason: str) -> None:
    verdict = cal.check(day)
    assert verdict.school_day is school
    assert verdict.reason.startswith(reason)


def test_times_class_wins_over_grade_over_school(cal: SchoolCalendar) -> None:
    t = cal.times_for("6A")
    assert (f"{t.cutoff:%H:%M}", f"{t.dismissal:%H:%M}") == ("07:30", "11:00")
    assert "class 6A" in t.source and "grade 6" in t.source
    t = cal.times_for("6B")
    assert (f"{t.cutoff:%H:%M}", f"{t.dismissal:%H:%M}") == ("07:00", "11:00")
    t = cal.times_for("10A1")
    assert (f"{t.cutoff:%H:%M}", f"{t.dismissal:%H:%M}") == ("07:15", "16:30")
    assert t.source == "cut-off from school default, dismissal from school default"
    # '60A' is grade 60, not grade 6
    assert f"{cal.times_for('60A').cutoff:%H:%M}" == "07:15"


def test_local_day_in_school_time_zone(cal: SchoolCalendar) -> None:
    # 23:30 UTC on the 23rd is 06:30 on the 24th in Hà Nội (UTC+7)
    assert cal.local_day(datetime(2026, 11, 23, 23, 30, tzinfo=UTC)) == date(2026, 11, 24)
    assert cal.cutoff_at(date(2026, 11, 24), "7B").astimezone(UTC) == datetime(2026, 11, 24, 0, 15, tzinfo=UTC)


# the rule ---------------------------------------------------------------------------------------------
DAY = date(2026, 11, 24)


def at(cal: SchoolCalendar, hhmmss: str) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return cal.at(DAY, datetime(2000, 1, 1, h, m, s).time()).astimezone(UTC)


def test_present_late_absent_pending_excused(cal: SchoolCalendar) -> None:
    on_time = [Tap(at(cal, "07:12:00"), "in", "granted")]
    r = decide(cal, "7B", DAY, on_time)
    assert r.status is Status.PRESENT and r.first_in is not None and f"{r.first_in:%H:%M}" == "07:12"
    # seen during the cut-off minute: on time (messages show minutes)
    assert decide(cal, "7B", DAY, [Tap(at(cal, "07:15:40"), "in", "granted")]).status is Status.PRESENT
    late = decide(cal, "7B", DAY, [Tap(at(cal, "07:16:00"), "in", "granted")])
    assert late.status is Status.LATE and "after 07:15" in late.reason
    assert decide(cal, "7B", DAY, []).status is Status.ABSENT
    assert decide(cal, "7B", DAY, [], now=at(cal, "07:14:59")).status is Status.PENDING
    assert decide(cal, "7B", DAY, [], now=at(cal, "07:15:00")).status is Status.ABSENT
    assert decide(cal, "7B", DAY, [], excused=True).status is Status.EXCUSED
    assert decide(cal, "7B", date(2026, 11, 29), on_time).status is Status.NO_SCHOOL


def test_only_granted_in_counts_and_first_wins(cal: SchoolCalendar) -> None:
    taps = [
        Tap(at(cal, "07:05:00"), "in", "denied"),
        Tap(at(cal, "07:06:00"), "in", "unknown"),
        Tap(at(cal, "07:07:00"), "out", "granted"),
        Tap(at(cal, "07:40:00"), "in", "granted"),
        Tap(at(cal, "07:20:00"), "in", "granted"),  # out of order: still the first
        Tap(at(cal, "07:01:00") - timedelta(days=1), "in", "granted"),  # yesterday
    ]
    r = decide(cal, "7B", DAY, taps)
    assert r.status is Status.LATE and r.first_in is not None and f"{r.first_in:%H:%M}" == "07:20"
    assert decide(cal, "7B", DAY, taps[:3]).status is Status.ABSENT


def test_left_after_dismissal(cal: SchoolCalendar) -> None:
    taps = [
        Tap(at(cal, "07:00:00"), "in", "granted"),
        Tap(at(cal, "10:59:59"), "out", "granted"),
        Tap(at(cal, "11:00:10"), "out", "denied"),
        Tap(at(cal, "11:02:00"), "out", "granted"),
    ]
    r = decide(cal, "6B", DAY, taps)  # grade 6: dismissal 11:00
    assert r.left_at is not None and f"{r.left_at:%H:%M}" == "11:02"
    assert is_after_dismissal(cal, "6B", at(cal, "11:00:00"))
    assert not is_after_dismissal(cal, "6B", at(cal, "10:59:59"))
    assert is_late(cal, "6A", at(cal, "07:31:00")) and not is_late(cal, "6A", at(cal, "07:30:59"))


# config ------------------------------------------------------------------------------------------------
def test_example_config_loads() -> None:
    cfg = load_central_config(REPO / "central.yaml", env={})
    assert cfg.schools[0].id == "demo-school"
    assert {c.name for c in cfg.schools[0].channels} == {"app", "email", "sms"}


def test_errors_have_file_and_line() -> None:
    text = CENTRAL.replace("    timezone: Asia/Ho_Chi_Minh\n", "    timezone: Mars/Olympus\n    colour: red\n")
    text = text.replace('cutoff: "07:15"', 'cutoff: "7.15"')
    found = issues(text)
    assert any(i.startswith("central.yaml:4: schools[0].timezone:") and "unknown time zone" in i for i in found)
    assert "central.yaml:5: schools[0].colour: unknown key" in found
    assert any(i.startswith("central.yaml:14: schools[0].calendar.cutoff:") for i in found)


def test_bad_dates_and_channels_rejected() -> None:
    text = CENTRAL.replace("end: 2027-01-16", "end: 2026-01-16")
    assert any("ends (2026-01-16) before it starts" in i for i in issues(text))
    channels = CENTRAL + "    channels:\n      - {name: x, type: fax, number: '1'}\n"
    assert any("schools[0].channels[0]" in i and "fax" in i for i in issues(channels))
    missing_secret = CENTRAL + "    channels:\n      - {name: app, type: webhook, url: 'http://h/x', secret: '${S}'}\n"
    assert any("environment variable S is not set" in i for i in issues(missing_secret))
    dup = CENTRAL + (
        "    channels:\n      - {name: a, type: webhook, url: 'http://h/x', secret: 0123456789abcdef}\n"
        "      - {name: a, type: webhook, url: 'http://h/y', secret: 0123456789abcdef}\n"
    )
    assert any("duplicate channel names: ['a']" in i for i in issues(dup))


def test_template_errors_at_load_time() -> None:
    text = CENTRAL + "    templates:\n      en:\n        arrived: '{name} came at {tiem}'\n"
    found = issues(text)
    assert any(i.startswith("central.yaml:21: schools[0].templates.en.arrived:") and "{tiem}" in i for i in found)
    broken = CENTRAL + "    templates:\n      vi:\n        absent: '{name} chưa đến {'\n"
    assert any("malformed" in i for i in issues(broken))
    sms = (
        CENTRAL
        + "    channels:\n      - {name: s, type: sms_http, url: 'http://h/x', body_template: '{\"to\": $to}'}\n"
    )
    assert any("must contain $text" in i for i in issues(sms))


# CLI -------------------------------------------------------------------------------------------------------
def test_calendar_check_cli(tmp_path: Path) -> None:
    path = tmp_path / "central.yaml"
    path.write_text(CENTRAL)
    runner = CliRunner()
    ok = runner.invoke(cli, ["calendar", "check", "2026-11-24", "-c", str(path), "--class", "6A"])
    assert ok.exit_code == 0, ok.output
    assert "2026-11-24 (Tue) is a school day at s1: tue in term T1" in ok.output
    assert "class 6A: cut-off 07:30, dismissal 11:00" in ok.output
    off = runner.invoke(cli, ["calendar", "check", "2027-02-10", "-c", str(path)])
    assert off.exit_code == 1 and "not a school day at s1: holiday: Tet" in off.output
    bad = runner.invoke(cli, ["calendar", "check", "24/11/2026", "-c", str(path)])
    assert bad.exit_code == 2
    path.write_text(CENTRAL.replace("weekdays:", "wekdays:"))
    broken = runner.invoke(cli, ["calendar", "check", "2026-11-24", "-c", str(path)])
    assert broken.exit_code == 2 and f"{path}:6: schools[0].calendar.wekdays: unknown key" in broken.output


def test_reference_is_current_and_complete() -> None:
    from pydantic import BaseModel

    from edge.config.central import render_docs
    from edge.config.docs import _sub_models

    assert (REPO / "docs" / "central-configuration.md").read_text() == render_docs(), (
        "run: python -m edge.config.central > docs/central-configuration.md"
    )

    def walk(model: type[BaseModel]) -> None:
        assert model.__doc__, model.__name__
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            for sub in _sub_models(field.annotation):
                walk(sub)

    walk(CentralConfig)
