"""The retention policy runs by itself (#24 item 4: "enforced by a daily job"): `edge provision web` ships
edge-retention.service + edge-retention.timer (edge/ops/timers.py) and its install.sh installs and enables the
timer; systemd-analyze finds nothing to say about them; and the service's own ExecStart line, run as systemd would
run it (the store URL from centre.env, the centre's key as a credential), erases a leaver — card binding,
guardians' contacts, face templates at the centre — while keeping their attendance, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.central.distribution.centre import CentreStore
from edge.central.school.state import load_guardians
from edge.central.web.enrolment import EnrolmentLink
from edge.devtools.postgres import PostgresServer
from edge.ops.provision import plan
from edge.ops.timers import RETENTION_TIMER, render_retention_units
from edge.ops.units import Layout
from edge.security.pki import Pki
from tests.helpers import FACES
from tests.units_support import parse
from tests.web_support import CENTRAL, SCHOOL_MORNING, SITE, TZ, checkin, make_web

ANALYZE = shutil.which("systemd-analyze")
KEY = bytes(range(32))


def layout(tmp: Path) -> Layout:
    # the prefix of this checkout, so ExecStart= names an executable that exists (verify checks it)
    return Layout(prefix=Path(sys.prefix).parent, config_dir=tmp / "etc", state_dir=tmp / "var")


def test_the_timer_starts_the_run_daily_and_catches_up_after_a_power_cut(tmp_path: Path) -> None:
    lay = layout(tmp_path)
    units = {name: parse(text) for name, text in render_retention_units(lay).items()}
    timer = units[RETENTION_TIMER]["Timer"]
    assert timer["OnCalendar"] == ["*-*-* 02:15:00"] and timer["Persistent"] == ["true"]
    assert units[RETENTION_TIMER]["Install"]["WantedBy"] == ["timers.target"]
    svc = units["edge-retention.service"]["Service"]
    assert svc["Type"] == ["oneshot"] and svc["User"] == ["edge"]
    assert svc["ExecStart"] == [
        f"{lay.bin} privacy retention -c {lay.config_dir}/central.yaml --store ${{EDGE_STORE_URL}}"
        f" --centre {lay.state_dir}/centre --centre-key-file %d/centre.key"
    ]
    assert svc["EnvironmentFile"] == [f"{lay.config_dir}/centre.env"], "the same store as every centre unit"
    assert svc["LoadCredential"] == [f"centre.key:{lay.config_dir}/centre.key"]


@pytest.mark.needs("systemd-analyze")
def test_systemd_analyze_verify_has_nothing_to_say(tmp_path: Path) -> None:
    assert ANALYZE is not None
    for name, text in render_retention_units(layout(tmp_path)).items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run(
        [ANALYZE, "verify", "--man=no", str(tmp_path / RETENTION_TIMER), str(tmp_path / "edge-retention.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and (proc.stdout + proc.stderr).strip() == "", proc.stdout + proc.stderr


def test_provisioned_web_bundle_installs_and_enables_the_timer(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    pki.init("st-marys")
    out = tmp_path / "out"
    p = plan("web", "web-1", site="st-marys", server="mqtt.school.example", out=out, pki_dir=pki.dir)
    p.write()
    assert (out / "edge-retention.service").is_file() and (out / RETENTION_TIMER).is_file()
    script = (out / "install.sh").read_text()
    assert "install -m 0644 edge-retention.service /etc/systemd/system/edge-retention.service" in script
    assert f"install -m 0644 {RETENTION_TIMER} /etc/systemd/system/{RETENTION_TIMER}" in script
    assert script.index("edge-retention.timer /etc/systemd") < script.index("systemctl daemon-reload")
    assert f"systemctl enable --now {RETENTION_TIMER}" in script
    assert any("retention" in n for n in p.notes)
    collector = plan("collector", "c-1", site="st-marys", server="mqtt.school.example", out=tmp_path / "c",
                     pki_dir=pki.dir)  # fmt: skip
    assert not any(f.path.name.startswith("edge-retention") for f in collector.files), "one run per centre"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        return pg.fresh_database()
    return None


def test_the_units_exec_start_erases_a_leaver(tmp_path: Path, store_url: str | None) -> None:
    lay = layout(tmp_path)
    ctx, _ = make_web(tmp_path, store_url)
    url = store_url or f"sqlite:///{tmp_path / 'centre.sqlite'}"
    try:
        link = EnrolmentLink(CentreStore(lay.state_dir / "centre", KEY))
        link.enrol(SITE, "an", (FACES / "obama_1.jpg").read_bytes())
        ctx.store.store_batch([checkin("an", SCHOOL_MORNING - timedelta(days=3))])
        today = datetime.now(ZoneInfo(TZ)).date()  # the run's "today" is the school's, on the real clock
        ctx.db.execute("UPDATE students SET enrolled_until = ? WHERE site_id = ? AND person_id = 'an'",
                       ((today - timedelta(days=2)).isoformat(), SITE))  # fmt: skip
        lay.config_dir.mkdir(parents=True)
        central = (
            CENTRAL.replace("roster.csv", str(tmp_path / "roster.csv"))
            .replace("guardians.csv", str(tmp_path / "guardians.csv"))
            .replace('"0123456789abcdef0123"', '"${EDGE_HOOK_SECRET}"')  # the notifier's secret: not in centre.env
        )
        (lay.config_dir / "central.yaml").write_text(central)
        creds = tmp_path / "credentials"
        creds.mkdir()
        (creds / "centre.key").write_text(KEY.hex() + "\n")
        (creds / "centre.key").chmod(0o600)
        (exec_start,) = parse(render_retention_units(lay)["edge-retention.service"])["Service"]["ExecStart"]
        argv = [a.replace("%d", str(creds)) for a in shlex.split(exec_start.replace("${EDGE_STORE_URL}", url))]
        env = {**os.environ, "EDGE_STORE_URL": url, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        env.pop("EDGE_HOOK_SECRET", None)
        run = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False)
        assert run.returncode == 0, run.stdout + run.stderr
        report = json.loads(run.stdout.strip().splitlines()[-1])
        assert report["leavers"] == [f"{SITE}/an"] and report["errors"] == []
        row = ctx.db.one("SELECT card_uid FROM students WHERE site_id = ? AND person_id = 'an'", (SITE,))
        assert row == {"card_uid": None}
        assert "an" not in [g.person_id for g in load_guardians(ctx.db, SITE)]
        assert not link.status(SITE, "an").enrolled, "the face templates are deleted at the centre"
        assert [r["person_id"] for r in ctx.db.query("SELECT person_id FROM checkins")] == ["an"], "attendance kept"
        again = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False)
        assert again.returncode == 0 and json.loads(again.stdout.strip().splitlines()[-1])["leavers"] == []
    finally:
        ctx.close()
