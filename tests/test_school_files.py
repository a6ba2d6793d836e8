"""`edge school import / export` (#20): today's files (central.yaml + roster CSV + guardians CSV) go into the store
in one transaction per school, a second import of the same files changes nothing (not even the version), an export
imports back to the same state, and a file with problems writes nothing and lists every problem. SQLite and
PostgreSQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edge.central.school.state import load_school
from edge.central.web.db import WebDb
from edge.devtools.postgres import PostgresServer
from tests.web_support import CENTRAL, GUARDIANS, ROSTER, SITE


def edge(*args: str) -> subprocess.CompletedProcess[str]:
    from click.testing import CliRunner

    from edge.cli import cli

    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return subprocess.CompletedProcess(list(args), r.exit_code, r.stdout, r.stderr)


def _url(request: pytest.FixtureRequest, path: Path) -> str:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        return pg.fresh_database()
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    return _url(request, tmp_path / "a.sqlite"), _url(request, tmp_path / "b.sqlite")


CENTRAL_WITH_MORE = CENTRAL.replace(
    '      cutoff: "07:45"\n',
    '      cutoff: "07:45"\n      go_live: 2026-11-02\n      makeup_days: [{name: "Học bù", start: 2026-11-28}]\n'
    '      classes: {"6A": {cutoff: "07:30"}}\n',
)


def _files(tmp_path: Path) -> Path:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "guardians.csv").write_text(GUARDIANS, encoding="utf-8")
    central = tmp_path / "central.yaml"
    central.write_text(CENTRAL_WITH_MORE, encoding="utf-8")
    return central


def test_import_export_round_trip_and_idempotence(tmp_path: Path, stores: tuple[str, str]) -> None:
    a, b = stores
    central = _files(tmp_path)
    first = edge("school", "import", str(central), "--store", a, "--today", "2026-11-24")
    assert first.returncode == 0, first.stderr
    assert f"{SITE}: imported" in first.stdout and "5 students (5 new, 0 left), 2 guardians" in first.stdout
    db = WebDb(a)
    try:
        state = load_school(db, SITE)
        assert state is not None and state.go_live is not None
        # the go-live date has passed on the import day: the students are enrolled from it, not from the import
        assert {p.enrolled_from for p in state.students} == {state.go_live}
        again = edge("school", "import", str(central), "--store", a, "--today", "2026-11-25")
        assert again.returncode == 0 and f"{SITE}: unchanged (version {state.version})" in again.stdout
        after = load_school(db, SITE)
        assert after is not None and after.version == state.version
    finally:
        db.close()
    out1, out2 = tmp_path / "export1", tmp_path / "export2"
    assert edge("school", "export", "--store", a, "--school", SITE, str(out1)).returncode == 0
    r = edge("school", "import", str(out1 / "school.yaml"), "--store", b, "--central", str(central))
    assert r.returncode == 0, r.stderr
    assert edge("school", "export", "--store", b, "--school", SITE, str(out2)).returncode == 0
    for name in ("roster.csv", "guardians.csv"):
        assert (out1 / name).read_text(encoding="utf-8") == (out2 / name).read_text(encoding="utf-8"), name
    yaml1 = (out1 / "school.yaml").read_text(encoding="utf-8").split("\n", 2)[2]  # after the version comment
    assert yaml1 == (out2 / "school.yaml").read_text(encoding="utf-8").split("\n", 2)[2]
    assert "makeup_days" in yaml1 and "go_live: '2026-11-02'" in yaml1
    da, dbb = WebDb(a), WebDb(b)
    try:
        sa, sb = load_school(da, SITE), load_school(dbb, SITE)
        assert sa is not None and sb is not None
        assert (sa.students, sa.guardians, sa.calendar, sa.gate_names) == (
            sb.students,
            sb.guardians,
            sb.calendar,
            sb.gate_names,
        )
    finally:
        da.close()
        dbb.close()
    shown = edge("school", "show", "--store", b, "--json")
    assert '"students_ever": 5' in shown.stdout


def test_a_file_with_problems_writes_nothing_and_lists_every_problem(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'c.sqlite'}"
    central = _files(tmp_path)
    (tmp_path / "roster.csv").write_text(ROSTER + "bad,,6B,,\nbad2,X,6B,NOT-HEX,\n", encoding="utf-8")
    (tmp_path / "guardians.csv").write_text(GUARDIANS + "nobody,Y,,,hook,vi,\n", encoding="utf-8")
    r = edge("school", "import", str(central), "--store", store)
    assert r.returncode == 2
    assert "line 7: person_id and name are required" in r.stderr and "NOT-HEX" in r.stderr
    assert "nothing imported" in r.stderr
    db = WebDb(store)
    try:
        assert load_school(db, SITE) is None
    finally:
        db.close()


def test_a_full_import_ends_enrolments_and_registers_pki_gateways(tmp_path: Path) -> None:
    from edge.security.pki import Pki

    store = f"sqlite:///{tmp_path / 'c.sqlite'}"
    central = _files(tmp_path)
    pki = Pki(tmp_path / "pki")
    pki.init(SITE)
    pki.issue("gw-main", "gateway")
    assert edge("school", "import", str(central), "--store", store, "--today", "2026-11-02").returncode == 0
    (tmp_path / "roster.csv").write_text(ROSTER.replace("em,Hoàng Em,6B,,\n", ""), encoding="utf-8")
    r = edge("school", "import", str(central), "--store", store, "--today", "2026-11-24", "--pki", str(pki.dir))
    assert r.returncode == 0 and "(0 new, 1 left)" in r.stdout and "gateways registered: gw-main" in r.stdout
    db = WebDb(store)
    try:
        state = load_school(db, SITE)
        assert state is not None and state.active_gateways() == ["gw-main"]
        em = next(p for p in state.students if p.person_id == "em")
        assert str(em.enrolled_until) == "2026-11-23"
    finally:
        db.close()
