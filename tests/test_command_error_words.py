"""A failed gate command in the office's language (#23): the gateway sends a stable error code with its fields beside
its English sentence, the centre says it from the catalogs; a gateway older than the codes, a code this centre does
not know, or fields that do not fill the words fall back to the gateway's own sentence."""

from __future__ import annotations

from typing import Any

import pytest

from edge.central import catalogs
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
