"""Galleries and rosters from the centre: the gateway's side (edge/central/distribution is the centre's).

The gateway subscribes to `{prefix}/{site}/distribution/#` on the connection it already has (TLS, its own
certificate, an ACL that lets it read only its site's distribution topics). For each kind (gallery, roster):

  manifest  parsed, then verified against the site CA and CRL: signed by a `server` identity of this site (not
            a gateway's, an operator's or another site's key), not revoked. An unsigned or badly signed manifest
            is refused and raises an alarm. A version at or below the installed one is ignored: a replayed old
            manifest never rolls a gateway back.
  chunks    buffered for the wanted version only (bounded by the size the signed manifest announces); when all
            are in, size and sha256 must equal the manifest's, else the artifact is refused and alarmed.
  install   the kind's installer checks the content (a gallery decodes, has the right checksum and the model
            this gateway runs; a roster passes the roster checks), writes it atomically (temp + fsync + rename;
            the gallery re-sealed with this gateway's own key) and swaps it in live. If it fails, the previous
            one stays in use and the failure is alarmed.
The installed versions are kept in `distribution.json` next to the gateway database and reported in health.

All of it runs on one thread ("distribution"): verifying and decoding a megabyte never blocks the MQTT thread.
Chunks of versions already installed are dropped on arrival (a reconnect re-delivers the retained chunks: a few
hundred KiB to a few MB on the site network, once per reconnect).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

from edge.central.distribution.manifest import (
    KINDS,
    MAX_SIZE,
    Kind,
    Manifest,
    ManifestRefused,
    parse_manifest,
    parse_topic,
    site_filter,
    verify_manifest,
)
from edge.security.pki import PkiError, describe, load_cert, load_crl_serials
from edge.security.private_files import write_private

if TYPE_CHECKING:
    from edge.config.model import GatewayConfig
    from edge.gateway.service import Gateway

log = logging.getLogger(__name__)

Installer = Callable[[bytes, Manifest], str]
"""Checks and installs an artifact's bytes; returns a summary ('412 people'); raises to refuse it."""

INCOMPLETE_AFTER_S = 120.0
"""A verified manifest whose chunks have not all arrived by then raises an alarm (the fetch goes on)."""


@dataclass(frozen=True)
class Installed:
    version: int
    sha256: str
    size: int
    model: str
    signer: str
    installed_at: str
    summary: str


