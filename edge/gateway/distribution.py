"""Galleries and rosters from the centre: the gateway's side (edge/central/distribution is the centre's).

The gateway subscribes to `{prefix}/{site}/distribution/#` on the connection it already has (TLS, its own
certificate, an ACL that lets it read only its site's distribution topics). For each kind (gallery, roster):

  manifest  parsed, then verified against the site CA and CRL: signed by a `server` identity of this site (not
            a gateway's, an operator's or another site's key), not revoked. An unsigned or badly signed manifest
            is refused and raises an alarm. A version at or below the installed one is ignored: a replayed old
            manifest never rolls a gateway back.
  chunks    buffered for the wanted version (bounded by the size the signed manifest announces) and for the
            newest version above it (a publish in progress: its manifest follows its chunks and supersedes the
            wanted one); when all are in, size and sha256 must equal the manifest's, else refused and alarmed.
  install   the kind's installer checks the content (a gallery decodes, has the right checksum and the model
            this gateway runs; a roster passes the roster checks), writes it atomically (temp + fsync + rename;
            the gallery re-sealed with this gateway's own key) and swaps it in live. If it fails, the previous
            one stays in use and the failure is alarmed.
The installed versions are kept in `distribution.json` next to the gateway database and reported in health.

All of it runs on one thread ("distribution"): verifying and decoding a megabyte never blocks the MQTT thread.
Its queue is bounded by bytes (MAX_QUEUED_BYTES, not 1000 × 256 KiB on a Pi) and drops what does not fit. Chunks
of versions already installed are dropped on arrival (a reconnect re-delivers the retained chunks: a few hundred
KiB to a few MB on the site network, once per reconnect).

Liveness: a dropped message is not lost for good. When a wanted version (or chunks waiting for their manifest)
makes no progress for `incomplete_after_s`, the client asks the transport to subscribe to the distribution filter
again, and the broker re-sends every retained manifest and chunk; retries back off (×2 up to ×32) while nothing
comes of them, and the incomplete alarm stays up meanwhile.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

from edge.contract.manifest import (
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
"""A verified manifest whose chunks have not all arrived by then raises an alarm, and a kind that made no progress
for that long makes the client re-subscribe (the broker re-sends the retained chunks)."""
MAX_QUEUED_BYTES = 8 * 1024 * 1024
"""Payload bytes waiting for the distribution thread: ~40 chunks of 192 KiB. More is dropped (and fetched again by
the re-subscribe), so a burst of retained messages cannot take a Pi's memory."""
MAX_QUEUED = 1000
RETRY_BACKOFF_MAX = 32
Item = tuple[str, bytes] | None


