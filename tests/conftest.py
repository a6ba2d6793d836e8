"""Session fixtures: one real Mosquitto per test session (on a free port), owned and cleaned up here."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.devtools.mosquitto import MosquittoBroker
from tests.helpers import Watcher


@pytest.fixture(scope="session")
def _broker_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def broker(_broker_session: MosquittoBroker) -> Iterator[MosquittoBroker]:
    """The session's broker, running. A test may stop/restart it; it is running again afterwards."""
    _broker_session.start()
    yield _broker_session
    _broker_session.start()


@pytest.fixture
def watcher(broker: MosquittoBroker) -> Iterator[Watcher]:
    w = Watcher(broker.port)
    yield w
    w.close()


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


@pytest.fixture
def demo_data() -> Path:
    from edge.demo.runner import data_dir

    return data_dir()
