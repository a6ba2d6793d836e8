"""The JSON API never answers 5xx for what a gateway or a user sends.

- Gateways report over the real closed broker (their own certificates): a signed roster version (an integer), a
  health report with `"fps": "x"`, `"outbox_depth": "x"`, NaN, a number as `version`, alarms that are not a list —
  the Gates API and page show what is usable and "—" for the rest (they answered 500 on response validation).
- schemathesis generates requests from the app's own OpenAPI document for every role (admin, office, teacher,
  guard, each with its API token) and every operation, and no answer may be a 5xx. The example count is kept
  small in the suite; `EDGE_FUZZ_EXAMPLES=500 pytest tests/test_web_api_fuzz.py` is the long run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Err, Ok

from edge.central.distribution.centre import CentreStore
from edge.central.distribution.publisher import Publisher
from edge.central.web.context import WebContext, WebSettings
from edge.central.web.enrolment import EnrolmentLink, PublishTarget
from edge.central.web.gates import GateMonitor
from edge.central.web.i18n import translate
from edge.devtools.mosquitto import MosquittoBroker
from tests.helpers import client, fuzz_examples, wait_until
from tests.web_support import SCHOOL_MORNING, SITE, USERS, checkin, login, make_web

HOSTILE_HEALTH: dict[str, dict[str, Any]] = {
    "gw-fz-signed": {"outbox_depth": 0, "fps": 9.5, "version": "2.1",
                     "distribution": {"gallery": {"version": 7}, "roster": {"version": 12}}},
    "gw-fz-text": {"outbox_depth": "x", "fps": "x", "version": 3, "clock_synced": "x", "alarms": 5,
                   "last_error": {"a": 1}},
    "gw-fz-nan": {"outbox_depth": -4, "fps": float("nan"), "alarms": ["disk", {"nested": True}],
                  "distribution": {"roster": {"version": "12"}}},
    "gw-fz-inf": {"fps": float("inf"), "outbox_depth": True, "clock_synced": False, "alarms": "x" * 100},
}  # fmt: skip


@pytest.fixture
def web(tmp_path: Path, broker: MosquittoBroker) -> Iterator[tuple[WebContext, FastAPI]]:
    """The web app with check-ins in its store and a GateMonitor on the closed broker that has heard the
    hostile health reports from the gateways' own certificates."""
    ctx, app = make_web(tmp_path, settings=WebSettings(cookie_secure=False, command_timeout_s=0.2))
    ctx.store.store_batch(
        [checkin(p, SCHOOL_MORNING - timedelta(minutes=i)) for i, p in enumerate(["an", "binh", "dung", None])]
    )
    monitor = GateMonitor("127.0.0.1", broker.port, "web-fuzz", broker.identity("web-fuzz", "server"), site_id=SITE)
    ctx.gates = ctx.commands = monitor
    tls = broker.identity("web-fuzz", "server")
    assert tls is not None and monitor.start(10)
    # a centre link, so face enrolment answers for the photo sent, not "this server has none" (503)
    target = PublishTarget("127.0.0.1", broker.port, tls, "web-fuzz-enrol", "edge/v1", timeout_s=2)
    ctx.enrolment = EnrolmentLink(CentreStore(tmp_path / "centre", bytes(range(32))), publish=target)
    for gw, health in HOSTILE_HEALTH.items():
        c = client(broker, gw)
        c.publish(f"edge/v1/{SITE}/{gw}/health", json.dumps(health).encode(), qos=1).wait_for_publish(10)
        c.disconnect()
        c.loop_stop()
    wait_until(lambda: {g["gateway_id"] for g in monitor.gateways(SITE)} >= set(HOSTILE_HEALTH), 10, "reports in")
    yield ctx, app
    monitor.stop()
    ctx.close()
    # withdraw any gallery a generated DELETE announced: the session broker keeps retained messages
    with Publisher("127.0.0.1", broker.port, tls, "web-fuzz-clear") as p:
        p.clear(SITE, "gallery")


def test_gates_api_and_page_show_what_gateways_report(web: tuple[WebContext, FastAPI]) -> None:
    ctx, app = web
    token = ctx.tokens.create("admin")
    with TestClient(app) as c:
        res = c.get(f"/api/v1/schools/{SITE}/gates", headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == 200, res.text
        rows = {g["gateway_id"]: g for g in res.json()}
        signed = rows["gw-fz-signed"]
        assert (signed["roster_version"], signed["gallery_version"], signed["fps"]) == (12, 7, 9.5)
        assert (signed["outbox_depth"], signed["version"]) == (0, "2.1")
        text = rows["gw-fz-text"]
        assert (text["outbox_depth"], text["fps"], text["version"], text["clock_synced"]) == (None, None, None, None)
        assert text["alarms"] == [] and text["last_error"] is None
        nan = rows["gw-fz-nan"]
        assert (nan["fps"], nan["outbox_depth"], nan["roster_version"]) == (None, None, None)
        assert nan["alarms"] == ["disk", "{'nested': True}"]
        inf = rows["gw-fz-inf"]
        assert (inf["fps"], inf["outbox_depth"], inf["clock_synced"], inf["alarms"]) == (None, None, False, [])
        login(c, "guard")
        page = c.get(f"/s/{SITE}/gates")
        roster = translate("vi", "gates.roster_version", version=12)
        assert page.status_code == 200 and "gw-fz-text" in page.text and roster in page.text


EXISTING = {"site_id": SITE, "person_id": "an", "class_name": "6A", "gateway_id": "gw-fz-signed"}


# schemathesis: every operation of the OpenAPI document, every role ------------------------------------------------
@pytest.mark.parametrize("username", sorted(USERS))
def test_no_request_gets_a_5xx(web: tuple[WebContext, FastAPI], username: str) -> None:
    ctx, app = web
    auth = {"Authorization": f"Bearer {ctx.tokens.create(username)}"}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, headers=auth)
    results = list(schema.get_all_operations())
    assert all(isinstance(r, Ok) for r in results), [r.err() for r in results if isinstance(r, Err)]
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) >= 8, [op.label for op in operations]
    failures: list[str] = []
    for operation in operations:

        @settings(
            max_examples=fuzz_examples(15),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), steer=st.booleans())
        def one(case: Any, steer: bool) -> None:
            if steer and case.path_parameters:  # half the requests name the school, a student, a class, a gateway
                for name in set(case.path_parameters) & set(EXISTING):
                    case.path_parameters[name] = EXISTING[name]
            response = case.call(headers=auth)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}")
            assert response.status_code < 500, failures[-1]

        one()
    assert failures == []
