"""The Roster page (edge/central/web/routes/roster.py) through the real app with auth and CSRF on: upload →
preview (added / changed / removed, errors at their spreadsheet rows) → apply (into the store, audited);
an XLSX with one bad row applies nothing; oversized, not-a-spreadsheet, formula and <script> uploads; previews
are server-side, single-use and bound to their user; teachers and guards are refused."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from edge.central.school import edits
from edge.central.school.state import load_school
from edge.central.web.context import WebContext
from edge.devtools.postgres import PostgresServer
from edge.roster import Person
from tests.web_support import ROSTER, SCHOOL_MORNING, SITE, login, make_web

TODAY = SCHOOL_MORNING.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()

BASE = f"/s/{SITE}/roster"
HEADER = ["person_id", "name", "class", "card_uid", "photos"]


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def upload(
    c: TestClient, roster: bytes | None = None, guardians: bytes | None = None, name: str = "r.xlsx"
) -> tuple[int, str]:
    """POST the upload form; the status and the page."""
    token = csrf_of(c.get(BASE).text)
    files = {}
    if roster is not None:
        files["roster"] = (name, roster, "application/octet-stream")
    if guardians is not None:
        files["guardians"] = ("g.csv", guardians, "text/csv")
    r = c.post(f"{BASE}/preview", data={"csrf_token": token}, files=files)
    return r.status_code, r.text


@contextmanager
def _web(tmp_path: Path, url: str | None) -> Iterator[tuple[WebContext, TestClient, Path]]:
    ctx, app = make_web(tmp_path, url)
    with TestClient(app) as client:
        login(client, "office")
        # the rules' own (English) sentences are checked here; the Vietnamese pages: tests/test_roster_words.py
        client.cookies.set("edge_lang", "en")
        yield ctx, client, tmp_path
    ctx.close()
    ctx.store.close()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[WebContext, TestClient, Path]]:
    with _web(tmp_path, None) as w:
        yield w


@pytest.fixture(params=["sqlite", "postgresql"])
def web_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[WebContext, TestClient, Path]]:
    """Both stores: the sessions and the audit row live in the store's database."""
    url = None
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    with _web(tmp_path, url) as w:
        yield w


def current_rows() -> list[list[object]]:
    rows: list[list[object]] = [[*HEADER]]
    for line in ROSTER.strip().splitlines()[1:]:
        rows.append(list(line.split(",")))
    return rows


def test_upload_preview_apply(web_any: tuple[WebContext, TestClient, Path]) -> None:
    ctx, c, tmp = web_any
    rows = current_rows()
    rows[1][1] = "Nguyễn Văn An Mới"  # an: name changed
    rows = [r for r in rows if r[0] != "em"]  # em removed (no guardian)
    rows.append(["giang", "<script>alert('x')</script>", "6B", "", ""])  # added, HTML is data
    rows.append(["hoa", '=HYPERLINK("http://evil")', "6B", "", ""])  # a formula is data too
    status, page = upload(c, xlsx(rows))
    assert status == 200, page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "Nguyễn Văn An Mới" in page and 'id="changes-students"' in page
    added = page.split('class="rows added"')[1].split("</table>")[0]
    assert "giang" in added and "hoa" in added
    assert "em" in page.split('class="rows removed"')[1].split("</table>")[0]
    pid = re.search(r'name="preview_id" value="([^"]+)"', page)
    assert pid
    before = load_school(ctx.db, SITE)
    assert before is not None and before.students[0].name != "Nguyễn Văn An Mới"  # a preview writes nothing
    r = c.post(f"{BASE}/apply", data={"csrf_token": csrf_of(page), "preview_id": pid.group(1)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{BASE}?applied=1"
    after = load_school(ctx.db, SITE)
    assert after is not None and after.version > before.version
    now = {p.person_id: p for p in after.enrolled(TODAY)}
    assert now["an"].name == "Nguyễn Văn An Mới" and now["giang"].name == "<script>alert('x')</script>"
    assert now["hoa"].name == '=HYPERLINK("http://evil")'  # kept as text in the store
    assert now["giang"].enrolled_from == TODAY  # a new student is enrolled from the import day
    assert "em" not in now and not (tmp / "backups").exists()
    em = next(p for p in after.students if p.person_id == "em")  # left yesterday; history stays
    assert em.enrolled_until == TODAY - timedelta(days=1)
    d = ctx.directories.get(SITE)
    assert d is not None and d.students["an"].name == "Nguyễn Văn An Mới"
    audit = ctx.db.query("SELECT username, action, detail, ip FROM web_audit WHERE action = 'roster.apply'")
    assert len(audit) == 1 and audit[0]["username"] == "office" and '"giang"' in audit[0]["detail"]
    assert 'id="roster-applied"' in c.get(f"{BASE}?applied=1").text
    # single use: the same preview id again is refused, nothing written twice
    again = c.post(f"{BASE}/apply", data={"csrf_token": csrf_of(page), "preview_id": pid.group(1)})
    assert again.status_code == 404


def test_xlsx_with_one_bad_row_shows_its_number_and_applies_nothing(web: tuple[WebContext, TestClient, Path]) -> None:
    _, c, tmp = web
    rows = current_rows()
    rows.insert(3, ["", "", "", "", ""])  # a blank row: the numbers after it still match the sheet
    rows[5][3] = "XYZ"  # spreadsheet row 6: chi's card
    status, page = upload(c, xlsx(rows))
    assert status == 422
    problems = page.split('id="problems"')[1].split("</table>")[0]
    assert re.search(r'<td class="row">6</td><td>Card UID &#39;XYZ&#39;', problems), problems
    assert 'name="preview_id"' not in page
    assert (tmp / "roster.csv").read_text(encoding="utf-8") == ROSTER


def test_guardians_and_roster_together(web: tuple[WebContext, TestClient, Path]) -> None:
    _, c, _ = web
    roster = b"person_id,name,class\nan,An,6A\n"  # dung (who has a guardian) goes
    status, page = upload(c, roster, name="r.csv")
    assert status == 422 and "&#39;dung&#39;, who is not in the new roster" in page
    guardians = "person_id,name,phone,email,channel,language,kinds\nan,Bố An,0912 345 678,,hook,vi,\n".encode()
    status, page = upload(c, roster, guardians, name="r.csv")
    assert status == 200, page
    assert 'id="changes-guardians"' in page and "dung-g1" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "a binary file, not a CSV or XLSX spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "an old Excel .xls file"),
        ("person_id,name\nan,Andr\xe9\n".encode("latin-1"), "not UTF-8 text"),
        (b"PK\x03\x04 not a zip", "damaged zip"),
    ],
)
def test_not_a_spreadsheet(web: tuple[WebContext, TestClient, Path], data: bytes, message: str) -> None:
    _, c, tmp = web
    status, page = upload(c, data, name="roster.xlsx")  # the name says xlsx: the bytes decide
    assert status == 422 and 'id="upload-error"' in page and message in page
    assert (tmp / "roster.csv").read_text(encoding="utf-8") == ROSTER


