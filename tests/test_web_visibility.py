"""Who sees what, enforced the same way on the pages, the JSON API and the live stream (edge/central/web/
visibility.py), and written down once: the README's table is the policy's table.

The attack: a guard opened `/s/SITE/live?after=0` (or sent `Last-Event-ID: 0`) and received every stored check-in —
names, classes, times, past days — while the Student page answered 403; Today's latest check-ins showed guards
names too. Now a guard's stream carries today's per-class counts and nothing about who, when or where."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from edge.central.web.accounts import Role
from edge.central.web.visibility import COUNT_FIELDS, POLICY
from tests.live_support import Stream
from tests.web_support import SCHOOL_MORNING, SITE, checkin, live_server, login, make_web

README = Path(__file__).resolve().parent.parent / "README.md"
NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Phạm Dũng")


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """Yesterday's and today's check-ins of classes 6A and 6B already stored."""
    url = request.getfixturevalue("postgres").fresh_database() if request.param == "postgresql" else None
    ctx, app = make_web(tmp_path, url, live=True)
    ctx.store.store_batch(
        [
            checkin("an", SCHOOL_MORNING - timedelta(days=1)),
            checkin("dung", SCHOOL_MORNING - timedelta(days=1, minutes=-3)),
            checkin("an", SCHOOL_MORNING),
            checkin("binh", SCHOOL_MORNING + timedelta(minutes=1)),
            checkin("dung", SCHOOL_MORNING + timedelta(minutes=2)),
            checkin(None, SCHOOL_MORNING + timedelta(minutes=3), decision="denied"),
        ]
    )
    yield ctx, app
    ctx.close()
    ctx.store.close()


def replay(ctx: Any, client: httpx.Client, headers: dict[str, str], path: str) -> list[dict[str, Any]]:
    """Everything the stream replays from the start, then one more check-in (6A, today) stored while it is open:
    what arrives before that one's line (or its counts) is the whole replay."""
    stream = Stream(client, path, headers)
    assert stream.response.status_code == 200
    sentinel = checkin("chi", SCHOOL_MORNING + timedelta(minutes=5))
    ctx.store.insert(sentinel)
    got: list[dict[str, Any]] = []
    while True:
        e = stream.next_checkin(timeout=10)
        got.append(e)
        if e["event_id"] == sentinel["event_id"]:
            break
    stream.close()
    return got


@pytest.mark.parametrize(
    ("headers", "path"), [({}, f"/s/{SITE}/live?after=0"), ({"Last-Event-ID": "0"}, f"/s/{SITE}/live")]
)
def test_a_guards_live_stream_carries_counts_only(web: tuple[Any, Any], headers: dict[str, str], path: str) -> None:
    ctx, app = web
    with live_server(app, ctx) as server, httpx.Client(base_url=server.url) as client:
        login(client, "guard")
        got = replay(ctx, client, headers, path)
    # today's check-ins of known students only (yesterday's and the unknown card's are not sent at all) …
    assert len(got) == 4 and all(e["today"] for e in got)
    # … and of each only which class's counts changed, and to what: no name, person, time, gate or decision
    assert all(set(e) == {*COUNT_FIELDS} for e in got), got[0]
    assert [e["class_name"] for e in got] == ["6A", "6A", "6B", "6A"]
    assert got[-1]["counts"]["present"] == 3


def test_staff_streams_follow_the_same_policy(web: tuple[Any, Any]) -> None:
    ctx, app = web
    with live_server(app, ctx) as server:
        with httpx.Client(base_url=server.url) as office:
            login(office, "office")
            seen = replay(ctx, office, {}, f"/s/{SITE}/live?after=0")
        # the office sees every student and the unknown card, past days included (its Student pages do too)
        assert len(seen) == 7 and {e["name"] for e in seen} >= set(NAMES)
        assert any(e["person_id"] is None for e in seen) and not all(e["today"] for e in seen)
        with httpx.Client(base_url=server.url) as teacher:
            login(teacher, "teacher6a")
            mine = replay(ctx, teacher, {}, f"/s/{SITE}/live?after=0")
        # a 6A teacher: 6A's students only, whole; nothing of 6B, not even its counts; no unknown card
        assert {e["class_name"] for e in mine} == {"6A"} and all(e["name"] for e in mine)
        assert len(mine) == 5  # An yesterday and today, Bình, and the two 6A check-ins the replays stored


def test_today_page_names_only_for_who_may_see_them(web: tuple[Any, Any]) -> None:
    _ctx, app = web
    with TestClient(app) as c:
        login(c, "guard")
        page = c.get(f"/s/{SITE}/today").text
        assert re.search(r'data-class="6B"', page), "a guard sees every class's counts"
        assert not any(n in page for n in NAMES), "… and no name"
        login(c, "teacher6a")
        page = c.get(f"/s/{SITE}/today").text
        assert "Nguyễn Văn An" in page and "Phạm Dũng" not in page and 'data-class="6B"' not in page


def test_api_follows_the_same_policy(web: tuple[Any, Any]) -> None:
    ctx, app = web
    with TestClient(app) as c:

        def get(user: str, path: str) -> Any:
            token = ctx.tokens.create(user)
            return c.get(f"/api/v1/schools/{SITE}{path}", headers={"Authorization": f"Bearer {token}"})

        counts = get("guard", "/classes?day=2026-11-24")
        assert counts.status_code == 200 and [k["class_name"] for k in counts.json()["classes"]] == ["6A", "6B"]
        assert "Nguyễn" not in counts.text
        for path in ("/checkins", "/students/an", "/classes/6A/days/2026-11-24"):
            assert get("guard", path).status_code == 403, path
        taught = get("teacher6a", "/checkins").json()["items"]
        assert {i["class_name"] for i in taught} == {"6A"}
        assert [k["class_name"] for k in get("teacher6a", "/classes").json()["classes"]] == ["6A"]
        everyone = get("office", "/checkins").json()["items"]
        assert len(everyone) == 6 and any(i["person_id"] is None for i in everyone)


def test_the_readme_table_is_the_policy() -> None:
    """The table under "Who sees what" in the README, row by row, is visibility.POLICY."""
    text = README.read_text(encoding="utf-8")
    start = text.index("| what | admin | office | teacher | guard |")
    rows = [line for line in text[start:].splitlines()[2:]]
    rows = rows[: next((i for i, r in enumerate(rows) if not r.startswith("|")), len(rows))]
    table = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        table[cells[0].split("`")[1]] = cells[1:]
    words: dict[Any, str] = {"all": "all", "own": "own classes", "none": "no", True: "yes", False: "no"}
    roles: tuple[Role, ...] = ("admin", "office", "teacher", "guard")
    expected = {f: [words[getattr(POLICY[r], f)] for r in roles] for f in POLICY["admin"].__dataclass_fields__}
    assert table == expected
