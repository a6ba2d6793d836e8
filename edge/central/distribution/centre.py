"""The centre's side of distribution: enrolment and rosters kept per school, built into versioned artifacts.

Where enrolment lives — a folder, not a table (no migration): `{root}/{site}/gallery-{model}.npz` is the same
sealed gallery format the gateways use (AES-256-GCM with the centre's own gallery key), built by the same
`edge.recognition.enroll` (one accepted photo -> one template; unchanged photos are not encoded again), and
`{root}/{site}/roster.csv` is the school's roster as checked by `edge.roster`. Keeping templates out of the
check-in store means the biometric data is never in the database the web app, the notifier, reports, backups
and retention jobs all read; it is one sealed file per school and model that only this module opens, and the
artifact a gateway receives is exactly those templates (no conversion between a table and a file to get wrong).

Versions are per site and kind, strictly increasing and never reused: max(last + 1, now in milliseconds), so a
centre folder restored from an old backup still publishes a version above everything it published since (and the
publisher also goes above the version retained on the broker, once its signature checks out: publisher.py).
A version more than MAX_AHEAD_MS ahead of the clock is not believed, wherever it comes from: a poisoned manifest
saying 2**53-1 would otherwise make the next version one that every gateway refuses (manifest.py), for good.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edge.contract.codec import gallery_to_bytes
from edge.contract.manifest import CHUNK_BYTES, Kind, Manifest, chunk_count
from edge.recognition.backend import DEFAULT_MODEL, model_id_of
from edge.recognition.enroll import EnrolReport, EnrolSettings, PhotoResult, enroll
from edge.recognition.gallery import Gallery
from edge.roster import read_roster_csv
from edge.security.pki import check_name
from edge.security.private_files import private_dir, write_private

log = logging.getLogger(__name__)

MAX_AHEAD_MS = 86_400_000
"""How far ahead of the clock (in ms) a version may be and still be built on: a day covers a centre clock that
was wrong by hours, and keeps every version issued far below the 2**53 a gateway accepts."""


class CentreError(Exception):
    """Nothing to distribute, or a site/model name that cannot be used."""


@dataclass(frozen=True)
class Artifact:
    kind: Kind
    site: str
    model: str
    data: bytes


class CentreStore:
    def __init__(self, root: str | Path, key: bytes) -> None:
        self.root = Path(root)
        self.key = key

    def site_dir(self, site: str) -> Path:
        check_name(site, "site")
        return private_dir(self.root / site)

    def gallery_path(self, site: str, model: str = DEFAULT_MODEL) -> Path:
        return self.site_dir(site) / f"gallery-{model_id_of(model)}.npz"

    def roster_path(self, site: str) -> Path:
        return self.site_dir(site) / "roster.csv"

    # enrolment -------------------------------------------------------------------------------------------
    def enroll(
        self,
        site: str,
        people: dict[str, list[Path]],
        settings: EnrolSettings | None = None,
        on_result: Callable[[PhotoResult], None] | None = None,
    ) -> EnrolReport:
        s = settings or EnrolSettings()
        return enroll(self.gallery_path(site, s.model), people, s, key=self.key, on_result=on_result)

    def remove(self, site: str, person_id: str, model: str = DEFAULT_MODEL) -> int:
        g = self.gallery(site, model)
        n = g.remove(person_id)
        if n:
            g.save(self.gallery_path(site, model), self.key)
        return n

    def gallery(self, site: str, model: str = DEFAULT_MODEL) -> Gallery:
        path = self.gallery_path(site, model)
        if not path.is_file():
            raise CentreError(f"nobody is enrolled for site {site} with {model}: run `edge distribution enroll`")
        return Gallery.load(path, self.key, model=model_id_of(model))

    def set_roster(self, site: str, csv_path: str | Path) -> int:
        """Check the roster (every bad line listed, RosterError) and keep a copy as the site's roster."""
        people = read_roster_csv(csv_path)
        write_private(self.roster_path(site), Path(csv_path).read_bytes())
        return len(people)

    # artifacts -------------------------------------------------------------------------------------------
    def artifact(self, site: str, kind: Kind, model: str = DEFAULT_MODEL) -> Artifact:
        if kind == "gallery":
            return Artifact(kind, site, model_id_of(model), gallery_to_bytes(self.gallery(site, model)))
        path = self.roster_path(site)
        if not path.is_file():
            raise CentreError(f"no roster for site {site}: run `edge distribution roster {site} FILE.csv`")
        return Artifact(kind, site, "", path.read_bytes())

    def next_version(self, site: str, kind: Kind, above: int = 0) -> int:
        """A version above every one issued here and above `above` (the one retained on the broker), recorded.

        A version more than MAX_AHEAD_MS ahead of now — `above`, or the last one recorded here (written by an
        earlier centre that believed a poisoned manifest) — is logged and not built on: going above it would
        issue versions no gateway accepts."""
        path = self.site_dir(site) / "versions.json"
        seen = json.loads(path.read_text()) if path.is_file() else {}
        now_ms = time.time_ns() // 1_000_000
        ceiling = now_ms + MAX_AHEAD_MS
        last = int(seen.get(kind, 0))
        if above > ceiling:
            log.warning("%s %s: version %d on the broker is more than a day ahead: not built on", site, kind, above)
            above = 0
        if last > ceiling:
            log.error("%s %s: version %d in %s is more than a day ahead: not built on", site, kind, last, path)
            last = 0
        version = max(last + 1, above + 1, now_ms)
        seen[kind] = version
        write_private(path, json.dumps(seen, indent=1).encode())
        return version

    def manifest_for(self, a: Artifact, version: int, chunk_size: int = CHUNK_BYTES) -> Manifest:
        import hashlib

        return Manifest(
            kind=a.kind,
            site=a.site,
            version=version,
            sha256=hashlib.sha256(a.data).hexdigest(),
            size=len(a.data),
            model=a.model,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            chunks=chunk_count(len(a.data), chunk_size),
            chunk_size=chunk_size,
        )
