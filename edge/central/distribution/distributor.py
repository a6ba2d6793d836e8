"""The distributor: the centre builds, signs and publishes a school's roster (and gallery) by itself whenever what
the gateways need has changed — no `edge distribution roster` / `publish` by hand (#20).

It runs in `edge server run` (a named thread, "distributor") beside the web app and follows:
- the school's version in the store (LiveSchools → StateWatcher: LISTEN/NOTIFY on PostgreSQL, a poll on SQLite):
  a roster imported on the web app or by `edge school import`, a student added, a card changed;
- a tick (`tick_s`): the day rolling over (a student whose enrolment ends yesterday leaves the gates' roster) and
  the sealed gallery file changing under `edge distribution enroll`.

What the gateways get is the roster of students not yet gone (enrolled_until empty or today or later) as
`person_id,name,class,card_uid` — the columns every gateway version reads. It is published only when its sha256
differs from the retained, trusted manifest's on the broker (the same check a restart makes), so a version bump
that changed a guardian's phone publishes nothing, and the gateways re-install nothing.

A failed publish (broker down) is logged and tried again on the next tick; the store stays the truth meanwhile.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.central.distribution.centre import Artifact, CentreError, CentreStore
from edge.central.distribution.publisher import Publisher, PublishError, Signing
from edge.central.school.live import LiveSchools
from edge.central.school.state import SchoolState
from edge.contract.manifest import Kind
from edge.contract.topics import DEFAULT_PREFIX
from edge.recognition.backend import DEFAULT_MODEL
from edge.recognition.gallery import GalleryError
from edge.security.pki import TlsFiles
from edge.security.private_files import write_private

log = logging.getLogger(__name__)

ROSTER_COLUMNS = ("person_id", "name", "class", "card_uid")


def gateway_roster(state: SchoolState, today: date) -> bytes:
    """The roster CSV the gateways install: every student not gone by `today` (a student enrolled from tomorrow
    is included: the gates work on their first morning even if the centre is down at midnight)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ROSTER_COLUMNS)
    for p in sorted(state.students, key=lambda s: s.person_id):
        if p.enrolled_until is None or p.enrolled_until >= today:
            w.writerow([p.person_id, p.name, p.class_name, p.card_uid or ""])
    return buf.getvalue().encode("utf-8")


RETRY_FIRST_S = 1.0
"""After a failed publish the distributor tries again after 1 s, then 2, 4 … up to its tick."""


@dataclass(frozen=True)
class Target:
    """The site broker and the `server` identity whose key signs (edge server run's --pki/--identity)."""

    host: str
    port: int
    tls: TlsFiles
    identity: str
    prefix: str = DEFAULT_PREFIX
    timeout_s: float = 10.0
    connection: Any = None
    """The web app's own MQTT connection (its gates link, the same identity) to publish over: the broker binds the
    client id to the certificate, so a second connection of the identity would replace that one."""


@dataclass
class Published:
    """What the distributor did, for tests, the bench and logs."""

    kind: Kind
    site: str
    version: int
    at: float
    sha256: str


@dataclass
class _Seen:
    roster_sha: str | None = None
    gallery_stamp: tuple[int, int, int] | None = None
    history: list[Published] = field(default_factory=list)