def test_oversized_upload_is_refused_before_parsing(web: tuple[WebContext, TestClient, Path]) -> None:
    _, c, _ = web
    token = csrf_of(c.get(BASE).text)
    big = b"person_id,name,class\n" + b"x" * (5 * 1024 * 1024)
    r = c.post(f"{BASE}/preview", data={"csrf_token": token}, files={"roster": ("r.csv", big, "text/csv")})
    assert r.status_code == 413
    just_over = b"person_id,name,class\n" + b"an,A,6A\n" * (2 * 1024 * 1024 // 8)
    status, page = upload(c, just_over, name="r.csv")
    assert status == 422 and "the limit is 2,097,152" in page


def test_csrf_roles_and_foreign_previews(web: tuple[WebContext, TestClient, Path], tmp_path: Path) -> None:
    ctx, c, tmp = web
    r = c.post(f"{BASE}/preview", files={"roster": ("r.csv", b"person_id,name,class\nan,A,6A\n", "text/csv")})
    assert r.status_code == 403  # no CSRF token
    _, page = upload(c, b"person_id,name,class\nan,A,6A\nbinh,B,6A\nchi,C,6A\ndung,D,6B\nem,E,6B\n", name="r.csv")
    pid = re.search(r'name="preview_id" value="([^"]+)"', page)
    assert pid
    assert c.post(f"{BASE}/apply", data={"preview_id": pid.group(1)}).status_code == 403  # no CSRF token
    bad_id = c.post(f"{BASE}/apply", data={"csrf_token": csrf_of(page), "preview_id": "x" * 32})
    assert bad_id.status_code == 404 and "expired" in bad_id.text  # the page in the chosen language
    # another office user cannot apply this user's preview
    ctx.accounts.add("office2", "office2-password-1", "office", site_id=SITE)
    other = TestClient(c.app)
    login(other, "office2", "office2-password-1")
    token2 = csrf_of(other.get(BASE).text)
    assert other.post(f"{BASE}/apply", data={"csrf_token": token2, "preview_id": pid.group(1)}).status_code == 404
    assert (tmp / "roster.csv").read_text(encoding="utf-8") == ROSTER
    for role in ("teacher6a", "guard"):
        cl = TestClient(c.app)
        login(cl, role)
        assert cl.get(BASE).status_code == 403
        assert cl.post(f"{BASE}/apply", data={"preview_id": pid.group(1)}).status_code == 403
    # the preview survived the refused attempts and still applies for its owner
    r = c.post(f"{BASE}/apply", data={"csrf_token": csrf_of(page), "preview_id": pid.group(1)}, follow_redirects=False)
    assert r.status_code == 303


def test_stale_preview_is_refused(web: tuple[WebContext, TestClient, Path]) -> None:
    ctx, c, _tmp = web
    _, page = upload(c, b"person_id,name,class\nan,A,6A\nbinh,B,6A\nchi,C,6A\ndung,D,6B\nem,E,6B\n", name="r.csv")
    pid = re.search(r'name="preview_id" value="([^"]+)"', page)
    assert pid
    state = load_school(ctx.db, SITE)
    assert state is not None
    with ctx.db.transaction() as tx:  # someone else changed the roster (another office PC, `edge school import`)
        edits.replace_students(tx, SITE, [*state.students, Person("zed", "Z", "6B", None)], today=TODAY)
    r = c.post(f"{BASE}/apply", data={"csrf_token": csrf_of(page), "preview_id": pid.group(1)})
    after = load_school(ctx.db, SITE)
    assert r.status_code == 409 and after is not None and "zed" in {p.person_id for p in after.students}


def test_the_preview_is_parsed_off_the_event_loop(
    web: tuple[WebContext, TestClient, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review L1: openpyxl on a big workbook takes seconds; on the event loop every page and live stream would
    wait for it."""
    import asyncio

    from edge.central.web.routes import roster as roster_route

    _, c, _ = web
    on_loop: list[bool] = []
    real = getattr(roster_route, "make_preview")  # noqa: B009 (imported there, not re-exported)

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real(*args, **kwargs)

    monkeypatch.setattr(roster_route, "make_preview", spy)
    status, _page = upload(c, b"person_id,name,class\nan,A,6A\n", name="r.csv")
    assert status in (200, 422) and on_loop == [False]