class ByteBoundedQueue:
    """A FIFO bounded by item count and payload bytes; put never blocks (it says whether the item fitted), and
    the stop marker (None) always fits."""

    def __init__(self, max_items: int = MAX_QUEUED, max_bytes: int = MAX_QUEUED_BYTES) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: deque[Item] = deque()
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> bool:
        size = len(item[1]) if item is not None else 0
        with self._cond:
            if item is not None and (len(self._items) >= self.max_items or self.bytes + size > self.max_bytes):
                return False
            self._items.append(item)
            self.bytes += size
            self._cond.notify()
            return True

    def get(self, timeout: float) -> Item:
        """The next item; queue.Empty after `timeout` seconds without one."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._items), timeout):
                raise queue.Empty
            item = self._items.popleft()
            self.bytes -= len(item[1]) if item is not None else 0
            return item


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
        resubscribe: Callable[[str], None] | None = None,
        incomplete_after_s: float = INCOMPLETE_AFTER_S,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
    ) -> None:
        """`resubscribe(topic_filter)`: subscribe again on the live connection (Transport.resubscribe), called on
        the distribution thread when a fetch stalls; None: only the alarm."""
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
        self.counters = {"installed": 0, "refused": 0, "ignored": 0, "dropped": 0, "resubscribed": 0}
        self.resubscribe = resubscribe
        self.incomplete_after_s = incomplete_after_s
        self._wanted: dict[Kind, tuple[Manifest, float]] = {}
        self._chunks: dict[Kind, dict[int, dict[int, bytes]]] = {}
        """Per kind: version -> chunk index -> bytes; the wanted version and the newest one above it at most."""
        self._progress_at: dict[Kind, float] = {}
        """Per kind with something pending: when it last moved (a manifest taken, a chunk kept, a re-subscribe)."""
        self._retries = 0
        self._queue = ByteBoundedQueue(MAX_QUEUED, max_queued_bytes)
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
        """Never blocks: a full queue drops the message (the re-subscribe of a stalled fetch brings it again)."""
        if not self._queue.put((topic, payload)):
            self.counters["dropped"] += 1
            log.warning("distribution queue full (%d bytes waiting): dropped %s", self._queue.bytes, topic)

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._queue.put(None)
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
        for kind, (m, since) in sorted(self._wanted.copy().items()):
            if now - since > self.incomplete_after_s:
                have = len(self._chunks.get(kind, {}).get(m.version, {}))
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
        while not self._stopping.is_set():
            try:
                item = self._queue.get(max(0.02, min(1.0, self.incomplete_after_s / 4)))  # the stall check's tick
            except queue.Empty:
                item = ("", b"")
            if item is None or self._stopping.is_set():
                return
            try:
                if item[0]:
                    self._handle(*item)
                self._check_stalled()
            except Exception:  # a bug must not end distribution for good
                log.exception("distribution: handling %s failed", item[0] or "the stall check")

    def _moved(self, kind: Kind) -> None:
        self._progress_at[kind] = time.monotonic()

    def _settle(self, kind: Kind) -> None:
        """After anything dropped chunks or the wanted manifest: forget empty versions, and the kind's progress
        clock once nothing is pending for it."""
        held = self._chunks.get(kind)
        if held is not None:
            for v in [v for v, parts in held.items() if not parts]:
                del held[v]
            if not held:
                del self._chunks[kind]
        if kind not in self._wanted and kind not in self._chunks:
            self._progress_at.pop(kind, None)
            if not self._progress_at:
                self._retries = 0

    def _check_stalled(self) -> None:
        """Re-subscribe when a pending kind made no progress for incomplete_after_s (× the back-off)."""
        if self.resubscribe is None or not self._progress_at:
            return
        now = time.monotonic()
        wait = self.incomplete_after_s * min(2**self._retries, RETRY_BACKOFF_MAX)
        if min(now - t for t in self._progress_at.values()) < wait:
            return
        self._retries += 1
        self.counters["resubscribed"] += 1
        pending = ", ".join(
            f"{k} v{self._wanted[k][0].version}" if k in self._wanted else f"{k} chunks" for k in self._progress_at
        )
        log.warning("distribution: %s stalled for %.1fs: subscribing again for the retained copies", pending, wait)
        for k in self._progress_at:
            self._progress_at[k] = now
        self.resubscribe(self.topic_filter)

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
        held = self._chunks.get(kind, {})
        for v in [v for v in held if v < m.version]:  # superseded
            del held[v]
        early = held.get(m.version, {})
        misfits = [i for i, part in early.items() if i >= m.chunks or len(part) > m.chunk_size]
        for i in misfits:  # came before the manifest: not what it signed (they would be refused on arrival now)
            del early[i]
        if misfits:
            log.warning(
                "distribution: %s v%d: dropped %d early chunk(s) that do not fit", kind, m.version, len(misfits)
            )
        self._settle(kind)
        self._moved(kind)

    def _on_chunk(self, kind: Kind, version: int, index: int, part: bytes) -> None:
        if version <= self._current(kind):
            return
        wanted = self._wanted.get(kind)
        if wanted is not None:
            m = wanted[0]
            if version < m.version:  # superseded by the wanted one
                return
            if version == m.version and (index >= m.chunks or len(part) > m.chunk_size):
                self._refuse(kind, f"{kind} v{version}: chunk {index} does not fit the manifest")
                self._drop(kind, m.version)
                return
        held = self._chunks.get(kind, {})
        if version < max(held, default=0) and (wanted is None or version != wanted[0].version):
            return  # neither the wanted version nor the newest: a stale retained copy
        self._chunks[kind] = held
        held.setdefault(version, {})[index] = part
        for v in [v for v in held if v < version and (wanted is None or v != wanted[0].version)]:
            del held[v]  # keep the wanted version and the newest one above it, nothing between
        if (wanted is None or version != wanted[0].version) and sum(map(len, held[version].values())) > MAX_SIZE[kind]:
            log.warning(
                "distribution: %s v%d chunks over %d bytes without a manifest; dropped", kind, version, MAX_SIZE[kind]
            )
            del held[version]
            self._settle(kind)
            return
        self._moved(kind)

    def _drop(self, kind: Kind, up_to: int) -> None:
        """Forget the wanted manifest and the chunks of versions up to `up_to` (a newer version's stay)."""
        self._wanted.pop(kind, None)
        held = self._chunks.get(kind, {})
        for v in [v for v in held if v <= up_to]:
            del held[v]
        self._settle(kind)

    def _try_install(self, kind: Kind) -> None:
        wanted = self._wanted.get(kind)
        held = self._chunks.get(kind)
        if wanted is None or held is None:
            return
        m = wanted[0]
        parts = held.get(m.version, {})
        if any(i not in parts for i in range(m.chunks)):
            return
        data = b"".join(parts[i] for i in range(m.chunks))
        self._drop(kind, m.version)
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
        from edge.contract.codec import gallery_from_bytes
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
        from edge.contract.codec import roster_from_bytes

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
        resubscribe=lambda topic: gw.transport.resubscribe(topic) if gw.transport is not None else None,
    )


def _poke_health(gw: Gateway) -> None:
    """A refusal goes out in a health report now, not at the next interval (the alarm is in `alarms`)."""
    health = getattr(gw, "health", None)  # made after the distribution client: a refusal may come first
    if health is not None:
        health.poke()
