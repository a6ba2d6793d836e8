"""`edge server …` (#10): accounts and tokens from the command line, and `edge server run` as a real process —
it serves, answers health, logs in a user made by `user add`, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import wait_until
from tests.web_support import CENTRAL, GUARDIANS, ROSTER, SITE, csrf_from, free_port


def edge(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`edge ARGS` in this process (click's runner: the CLI as a user types it, without a Python start each)."""
    from click.testing import CliRunner

    from edge.cli import cli

    r = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    return subprocess.CompletedProcess(list(args), r.exit_code, r.stdout, r.stderr)


def _school(tmp_path: Path, store: str) -> None:
    """The test school in the store, the way a technician does it: `edge school import central.yaml`."""
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "guardians.csv").write_text(GUARDIANS, encoding="utf-8")
    (tmp_path / "central.yaml").write_text(CENTRAL, encoding="utf-8")
    r = edge("school", "import", str(tmp_path / "central.yaml"), "--store", store, "--today", "2026-09-01")
    assert r.returncode == 0, r.stderr


def test_user_and_token_commands(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    _school(tmp_path, store)
    r = edge("server", "user", "add", "--store", store, "--role", "teacher", "--class", "6a", "--site", SITE,
             "--password-stdin", "co.lan", stdin="a-long-password\n")  # fmt: skip
    assert r.returncode == 2 and "did you mean '6A'" in r.stderr, "the class as the roster writes it"
    r = edge("server", "user", "add", "--store", store, "--role", "office", "--site", "no-such-school",
             "--password-stdin", "x1", stdin="a-long-password\n")  # fmt: skip
    assert r.returncode == 2 and "'no-such-school' is not in the store" in r.stderr
    r = edge("server", "user", "add", "--store", store, "--role", "teacher", "--class", "6A", "--site", SITE,
             "--password-stdin", "co.lan", stdin="a-long-password\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = edge(
        "server",
        "user",
        "add",
        "--store",
        store,
        "--role",
        "teacher",
        "--password-stdin",
        "x2",
        stdin="a-long-password\n",
    )
    assert r.returncode == 2 and "at least one class" in r.stderr
    r = edge("server", "user", "add", "--store", store, "--role", "office", "--password-stdin", "x3", stdin="short\n")
    assert r.returncode == 2 and "at least 10 characters" in r.stderr
    r = edge("server", "user", "add", "--store", store, "--role", "guard", "--password-stdin", "x4",
             stdin="a-long-password\n")  # fmt: skip
    assert r.returncode == 2 and "belong to one school (--site" in r.stderr
    listed = edge("server", "user", "list", "--store", store, "--json")
    assert '"username": "co.lan"' in listed.stdout and '"classes": ["6A"]' in listed.stdout
    token = edge("server", "token", "create", "--store", store, "co.lan").stdout.strip()
    assert token.startswith("edge_")
    assert "active" in edge("server", "token", "list", "--store", store).stdout
    assert edge("server", "user", "disable", "--store", store, "co.lan").returncode == 0
    assert "revoked" in edge("server", "token", "list", "--store", store).stdout, "disabling revokes tokens"
    assert edge("server", "token", "revoke", "--store", store, token).returncode == 2  # already revoked
    assert (
        edge(
            "server", "user", "passwd", "--store", store, "--password-stdin", "nobody", stdin="a-long-password\n"
        ).returncode
        == 2
    )


def test_server_run_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    _school(tmp_path, store)
    assert edge("server", "user", "add", "--store", store, "--role", "office", "--site", SITE, "--password-stdin",
                "office", stdin="office-password-1\n").returncode == 0  # fmt: skip
    port, metrics_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge",
            "server",
            "run",
            "-c",
            str(tmp_path / "central.yaml"),
            "--store",
            store,
            "--port",
            str(port),
            "--insecure-cookies",
            "--metrics",
            f"127.0.0.1:{metrics_port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return bool(httpx.get(f"{url}/health", timeout=1).json() == {"ok": True})
            except httpx.HTTPError:
                return False

        wait_until(healthy, 20, "edge server run answering /health")
        with httpx.Client(base_url=url) as c:
            page = c.get("/login")
            r = c.post(
                "/login",
                data={"username": "office", "password": "office-password-1", "csrf_token": csrf_from(page.text)},
            )
            assert r.status_code == 303
            assert c.get(f"/s/{SITE}/today").status_code == 200
            with c.stream("GET", f"/s/{SITE}/live") as live:  # an open live stream must not hold up the stop
                assert live.status_code == 200
                scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
                # requests by route template (never the path typed), the live viewer, the 303 of the login
                assert 'edge_web_requests_total{method="GET",route="/s/{site_id}/today",status="200"} 1.0' in scraped
                assert 'route="/login",status="303"' in scraped
                assert f"/s/{SITE}/today" not in scraped
                assert "edge_web_live_viewers 1.0" in scraped
                assert 'edge_web_request_seconds_count{route="/health"}' in scraped
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    out = proc.stdout.read() if proc.stdout else ""
    assert "Traceback" not in out, out
