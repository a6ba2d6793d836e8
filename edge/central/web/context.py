"""WebContext: everything the web app needs, built once by `edge server run` (or a test) and handed to
create_app — no globals, so a test builds a second app beside the first.

School directories (roster + guardians CSV per school, edge/central/notify/directory.py) are re-read when one of
their files changes, so an office that replaces roster.csv sees it on the next page without a restart; a file
that no longer loads keeps the last good directory and its problems are listed on Today for the office."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from argon2 import PasswordHasher

from edge.central.notify.directory import DirectoryError, SchoolDirectory, load_school
from edge.central.store import CheckinStore
from edge.central.web.accounts import Accounts
from edge.central.web.db import WebDb
from edge.central.web.ratelimit import LoginLimiter
from edge.central.web.sessions import ApiTokens, Sessions
from edge.config.central import CentralConfig, SchoolConfig

if TYPE_CHECKING:
    from edge.central.web.enrolment import EnrolmentLink
    from edge.central.web.gates import GateMonitor
    from edge.central.web.live import LiveHub

log = logging.getLogger(__name__)


class CommandSender(Protocol):
    """Sends a signed command to a gateway and waits for its result (edge/central/web/gates.py)."""

    def send(
        self, site_id: str, gateway_id: str, command: str, request: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class WebSettings:
    cookie_secure: bool = True
    """Secure cookies (HTTPS only). Off only for http://localhost tests and the demo."""
    session_ttl_s: float = 12 * 3600
    """A session ends this long after login, whatever happens (a shared office PC)."""
    live_poll_s: float = 0.2
    """How often the live feed looks for new check-ins (a check-in appears on Today within this + transfer)."""
    live_queue: int = 256
    """Events waiting for one live viewer; a slower viewer is dropped (it reconnects and resumes)."""
    live_ping_s: float = 15.0
    """Keep-alive comment interval on the live stream (proxies close idle connections)."""
    max_upload_bytes: int = 5 * 1024 * 1024
    command_timeout_s: float = 10.0


def _mtime(path: str | None) -> float | None:
    if path is None:
        return None
    try:
        return os.stat(path).st_mtime_ns / 1e9
    except OSError:
        return None


class Directories:
    """School directories by site id, re-read when their CSV files change (checked at most once a second)."""

    def __init__(self, cfg: CentralConfig) -> None:
        self.cfg = cfg
        self._dirs: dict[str, SchoolDirectory] = {}
        self._stamps: dict[str, tuple[float | None, float | None]] = {}
        self._checked: dict[str, float] = {}
        self.problems: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        for school in cfg.schools:
            self._load(school)

    def _load(self, school: SchoolConfig) -> None:
        stamp = (_mtime(school.roster), _mtime(school.guardians))
        try:
            self._dirs[school.id] = load_school(school, tuple(self.cfg.notify.kinds))
            self.problems.pop(school.id, None)
        except DirectoryError as exc:
            log.error("school %s: directory not loaded: %s", school.id, exc)
            self.problems[school.id] = exc.problems
            if school.id not in self._dirs:
                self._dirs[school.id] = load_school(school.model_copy(update={"roster": None, "guardians": None}), ())
        self._stamps[school.id] = stamp

    def get(self, site_id: str) -> SchoolDirectory | None:
        school = next((s for s in self.cfg.schools if s.id == site_id), None)
        if school is None:
            return None
        with self._lock:
            now = time.monotonic()
            if now - self._checked.get(site_id, 0.0) >= 1.0:
                self._checked[site_id] = now
                if (_mtime(school.roster), _mtime(school.guardians)) != self._stamps.get(site_id):
                    self._load(school)
            return self._dirs[site_id]

    def reload(self, site_id: str) -> None:
        """Re-read now (after the roster page wrote a new file)."""
        school = self.cfg.school(site_id)
        with self._lock:
            self._load(school)
            self._checked[site_id] = time.monotonic()


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WebContext:
    cfg: CentralConfig
    store: CheckinStore
    db: WebDb
    settings: WebSettings = field(default_factory=WebSettings)
    clock: Callable[[], datetime] = utc_now
    """The time source (aware, UTC); tests pin it to a school morning."""
    hasher: PasswordHasher | None = None
    commands: CommandSender | None = None
    gates: GateMonitor | None = None
    live: LiveHub | None = None
    data_dir: Path | None = None
    """Where the web app may write files (roster uploads); None: next to the config."""
    enrolment: EnrolmentLink | None = None
    """The centre's galleries (+ the publisher) for the Student page's face enrolment; None: not offered."""

    def __post_init__(self) -> None:
        self.directories = Directories(self.cfg)
        self.accounts = Accounts(self.db, self.hasher)
        self.sessions = Sessions(self.db, self.accounts, self.settings.session_ttl_s)
        self.tokens = ApiTokens(self.db, self.accounts)
        self.limiter = LoginLimiter()

    @property
    def schools(self) -> list[SchoolConfig]:
        return list(self.cfg.schools)

    def school(self, site_id: str) -> SchoolConfig | None:
        return next((s for s in self.cfg.schools if s.id == site_id), None)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
        if self.gates is not None:
            self.gates.stop()
        self.db.close()
