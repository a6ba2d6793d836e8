"""Strict JSON (edge/jsonstrict.py): an object that repeats a key is refused by every parser of what another
machine sent — receipts, commands, distribution manifests, the notifier's receiver — and the one function is
exact on everything else. (The collector's and the web app's refusals run against the real broker in
tests/test_security_insider.py.)"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge import jsonstrict
from edge.central.notify.receivers import HttpReceiver
from edge.contract.manifest import Manifest, ManifestRefused, parse_manifest
from edge.gateway.forwarder import OutboxForwarder
from edge.gateway.remote_commands import RemoteCommands
from edge.outbox import Outbox
from edge.transport.memory import MemoryTransport
from tests.helpers import fuzz_examples, wait_until

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def with_repeat(doc: dict[str, Any], key: str) -> str:
    """`doc` as JSON text with `key` written a second time at the end of the object."""
    inner = json.dumps(doc)[1:-1]
    return "{" + (inner + ", " if inner else "") + f"{json.dumps(key)}: 0, {json.dumps(key)}: 1" + "}"


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(documents)
def test_a_document_without_repeats_reads_exactly_as_json_loads(doc: Any) -> None:
    text = json.dumps(doc)
    assert jsonstrict.loads(text) == json.loads(text)
    assert jsonstrict.loads(text.encode()) == json.loads(text)


@settings(max_examples=fuzz_examples(200), deadline=None)
@given(st.dictionaries(st.text(max_size=6), documents, max_size=4), st.text(max_size=6), st.integers(0, 3))
def test_a_repeated_key_is_refused_at_any_depth(doc: dict[str, Any], key: str, depth: int) -> None:
    text = with_repeat({k: v for k, v in doc.items() if k != key}, key)
    for _ in range(depth):
        text = '{"outer": [1, ' + text + "]}"
    with pytest.raises(jsonstrict.RepeatedKey) as refused:
        jsonstrict.loads(text)
    assert refused.value.key == key and isinstance(refused.value, ValueError)


def test_a_manifest_that_repeats_a_key_is_refused() -> None:
    m = Manifest("roster", "s1", 5, "0" * 64, 10, "", "t", 1, 1024)
    text = m.to_json().decode()
    assert parse_manifest(text.encode()).version == 5  # the control
    with pytest.raises(ManifestRefused, match="repeats the key 'version'"):
        parse_manifest((text[:-1] + ',"version":6}').encode())


def test_a_command_that_repeats_a_key_is_refused_before_it_is_checked() -> None:
    t = MemoryTransport()
    commands = RemoteCommands(t, "edge/v1/s1/gw-1", {}, lambda: "reloaded", authorizer=None)
    assert commands.handle("reload_roster", b'{"request_id": "r1"}')["ok"] is True  # the control
    result = commands.handle("reload_roster", b'{"request_id": "r2", "request_id": "r3"}')
    assert result["ok"] is False and "repeats the key 'request_id'" in result["error"], result


def test_a_receipt_that_repeats_a_key_erases_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "gw.sqlite")
    outbox.append(lambda seq: ("edge/v1/s/g/checkin", f"id-{seq}", json.dumps({"seq": seq, "event_id": f"id-{seq}"})))
    t = MemoryTransport()
    fw = OutboxForwarder(outbox, t, receipt_topic="edge/v1/s/g/receipt", receipt_timeout_s=60)
    fw.start()
    t.start()
    try:
        wait_until(lambda: fw.stats.acked == 1, 5, "the PUBACK")
        t.deliver("edge/v1/s/g/receipt", b'{"seq": 1, "event_id": "id-9", "event_id": "id-1", "status": "stored"}')
        wait_until(lambda: fw.stats.bad_receipts == 1, 5, "the receipt refused")
        assert outbox.depth() == 1
        t.deliver("edge/v1/s/g/receipt", b'{"seq": 1, "event_id": "id-1", "status": "stored"}')  # the control
        wait_until(lambda: outbox.depth() == 0, 5, "the genuine receipt applied")
    finally:
        fw.stop()
        outbox.close()


def test_the_notifiers_receiver_answers_400_to_a_repeated_key() -> None:
    receiver = HttpReceiver()
    try:
        codes = []
        for body in (b'{"ref": "a", "text": "x"}', b'{"ref": "b", "ref": "c", "text": "x"}'):
            req = urllib.request.Request(receiver.url, data=body, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    codes.append(resp.status)
            except urllib.error.HTTPError as exc:
                codes.append(exc.code)
        assert codes == [200, 400]
    finally:
        receiver.close()