class DistributionClient:
    def __init__(
        self,
        *,
        prefix: str,
        site: str,
        ca_path: str | Path,
        crl_path: str | Path | None,
        state_dir: str | Path,
        installers: dict[Kind, Installer],
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        on_alarm: Callable[[str], None] | None = None,
    ) -> None:
        self.prefix = prefix
        self.site = site
        self.ca: x509.Certificate = load_cert(Path(ca_path))
        self.crl_path = Path(crl_path) if crl_path else None
        self.state_dir = Path(state_dir)
        self.installers = installers
        self.now = now
        self.on_alarm = on_alarm
        self.topic_filter = site_filter(prefix, site)
        self.installed: dict[Kind, Installed] = self._load_state()
        self.refused: dict[Kind, str] = {}
        self.counters = {"installed": 0, "refused": 0, "ignored": 0}
        self._wanted: dict[Kind, tuple[Manifest, float]] = {}
        self._chunks: dict[Kind, tuple[int, dict[int, bytes]]] = {}
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=1000)
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="distribution", daemon=True)

    # files -----------------------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.state_dir / "distribution.json"

    def _load_state(self) -> dict[Kind, Installed]:
        try:
            doc = json.loads(self.state_path.read_text())
            return {k: Installed(**v) for k, v in doc.items() if k in KINDS}
        except FileNotFoundError:
            return {}
        except (ValueError, TypeError, AttributeError) as exc:
            log.error("%s is damaged (%s): any distributed version will be installed again", self.state_path, exc)
            return {}

    def _save_state(self) -> None:
        doc = {k: asdict(v) for k, v in self.installed.items()}
        write_private(self.state_path, json.dumps(doc, indent=1).encode())

    # the transport's thread --------------------------------------------------------------------------------
    def accepts(self, topic: str) -> bool:
        return topic.startswith(self.topic_filter[:-1])

    def submit(self, topic: str, payload: bytes) -> None:
        """Never blocks: a full queue drops the message (a retained one comes again on the next connect)."""
        try:
            self._queue.put_nowait((topic, payload))
        except queue.Full:
            log.warning("distribution queue full: dropped %s", topic)

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        with contextlib.suppress(queue.Full):  # a full queue: the thread sees _stopping after its current message
            self._queue.put_nowait(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_installed(self, kind: Kind, version: int, timeout: float) -> bool:
        """For tests and tools: until `kind` is at `version` or above."""
        deadline = time.monotonic() + timeout
        with self._done:
            while (i := self.installed.get(kind)) is None or i.version < version:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._done.wait(left)
        return True

    # health ----------------------------------------------------------------------------------------------
    def alarms(self) -> list[str]:
        out = [f"distribution_refused: {msg}" for _, msg in sorted(self.refused.items())]
        now = time.monotonic()
        for kind, (m, since) in sorted(self._wanted.items()):
            if now - since > INCOMPLETE_AFTER_S:
                have = len(self._chunks.get(kind, (0, {}))[1])
                out.append(
                    f"distribution_incomplete: {kind} v{m.version}: {have}/{m.chunks} chunks after {now - since:.0f}s"
                )
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            k: {"version": v.version, "sha256": v.sha256[:16], "installed_at": v.installed_at, "summary": v.summary}
            for k, v in self.installed.items()
        }

    # the distribution thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stopping.is_set():
                return
            try:
                self._handle(*item)
            except Exception:  # a bug must not end distribution for good
                log.exception("distribution: handling %s failed", item[0])

    def _handle(self, topic: str, payload: bytes) -> None:
        parsed = parse_topic(topic, self.prefix, self.site)
        if parsed is None or not payload:  # not ours, or a cleared (deleted) retained chunk
            return
        kind, version, index = parsed
        if version is None or index is None:
            self._on_manifest(kind, payload)
        else:
            self._on_chunk(kind, version, index, payload)
        self._try_install(kind)

    def _refuse(self, kind: Kind, msg: str) -> None:
        self.counters["refused"] += 1
        self.refused[kind] = msg
        log.error("distribution: refused %s (keeping the installed one)", msg)
        if self.on_alarm is not None:
            self.on_alarm(f"distribution_refused: {msg}")

    def _current(self, kind: Kind) -> int:
        i = self.installed.get(kind)
        return i.version if i else 0

    def _on_manifest(self, kind: Kind, payload: bytes) -> None:
        try:
            m = parse_manifest(payload)
            if m.kind != kind:
                raise ManifestRefused(f"a {m.kind} manifest on the {kind} topic")
            revoked: frozenset[int] = frozenset()
            if self.crl_path is not None:
                revoked = frozenset(load_crl_serials(self.crl_path, self.ca))
            signer = verify_manifest(m, site=self.site, ca_cert=self.ca, now=self.now(), revoked_serials=revoked)
        except (ManifestRefused, PkiError) as exc:
            self._refuse(kind, f"{kind} manifest: {exc}")
            return
        if m.version <= self._current(kind):
            self.counters["ignored"] += 1
            log.info("distribution: %s v%d ignored (v%d installed)", kind, m.version, self._current(kind))
            return
        wanted = self._wanted.get(kind)
        if wanted is not None and wanted[0].version >= m.version:
            return
        log.info("distribution: %s v%d announced by %s (%d bytes); fetching", kind, m.version, signer, m.size)
        self._wanted[kind] = (m, time.monotonic())
        held = self._chunks.get(kind)
        if held is not None and held[0] != m.version:
            del self._chunks[kind]

    def _on_chunk(self, kind: Kind, version: int, index: int, part: bytes) -> None:
        if version <= self._current(kind):
            return
        wanted = self._wanted.get(kind)
        if wanted is not None:
            m = wanted[0]
            if version != m.version:
                return
            if index >= m.chunks or len(part) > m.chunk_size:
                self._refuse(kind, f"{kind} v{version}: chunk {index} does not fit the manifest")
                self._drop(kind)
                return
        held = self._chunks.get(kind)
        if held is None or held[0] < version:  # before any manifest: keep the newest version's chunks only
            held = (version, {})
            self._chunks[kind] = held
        elif held[0] > version:
            return
        held[1][index] = part
        if sum(len(p) for p in held[1].values()) > MAX_SIZE[kind]:
            log.warning(
                "distribution: %s v%d chunks over %d bytes without a manifest; dropped", kind, version, MAX_SIZE[kind]
            )
            del self._chunks[kind]

    def _drop(self, kind: Kind) -> None:
        self._wanted.pop(kind, None)
        self._chunks.pop(kind, None)

    def _try_install(self, kind: Kind) -> None:
        wanted = self._wanted.get(kind)
        held = self._chunks.get(kind)
        if wanted is None or held is None:
            return
        m = wanted[0]
        if held[0] != m.version or len(held[1]) < m.chunks:
            return
        data = b"".join(held[1][i] for i in range(m.chunks))
        self._drop(kind)
        if len(data) != m.size:
            self._refuse(kind, f"{kind} v{m.version}: {len(data)} bytes, the signed manifest says {m.size}")
            return
        digest = hashlib.sha256(data).hexdigest()
        if digest != m.sha256:
            self._refuse(
                kind, f"{kind} v{m.version}: sha256 {digest[:12]}… is not the signed {m.sha256[:12]}… (tampered)"
            )
            return
        try:
            summary = self.installers[kind](data, m)
        except Exception as exc:
            self._refuse(kind, f"{kind} v{m.version} does not load: {exc}")
            return
        signer = describe(x509.load_pem_x509_certificate(m.signer.encode()))[0]  # parsed when verified
        with self._done:
            self.installed[kind] = Installed(
                m.version, m.sha256, m.size, m.model, signer, self.now().isoformat(timespec="seconds"), summary
            )
            self._save_state()
            self.refused.pop(kind, None)
            self.counters["installed"] += 1
            self._done.notify_all()
        log.info("distribution: %s v%d installed: %s", kind, m.version, summary)


