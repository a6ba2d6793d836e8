"""WebContext: everything the web app needs, built once by `edge server run` (or a test) and handed to
create_app — no globals, so a test builds a second app beside the first.

School directories come from the store (edge/central/school/live.py): a page checks the school's version at most
once a second and reloads when it moved, so a roster imported here, by `edge school import` or by another web
process is on the next page without a restart; a school central.yaml names but the store does not hold is listed
with its problem on Today for the office."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from argon2 import PasswordHasher

from edge.central.school.live import LiveSchools
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
    code_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    """The HMAC key of the parents' sign-in codes (edge/central/parents/signin.py): `edge server run` derives it
    from the centre's key file; without one, random for this process."""

    def __post_init__(self) -> None:
        self.directories = LiveSchools(self.db, self.cfg)
        self.accounts = Accounts(self.db, self.hasher)
        self.sessions = Sessions(self.db, self.accounts, self.settings.session_ttl_s)
        self.tokens = ApiTokens(self.db, self.accounts)
        self.limiter = LoginLimiter()

    @property
    def schools(self) -> list[SchoolConfig]:
        """The schools the store holds (name, zone and calendar from the store; channels from central.yaml)."""
        return [d.school for d in self.directories.snapshot().values()]

    def school(self, site_id: str) -> SchoolConfig | None:
        d = self.directories.get(site_id)
        return None if d is None else d.school

    def close(self) -> None:
        self.directories.stop()
        if self.live is not None:
            self.live.stop()
        if self.gates is not None:
            self.gates.stop()
        self.db.close()
