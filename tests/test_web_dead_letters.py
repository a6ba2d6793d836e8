"""The Gates page's dead letters (#20): the office sees its school's refused check-ins with the reason and replays
one — refused while its gateway is not in the registry, stored once after, never twice; audited; a guard neither
sees nor replays them; another school's dead letter is not found. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from edge.central.school.edits import register_gateway
from edge.central.web import audit
from edge.contract.checkin import CheckIn, new_event_id, rfc3339_ms
from edge.devtools.postgres import PostgresServer
from tests.web_support import SCHOOL_MORNING, SITE, csrf_from, login, make_web


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, TestClient]]:
    url = None
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    ctx, app = make_web(tmp_path, url)
    with TestClient(app) as client:
        yield ctx, client
    ctx.close()


def tap(site: str, gateway: str) -> dict[str, Any]:
    """Minh An's card at 07:30 on the test school morning (a school day: her guardian is told of arrivals)."""
    at = rfc3339_ms(SCHOOL_MORNING)
    return CheckIn(
        new_event_id(), site, gateway, "main-in", "in", at, 1, "card", "an", "granted", card_uid="0F00A1B2C3"
    ).to_dict()


def stored(ctx: Any, event_id: str) -> int:
    return len(ctx.db.query("SELECT 1 FROM checkins WHERE event_id = ?", (event_id,)))


def test_office_replays_a_dead_letter_once(web: tuple[Any, TestClient]) -> None:
    ctx, c = web
    event = tap(SITE, "gw-new")
    ctx.store.reject(
        f"edge/v1/{SITE}/gw-new/checkin",
        "unknown gateway: not in the list",
        json.dumps(event).encode(),
        event["event_id"],
    )
    other = tap("other-school", "gw-o")
    ctx.store.reject("edge/v1/other-school/gw-o/checkin", "unknown gateway", json.dumps(other).encode())
    ids = {r["topic"].split("/")[3]: r["id"] for r in ctx.store.rejects()}

    login(c, "guard")
    page = c.get(f"/s/{SITE}/gates")
    assert page.status_code == 200 and 'id="dead-letters"' not in page.text, "not the guard's business"
    r = c.post(f"/s/{SITE}/gates/dead-letters/{ids['gw-new']}/replay", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 403
    c.post("/logout", data={"csrf_token": csrf_from(page.text)})

    login(c, "office")
    page = c.get(f"/s/{SITE}/gates")
    assert f'id="dl-{ids["gw-new"]}"' in page.text and "unknown gateway: not in the list" in page.text
    assert f'id="dl-{ids["gw-o"]}"' not in page.text, "another school's dead letters are not listed"
    assert "Chưa lưu" in page.text and f'id="replay-{ids["gw-new"]}"' in page.text
    url = f"/s/{SITE}/gates/dead-letters/{ids['gw-new']}/replay"
    r = c.post(url, data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and "Vẫn bị từ chối" in r.text and "registry of gateways" in r.text
    assert stored(ctx, event["event_id"]) == 0

    with ctx.db.transaction() as tx:
        register_gateway(tx, SITE, "gw-new")
    r = c.post(url, data={"csrf_token": csrf_from(r.text)})
    assert r.status_code == 200 and "Đã lưu lượt quẹt" in r.text, r.text
    assert f'id="replay-{ids["gw-new"]}"' not in r.text, "stored: no button any more"
    r = c.post(url, data={"csrf_token": csrf_from(r.text)})
    assert "Lượt quẹt này đã được lưu trước đó" in r.text
    assert stored(ctx, event["event_id"]) == 1, "exactly once"
    jobs = ctx.db.query("SELECT kind FROM notify_jobs WHERE person_id = 'an'")
    assert [j["kind"] for j in jobs] == ["arrived"], "the parent's notice queued once, with the stored tap"
    r = c.post(f"/s/{SITE}/gates/dead-letters/{ids['gw-o']}/replay", data={"csrf_token": csrf_from(r.text)})
    assert r.status_code == 404, "another school's dead letter"

    trail = audit.recent(ctx.db, action="dead_letter_replay", site_id=SITE)
    assert [(t["username"], t["detail"]["outcome"]) for t in reversed(trail)] == [
        ("office", "refused"),
        ("office", "stored"),
        ("office", "already_stored"),
    ]
    c.cookies.set("edge_lang", "en")
    assert "Refused check-ins" in c.get(f"/s/{SITE}/gates").text
