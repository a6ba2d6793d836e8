"""Clock: events decided before NTP sync are marked; a clock stepping backwards breaks neither ordering nor
debounce."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from edge.central.store import open_store
from edge.cli import cli
from edge.clock import ClockStatus, kernel_clock_synced
from edge.contract.checkin import checkin_errors
from edge.contract.topics import GatewayTopics
from edge.gateway.policy import GateInfo, Observation, Policy
from edge.gateway.recorder import CheckinRecorder
from edge.outbox import Outbox
from edge.roster import Person

GATE = GateInfo("g1", "in", "card")


class Roster:
    def by_card(self, uid: str) -> Person | None:
        return Person(f"p-{uid}", "P", "1A", uid)


def test_kernel_answers_on_linux() -> None:
    assert kernel_clock_synced() in (True, False)
    assert ClockStatus("assume_synced").synced() and not ClockStatus("assume_unsynced").synced()


def test_unsynced_events_are_marked_valid_and_stored(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "gw.sqlite")
    rec = CheckinRecorder(
        Policy(Roster(), debounce_s=60, unknown_debounce_s=10),
        ob,
        GatewayTopics("edge/v1", "s", "g"),
        clock=ClockStatus("assume_unsynced"),
    )
    event = rec.submit(Observation(GATE, "r1", "card", 1.0, card_uid="0A0B0C0D0E"))
    assert event is not None and event.clock_unsynced
    payload = json.loads(event.to_json())
    assert payload["clock_unsynced"] is True
    assert checkin_errors(payload) == []
    store = open_store(str(tmp_path / "c.sqlite"))
    store.insert(payload)
    assert next(store.checkins())["clock_unsynced"] == 1
    store.close()
    ob.close()


def test_clock_stepping_back_keeps_seq_order_and_debounce(tmp_path: Path) -> None:
    # Debounce runs on time.monotonic(); a wall clock jumping back an hour cannot reopen a window.
    policy = Policy(Roster(), debounce_s=60, unknown_debounce_s=10)
    assert policy.decide(Observation(GATE, "r1", "card", 100.0, card_uid="0A0B0C0D0E")) is not None
    assert policy.decide(Observation(GATE, "r1", "card", 130.0, card_uid="0A0B0C0D0E")) is None

    store = open_store(str(tmp_path / "c.sqlite"))
    base = {
        "schema_version": 1,
        "site_id": "s",
        "gateway_id": "g",
        "gate": "g1",
        "direction": "in",
        "method": "card",
        "decision": "granted",
        "card_uid": "0A0B0C0D0E",
    }
    times = ["2026-11-24T08:00:00.000Z", "2026-11-24T07:00:00.000Z", "2026-11-24T07:00:01.000Z"]  # stepped back
    for seq, at in enumerate(times, 1):
        store.insert(
            {
                **base,
                "event_id": f"00000000-0000-4000-8000-00000000000{seq}",
                "occurred_at": at,
                "seq": seq,
                "person_id": f"p{seq}",
            }
        )
    assert [r["seq"] for r in store.checkins(order="seq")] == [1, 2, 3]
    assert [r["seq"] for r in store.checkins()] == [2, 3, 1]  # by wall clock: misleading, hence --order seq
    store.close()
    res = CliRunner().invoke(cli, ["export", "--db", str(tmp_path / "c.sqlite"), "--order", "seq"])
    assert res.exit_code == 0 and [json.loads(x)["seq"] for x in res.output.splitlines()] == [1, 2, 3]
