"""The web app's enrolment link: the centre's sealed galleries (edge/central/distribution/centre.py) and, when the
server has a `server` identity, the publisher that announces a new gallery version to the site's gateways.

Why here and not in `CentreStore.enroll`: that call makes a person's templates *exactly* the photos it is given,
and a rejected photo leaves the person with none — right for a folder of photos re-run as a whole, wrong for an
office adding one photo on a page (a blurred upload must not erase the student's face). So the page adds one
template at a time, checked in memory (photo.py), and keeps every other template as it was.

One lock serialises load-change-save-publish: two office PCs enrolling at the same moment would otherwise each
save a gallery without the other's template, and the versions announced would not follow the changes' order.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edge.central.distribution.centre import CentreError, CentreStore
from edge.central.distribution.publisher import Publisher, PublishError, Signing
from edge.central.web.photo import PhotoRefused, template_from_photo
from edge.contract.topics import DEFAULT_PREFIX
from edge.recognition.backend import DEFAULT_MODEL, get_backend, model_id_of
from edge.recognition.enroll import EnrolSettings, jitters_for
from edge.recognition.gallery import Gallery, GalleryError
from edge.recognition.model_files import ModelFileError
from edge.security.pki import TlsFiles, describe, load_cert

log = logging.getLogger(__name__)

MAX_TEMPLATES = 5
"""Photos per student from the page: a few angles help recognition; more is a sign of a mix-up."""


class EnrolmentError(Exception):
    """The centre's gallery cannot be used (wrong key, another model, no model files): nothing changed."""


@dataclass(frozen=True)
class PublishTarget:
    """The site broker and the `server` identity whose key signs (the gates link's --pki/--identity)."""

    host: str
    port: int
    tls: TlsFiles
    identity: str
    prefix: str = DEFAULT_PREFIX
    timeout_s: float = 10.0
    connection: Any = None
    """The web app's own MQTT connection (the gates link's, same identity) to publish over: the broker binds the
    client id to the certificate, so a second connection of the identity would replace that one."""


@dataclass(frozen=True)
class FaceStatus:
    enrolled: bool
    templates: int
    model: str
    """The recognition model's name (sface, dlib) the gallery is made with."""


@dataclass(frozen=True)
class EnrolOutcome:
    person_id: str
    action: Literal["enrolled", "removed"]
    templates: int
    """The student's templates after the change."""
    model: str
    version: int | None
    """The gallery version announced to the gateways; None when it was not published (publish_error says why)."""
    publish_error: str | None


class EnrolmentLink:
    def __init__(
        self,
        store: CentreStore,
        *,
        model: str = DEFAULT_MODEL,
        publish: PublishTarget | None = None,
        settings: EnrolSettings | None = None,
        max_templates: int = MAX_TEMPLATES,
    ) -> None:
        self.store = store
        self.model = model
        self.model_id = model_id_of(model)
        self.target = publish
        # the gallery records what the model really does: dlib 10 jittered copies, SFace 1 (it has no such option)
        self.settings = settings or EnrolSettings(model=model, jitters=jitters_for(model, None))
        self.max_templates = max_templates
        self._lock = threading.Lock()
        self.lock = self._lock
        """Held while a gallery is changed and published; the distributor (distributor.py) takes it too."""
        self._cache_lock = threading.Lock()
        self._counts: dict[str, tuple[tuple[int, int, int], dict[str, int]]] = {}
        self._signing: Signing | None = None
        self.signing_site = describe(load_cert(publish.tls.cert))[2] if publish is not None else None

    # reading -----------------------------------------------------------------------------------------------
    def _path(self, site: str) -> Path:
        return self.store.gallery_path(site, self.model)

    def _load(self, site: str) -> Gallery | None:
        path = self._path(site)
        if not path.is_file():
            return None
        try:
            return Gallery.load(path, self.store.key, model=self.model_id)
        except GalleryError as exc:
            raise EnrolmentError(str(exc)) from None

    def status(self, site: str, person_id: str) -> FaceStatus:
        """Whether the student has templates in the centre's gallery and how many (never the templates). The
        counts are kept per gallery file and re-read when the file changes (also by `edge distribution`)."""
        path = self._path(site)
        try:
            st = path.stat()
        except FileNotFoundError:
            return FaceStatus(False, 0, self.model)
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._cache_lock:
            cached = self._counts.get(site)
        if cached is None or cached[0] != stamp:
            g = self._load(site)
            counts: dict[str, int] = {}
            for t in g.templates if g is not None else []:
                counts[t.person_id] = counts.get(t.person_id, 0) + 1
            cached = (stamp, counts)
            with self._cache_lock:
                self._counts[site] = cached
        n = cached[1].get(person_id, 0)
        return FaceStatus(n > 0, n, self.model)

    # changing ----------------------------------------------------------------------------------------------
    def enrol(self, site: str, person_id: str, photo: bytes) -> EnrolOutcome:
        """Add one template from `photo` (PhotoRefused: nothing stored), save the sealed gallery, publish it."""
        try:
            backend = get_backend(self.model)
            backend.load()
        except ModelFileError as exc:
            raise EnrolmentError(f"the {self.model} model cannot be loaded: {exc}") from None
        with self._lock:
            g = self._load(site) or Gallery(model=self.model_id, jitters=self.settings.jitters)
            mine = g.templates_of(person_id)
            if len(mine) >= self.max_templates:
                raise PhotoRefused(
                    "too_many", f"{person_id} already has {len(mine)} photos enrolled: remove the face first"
                )
            template = template_from_photo(photo, person_id, backend, self.settings, g.jitters)
            if any(t.photo_sha256 == template.photo_sha256 for t in mine):
                raise PhotoRefused("already_enrolled", f"this photo is already enrolled for {person_id}")
            g.set_person(person_id, [*mine, template])
            g.save(self._path(site), self.store.key)
            version, error = self._publish(site)
        log.info("face enrolled for %s/%s: %d template(s), gallery v%s", site, person_id, len(mine) + 1, version)
        return EnrolOutcome(person_id, "enrolled", len(mine) + 1, self.model, version, error)

    def remove(self, site: str, person_id: str) -> EnrolOutcome | None:
        """Remove every template of the student and publish; None when the student had none (nothing changed)."""
        with self._lock:
            g = self._load(site)
            if g is None or not g.remove(person_id):
                return None
            g.save(self._path(site), self.store.key)
            version, error = self._publish(site)
        log.info("face removed for %s/%s, gallery v%s", site, person_id, version)
        return EnrolOutcome(person_id, "removed", 0, self.model, version, error)

    def _publish(self, site: str) -> tuple[int | None, str | None]:
        """Build, sign and announce the site's gallery as `edge distribution publish` does: (version, None), or
        (None, why not) — the gallery is saved either way and the next change or the CLI publishes it."""
        t = self.target
        if t is None:
            return None, f"no broker identity (--pki/--identity) on this server: run `edge distribution publish {site}`"
        if site != self.signing_site:
            return None, f"this server's identity signs for site {self.signing_site}, not {site}"
        try:
            if self._signing is None:
                self._signing = Signing.from_tls(t.tls)
            artifact = self.store.artifact(site, "gallery", self.model)
            client_id = f"{t.identity}-web-enrol-{uuid.uuid4().hex[:6]}"
            with Publisher(t.host, t.port, t.tls, client_id, t.prefix, t.timeout_s, over=t.connection) as pub:
                manifest = pub.publish(self.store, artifact, self._signing)
        except (PublishError, CentreError, GalleryError, OSError) as exc:
            log.warning("gallery of %s saved but not published: %s", site, exc)
            return None, str(exc)
        return manifest.version, None