# the gateway's installers -----------------------------------------------------------------------------------
def state_dir_for(cfg: GatewayConfig) -> Path:
    """Next to the gateway database (a folder the service may write, unlike /etc/edge under ProtectSystem=)."""
    return Path(cfg.storage.database).parent / "distribution"


def distributed_roster_path(cfg: GatewayConfig) -> Path:
    return state_dir_for(cfg) / "roster.csv"


def distribution_for(gw: Gateway) -> DistributionClient | None:
    """The gateway's distribution client, or None without a site CA to check signatures with (a lab gateway on
    plaintext MQTT: its gallery and roster stay local files)."""
    cfg = gw.cfg
    tls = cfg.broker.tls
    if tls is None:
        log.warning("distribution off: no broker.tls.ca to verify the centre's signatures with")
        return None

    def install_gallery(data: bytes, m: Manifest) -> str:
        from edge.central.distribution.codec import gallery_from_bytes
        from edge.recognition.backend import model_id_of
        from edge.recognition.gallery_key import load_key

        gallery = gallery_from_bytes(data)
        runs = model_id_of(cfg.recognition.model)
        if gallery.model != runs or m.model != gallery.model:
            raise ValueError(f"made with {gallery.model}, this gateway runs {runs}")
        gallery.save(cfg.gallery.path, load_key(cfg.gallery))  # re-sealed with this gateway's key, atomically
        gw.use_gallery(gallery)
        return f"{len(gallery)} templates of {len(gallery.people)} people"

    def install_roster(data: bytes, _m: Manifest) -> str:
        from edge.central.distribution.codec import roster_from_bytes

        people = roster_from_bytes(data)
        write_private(distributed_roster_path(cfg), data)
        gw.roster.replace_all(people)
        return f"{len(people)} people"

    return DistributionClient(
        prefix=cfg.broker.topic_prefix,
        site=cfg.site_id,
        ca_path=tls.ca,
        crl_path=tls.crl,
        state_dir=state_dir_for(cfg),
        installers={"gallery": install_gallery, "roster": install_roster},
        on_alarm=lambda _msg: _poke_health(gw),
    )


def _poke_health(gw: Gateway) -> None:
    """A refusal goes out in a health report now, not at the next interval (the alarm is in `alarms`)."""
    health = getattr(gw, "health", None)  # made after the distribution client: a refusal may come first
    if health is not None:
        health.poke()