class Distributor:
    def __init__(
        self,
        schools: LiveSchools,
        centre: CentreStore,
        target: Target,
        *,
        model: str = DEFAULT_MODEL,
        tick_s: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lock: threading.Lock | None = None,
    ) -> None:
        self.schools = schools
        self.centre = centre
        self.target = target
        self.model = model
        self.tick_s = tick_s
        self.clock = clock
        self.lock = lock or threading.Lock()
        """Shared with the web app's EnrolmentLink: one gallery publish at a time."""
        self._signing: Signing | None = None
        self._seen: dict[str, _Seen] = {}
        self._wake: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="distributor", daemon=True)
        self.on_published: Callable[[Published], None] | None = None
        self.errors = 0

    # lifecycle -------------------------------------------------------------------------------------------------------
    def start(self) -> Distributor:
        self.schools.subscribe(lambda state: self._wake.put(state.site_id))
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def published(self, site: str) -> list[Published]:
        return list(self._seen.get(site, _Seen()).history)

    def _run(self) -> None:
        failed = not self._round(None)  # at start: whatever changed while the centre was down
        retry_s = RETRY_FIRST_S
        while not self._stop.is_set():
            # after a failure (the broker not reached yet, e.g. the web app's connection still coming up) try again
            # soon, doubling up to the tick, instead of leaving the gateways a whole tick behind
            try:
                site = self._wake.get(timeout=min(retry_s, self.tick_s) if failed else self.tick_s)
            except queue.Empty:
                site = None
            if self._stop.is_set():
                break
            ok = self._round(site)
            retry_s = RETRY_FIRST_S if ok or not failed else min(retry_s * 2, self.tick_s)
            failed = not ok

    def _round(self, site: str | None) -> bool:
        """Sync the school that changed (every school when None); False when any of them failed."""
        states = self.schools.states() if site is None else [s for s in [self.schools.state(site)] if s is not None]
        ok = True
        for state in states:
            try:
                self.sync(state)
            except Exception as exc:
                self.errors += 1
                ok = False
                log.warning("distributor: %s not published (tried again soon): %s", state.site_id, exc)
        return ok

    # the work --------------------------------------------------------------------------------------------------------
    def sync(self, state: SchoolState) -> list[Published]:
        """Publish the school's roster and gallery when the gateways' copy differs; returns what was published."""
        seen = self._seen.setdefault(state.site_id, _Seen())
        out: list[Published] = []
        today = self.clock().astimezone(ZoneInfo(state.timezone)).date()
        data = gateway_roster(state, today)
        sha = hashlib.sha256(data).hexdigest()
        if sha != seen.roster_sha:
            p = self._publish(
                Artifact("roster", state.site_id, "", data), before=lambda: self._write_roster(state, data)
            )
            seen.roster_sha = sha
            if p is not None:
                out.append(p)
        path = self.centre.gallery_path(state.site_id, self.model)
        try:
            st = path.stat()
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp is not None and stamp != seen.gallery_stamp:
            try:
                with self.lock:
                    artifact = self.centre.artifact(state.site_id, "gallery", self.model)
                    p = self._publish(artifact)
            except (CentreError, GalleryError) as exc:
                log.warning("distributor: the gallery of %s cannot be read: %s", state.site_id, exc)
                p = None
            seen.gallery_stamp = stamp
            if p is not None:
                out.append(p)
        seen.history.extend(out)
        return out

    def _write_roster(self, state: SchoolState, data: bytes) -> None:
        write_private(self.centre.roster_path(state.site_id), data)

    def _publish(self, artifact: Artifact, before: Callable[[], None] | None = None) -> Published | None:
        """Sign and announce `artifact` unless the trusted retained manifest already holds these bytes."""
        t = self.target
        sha = hashlib.sha256(artifact.data).hexdigest()
        if self._signing is None:
            self._signing = Signing.from_tls(t.tls)
        client_id = f"{t.identity}-distributor-{artifact.kind}"
        try:
            with Publisher(t.host, t.port, t.tls, client_id, t.prefix, t.timeout_s, over=t.connection) as pub:
                current = pub.trusted_manifest(artifact.site, artifact.kind)
                if current is not None and current.sha256 == sha:
                    return None  # the gateways already have exactly this
                if before is not None:
                    before()
                manifest = pub.publish(self.centre, artifact, self._signing)
        except (PublishError, OSError) as exc:
            raise PublishError(f"{artifact.kind} of {artifact.site}: {exc}") from exc
        p = Published(artifact.kind, artifact.site, manifest.version, self.clock().timestamp(), sha)
        log.info("distributor: %s of %s published as v%d", artifact.kind, artifact.site, manifest.version)
        if self.on_published is not None:
            self.on_published(p)
        return p
