"""Session fixtures: one real Mosquitto per test session (on a free port), owned and cleaned up here; the `needs`
mark (tests/system_tools.py: a missing program skips the test, and fails it under CI=true)."""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from edge.central.store.pg_bin import PostgresMissing
from edge.devtools.mosquitto import MosquittoBroker
from edge.devtools.postgres import PostgresServer
from firmware_bridge.simulators.avr_sim import AvrGateSim
from tests.helpers import Watcher
from tests.system_tools import TOOLS, in_ci, missing_tools, require, unavailable


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"needs(*tools): the programs the test runs ({', '.join(TOOLS)}); skip without them, fail in CI"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        require(*mark.args)


def pytest_report_header(config: pytest.Config) -> list[str]:
    missing = missing_tools()
    where = "CI=true: a missing tool fails its tests" if in_ci() else "not CI: a missing tool skips its tests"
    return [f"tools: {where}; missing: " + ("; ".join(f"{k} ({v})" for k, v in missing.items()) or "none")]


@pytest.fixture(scope="session")
def _broker_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    require("mosquitto")
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def broker(request: pytest.FixtureRequest, _broker_session: MosquittoBroker) -> Iterator[MosquittoBroker]:
    """The session's broker, running, as a new one for each test that used it: when any client connected during a
    test, the broker is restarted afterwards (0.6 s; it keeps nothing on disk, so no session and no retained
    message outlives the test). Sharing one broker's state across tests made single publishes vanish into an
    earlier test's offline collector session ($share) and let an earlier test's retained, signed roster replace a
    later test's gateway's roster. What the broker logged during a failed test is attached to its report."""
    _broker_session.start()
    start = _broker_session.log_offset()
    request.node.stash[_BROKER_LOG] = (_broker_session.log, start)
    yield _broker_session
    if _broker_session.clients_since(start):
        _broker_session.stop()
    _broker_session.start()


_BROKER_LOG = pytest.StashKey[tuple[Path, int]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    where = item.stash.get(_BROKER_LOG, None)
    if report.failed and where is not None and where[0].exists():
        with where[0].open("rb") as f:
            f.seek(where[1])
            text = f.read()[-20_000:].decode(errors="replace")
        report.sections.append(("mosquitto log during the test", text))
    return report


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throw-away PostgreSQL per session (initdb + pg_ctl on a free port, never the system's); tests take
    `postgres.fresh_database()`. Skipped where the server binaries are not installed (a failure under CI=true)."""
    try:
        server = PostgresServer().start()
    except PostgresMissing as exc:
        unavailable(f"postgresql: {exc}")
    yield server
    server.stop()


@pytest.fixture
def watcher(broker: MosquittoBroker) -> Iterator[Watcher]:
    w = Watcher(broker)
    yield w
    w.close()


@pytest.fixture(scope="session", autouse=True)
def _text_catalogs() -> None:
    """The compiled gettext catalogs (.mo, build outputs) the web app refuses to start without; what
    scripts/bootstrap.sh does on a school's machine (a .mo newer than its .po is kept)."""
    from edge.central.catalogs import compile_all

    compile_all()


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


@pytest.fixture(scope="session")
def firmware_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The gate controller firmware and its simavr harness, built once per session: (gate.elf, gate_sim)."""
    from firmware_bridge.simulators.avr_sim import build

    require("avr")
    return build(tmp_path_factory.mktemp("firmware"))


@pytest.fixture
def avr_sim(firmware_build: tuple[Path, Path], tmp_path: Path) -> Iterator[AvrGateSim]:
    """A fresh MCU running the real firmware; its UART at `avr_sim.port` (stable across unplug/replug)."""
    elf, harness = firmware_build
    with AvrGateSim(elf, harness, port_link=tmp_path / "gate-tty") as sim:
        yield sim


@pytest.fixture
def demo_data() -> Path:
    from edge.demo.runner import data_dir

    return data_dir()
