"""A gateway's words in the office's language (#23). A failed gate command: the gateway sends a stable error
code with its fields beside its English sentence, the centre says it from the catalogs; a gateway older than the
codes, a code this centre does not know, or fields that do not fill the words fall back to the gateway's own
sentence. An alarm: its name said from the catalogs with its gate, its measurement kept as sent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from edge.central import catalogs
from edge.central.web.alarm_words import AlarmWords, alarm_words
from edge.central.web.command_errors import error_words
from edge.gateway.remote_commands import ERROR_CODES, CommandError, RemoteCommands, error_result

CENTRE_CODES = ("no_identity", "wrong_site", "not_connected", "no_answer")
"""The codes of results the centre makes itself (edge/central/web/gates.py: nothing came back)."""


class _Offline:
    """A transport whose broker is away: results are made, not published (handle() returns them)."""

    connected = False


def _commands(gates: dict[str, Any]) -> RemoteCommands:
    return RemoteCommands(_Offline(), "edge/s1/gw-1", gates, lambda: "v1", authorizer=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", catalogs.LANGUAGES)
def test_every_code_has_words_in_both_catalogs(lang: str) -> None:
    keys = catalogs.keys(lang)
    assert {f"gates.error.{c}" for c in (*ERROR_CODES, *CENTRE_CODES)} <= keys


def test_the_gateways_refusals_carry_a_code_and_their_fields() -> None:
    cmds = _commands({})
    no_controller = cmds.handle("open_gate", b'{"request_id": "r-1"}')
    assert no_controller["error"] == "this gateway has no gate controller"
    assert no_controller["error_code"] == "no_gate_controller" and no_controller["error_fields"] == {}
    unknown = cmds.handle("open_gate", b'{"request_id": "r-2", "gate": "side-door"}')
    assert unknown["error_code"] == "unknown_gate" and unknown["error_fields"] == {"gate": "side-door", "gates": ""}
    assert "unknown gate 'side-door'" in unknown["error"]
    malformed = cmds.handle("open_gate", b"not json")
    assert malformed["error_code"] == "malformed" and malformed["request_id"] is None
    assert cmds.handle("fly", b'{"request_id": "r-3"}')["error_fields"] == {"command": "fly"}


def test_the_office_reads_the_code_in_its_language() -> None:
    result = error_result("r-1", CommandError("unknown_gate", "unknown gate 'x'", gate="x", gates="main-in, side"))
    assert error_words(result, "vi") == "thiết bị này không có cổng x; các cổng có bộ điều khiển: main-in, side"
    assert error_words(result, "en") == "this gateway has no gate x; gates with a controller: main-in, side"
    failed = error_result("r-2", CommandError("gate_failed", "gate a: timeout", gates="a", statuses="timeout, odd"))
    assert error_words(failed, "vi") == "cổng a không thực hiện lệnh: hết thời gian chờ, odd"


@pytest.mark.parametrize(
    "result",
    [
        {"ok": False, "error": "this gateway has no gate controller"},  # a gateway older than the codes
        {"ok": False, "error": "this gateway has no gate controller", "error_code": "from_the_future"},
        {"ok": False, "error": "this gateway has no gate controller", "error_code": "unknown_gate"},  # no fields
        {"ok": False, "error": "this gateway has no gate controller", "error_code": "../../etc", "error_fields": {}},
        {"ok": False, "error": "this gateway has no gate controller", "error_code": 7},
    ],
)
def test_what_the_centre_cannot_say_is_shown_as_the_gateway_said_it(result: dict[str, Any]) -> None:
    assert error_words(result, "vi") == "this gateway has no gate controller"


def _alarm_names() -> set[str]:
    """The alarm names the gateway's code raises: the `name:` lines of its alarms() functions and the
    controller's alarms (edge/gateway/device_events.py's list), read from the source, not copied."""
    root = Path(__file__).resolve().parent.parent / "edge" / "gateway"
    names = set()
    for f in ("service.py", "distribution.py"):
        text = (root / f).read_text(encoding="utf-8")
        body = text[text.index("def alarms(") :]
        body = body[: body.index("\n    def ", 1)] if "\n    def " in body[1:] else body
        names |= set(re.findall(r'f"([a-z_]+): ', body))
    events = (root / "device_events.py").read_text(encoding="utf-8")
    names |= set(re.search(r"kind alarm: ([a-z_, ]+)", events).group(1).replace(" ", "").split(","))  # type: ignore[union-attr]
    return names | {"controller_offline"}  # the centre's own, from a link event (edge/central/web/gates.py)


def test_every_alarm_the_gateway_raises_has_words() -> None:
    names = _alarm_names()
    assert {"outbox_over_cap", "loop_stuck", "storage_failed", "door_held_open", "tamper"} <= names
    for lang in catalogs.LANGUAGES:
        assert {f"gates.alarm_name.{n}" for n in names} <= catalogs.keys(lang), lang


def test_an_alarm_line_is_said_with_its_gate_and_keeps_its_measurement() -> None:
    held = alarm_words("vi", "door_held_open at gate main-in: 30 s")
    assert held == AlarmWords("Cửa bị giữ mở quá lâu (cổng main-in)", "30 s")
    cap = alarm_words("vi", "outbox_over_cap: 120 check-ins / 64 KiB waiting (none dropped)")
    assert cap.words.startswith("Hàng đợi") and cap.detail.startswith("120 check-ins")
    assert alarm_words("vi", "tamper (ctl-1)").words == "Hộp thiết bị bị mở (cổng ctl-1)"
    assert alarm_words("en", "door_held_open at gate g: 30 s").words == "Door held open (gate g)"
    assert alarm_words("vi", "new_alarm_of_a_newer_gateway: x") == AlarmWords("new_alarm_of_a_newer_gateway: x", "")
