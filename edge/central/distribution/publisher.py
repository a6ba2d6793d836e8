"""Announcing an artifact: its chunks, then its signed manifest, retained on the site's distribution topics.

Why MQTT chunks and not HTTPS from the server: every gateway already holds an authenticated TLS session with the
site broker, whose ACL lets the site's gateways read `{prefix}/{site}/distribution/#` and only the site's server
identities write it (broker_config.py). HTTPS would need a second listener, server certificate, client-certificate
checks and a per-gateway authorisation rule, all of which the broker already does; and a retained manifest plus
retained chunks is what lets a gateway that was offline during the publish catch up on its next connect with no
centre process having to be up at that moment. The broker's max_packet_size (256 KiB) is why the bytes go in 192
KiB chunks: a 2,000-student SFace gallery (~1 MB) is six messages.

Order matters: chunks first (each acknowledged by the broker), the manifest last, the previous version's chunks
cleared (empty retained payloads) only after the new manifest is out. A gateway therefore never sees a manifest
whose chunks are not already retained.

The next version goes above the retained one only when that manifest passes the checks a gateway makes (site CA,
validity, CRL, role server, this site): anyone who could write the topic could otherwise pick the centre's next
version (centre.py also refuses a version more than a day ahead of the clock, signed or not).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric import ed25519
from paho.mqtt.reasoncodes import ReasonCode

from edge.central.distribution.centre import Artifact, CentreStore
from edge.contract.manifest import (
    Kind,
    Manifest,
    ManifestRefused,
    parse_manifest,
    sign_manifest,
    topics,
    verify_manifest,
)
from edge.contract.topics import DEFAULT_PREFIX
from edge.security.pki import PkiError, TlsFiles, describe, load_cert, load_crl_serials, load_private_key
from edge.transport.mqtt import MqttSettings, make_client, reason_text

log = logging.getLogger(__name__)


class PublishError(Exception):
    """The broker could not be reached or refused a message (nothing half-announced: no manifest went out)."""


@dataclass(frozen=True)
class Signing:
    key: ed25519.Ed25519PrivateKey
    cert_pem: str

    @classmethod
    def from_tls(cls, tls: TlsFiles) -> Signing:
        """The server identity's own key signs (the one it connects with): it must be a `server` certificate."""
        name, role, _site = describe(load_cert(tls.cert))
        if role != "server":
            raise PublishError(f"{name} is a {role} identity: only a server identity may sign distributions")
        return cls(load_private_key(tls.key), tls.cert.read_text())


class Publisher:
    def __init__(
        self,
        host: str,
        port: int,
        tls: TlsFiles | None,
        client_id: str = "edge-distribution",
        prefix: str = DEFAULT_PREFIX,
        timeout_s: float = 30.0,
        crl: Path | None = None,
        *,
        over: mqtt.Client | None = None,
    ) -> None:
        """`crl`: the site CRL the retained manifest's signer is checked against; by default the `crl.pem` next to
        the CA file (where a site PKI and `edge broker config` keep it), when there is one.

        `over`: a connection this process already holds with the same identity (the web app's), to publish
        through instead of opening a second one — the broker binds a client id to its certificate, so a second
        connection would replace the first (edge/security/broker_config.py)."""
        self.prefix = prefix
        self.tls = tls
        self.crl = crl if crl is not None or tls is None else tls.ca.parent / "crl.pem"
        self.timeout_s = timeout_s
        self.host, self.port = host, port
        self._over = over
        self._client = over or make_client(MqttSettings(host, port, client_id, tls=tls))
        self._up = threading.Event()
        self._answered = threading.Event()
        self._refused = ""
        self._subacked: set[int] = set()
        self._subscribed = threading.Condition()
        self._retained: dict[str, bytes] = {}
        self._arrived = threading.Event()
        if over is None:
            self._client.on_connect = self._on_connect
            self._client.on_subscribe = self._on_subscribe
            self._client.on_message = self._on_message
        self._owner_on_subscribe: Any = None

    def __enter__(self) -> Publisher:
        if self._over is not None:
            if not self._over.is_connected():
                raise PublishError(f"broker {self.host}:{self.port} not reached: the connection is down")
            self._owner_on_subscribe = self._over.on_subscribe
            self._over.on_subscribe = self._on_shared_subscribe
            self._over.message_callback_add(f"{self.prefix}/+/distribution/+/manifest", self._on_message)
            return self
        self._client.connect_async(self.host, self.port)
        self._client.loop_start()
        self._answered.wait(self.timeout_s)
        if not self._up.is_set():
            self.close()
            raise PublishError(f"broker {self.host}:{self.port} not reached: {self._refused or 'timed out'}")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._over is not None:
            self._over.message_callback_remove(f"{self.prefix}/+/distribution/+/manifest")
            self._over.on_subscribe = self._owner_on_subscribe
            return
        self._client.disconnect()
        self._client.loop_stop()

    def _on_shared_subscribe(self, *args: Any) -> None:
        self._on_subscribe(*args)
        if self._owner_on_subscribe is not None:
            self._owner_on_subscribe(*args)

    def _on_connect(self, _c: mqtt.Client, _ud: object, _f: object, rc: ReasonCode, _p: object) -> None:
        if rc.is_failure:
            self._refused = f"refused: {reason_text(rc)}"
        else:
            self._up.set()
        self._answered.set()

    def _on_subscribe(self, _c: mqtt.Client, _ud: object, mid: int, _rcs: object, _p: object) -> None:
        with self._subscribed:  # may come before subscribe() returned its mid to us
            self._subacked.add(mid)
            self._subscribed.notify_all()

    def _on_message(self, _c: mqtt.Client, _ud: object, msg: mqtt.MQTTMessage) -> None:
        self._retained[msg.topic] = bytes(msg.payload)
        self._arrived.set()

    # reading -------------------------------------------------------------------------------------------
    def retained_manifest(self, site: str, kind: Kind, wait_s: float = 0.5) -> Manifest | None:
        """The manifest the broker retains now (unverified: for versions and status), or None."""
        topic, _ = topics(self.prefix, site, kind)
        self._arrived.clear()
        self._retained.pop(topic, None)  # what an earlier call saw, not what the broker retains now
        rc, mid = self._client.subscribe(topic, qos=1)
        if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
            raise PublishError(f"subscribe {topic}: {mqtt.error_string(rc)}")
        with self._subscribed:
            acked = self._subscribed.wait_for(lambda: mid in self._subacked, self.timeout_s)
        if not acked:
            raise PublishError(f"subscribe {topic}: no answer from the broker")
        if topic not in self._retained:
            self._arrived.wait(wait_s)  # retained messages follow the SUBACK
        self._client.unsubscribe(topic)
        payload = self._retained.get(topic)
        if not payload:
            return None
        try:
            return parse_manifest(payload)
        except ManifestRefused as exc:
            log.warning("the retained %s manifest of %s is not valid (%s): publishing over it", kind, site, exc)
            return None

    def trusted_manifest(self, site: str, kind: Kind) -> Manifest | None:
        """The retained manifest when it passes a gateway's checks (CA, validity, CRL, role server, this site),
        else None: an invalid one is logged and neither its version nor its chunks are acted on."""
        m = self.retained_manifest(site, kind)
        if m is None:
            return None
        try:
            if self.tls is None:
                raise ManifestRefused("no site CA to check it with (plaintext broker)")
            ca = load_cert(self.tls.ca)
            revoked = frozenset(load_crl_serials(self.crl, ca)) if self.crl and self.crl.is_file() else frozenset()
            if m.kind != kind:
                raise ManifestRefused(f"a {m.kind} manifest on the {kind} topic")
            verify_manifest(m, site=site, ca_cert=ca, now=dt.datetime.now(dt.UTC), revoked_serials=revoked)
        except (ManifestRefused, PkiError, OSError) as exc:
            log.warning(
                "the retained %s manifest v%d of %s is not trusted (%s): publishing over it", kind, m.version, site, exc
            )
            return None
        return m

    # writing -------------------------------------------------------------------------------------------
    def _send(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=True)
        try:
            info.wait_for_publish(self.timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise PublishError(f"publish {topic}: {exc}") from None
        if not info.is_published():
            raise PublishError(f"publish {topic}: not acknowledged within {self.timeout_s:g}s")

    def announce(self, manifest: Manifest, data: bytes, previous: Manifest | None) -> None:
        """Chunks, then the manifest, then clear the previous version's chunks."""
        manifest_topic, chunk_topic = topics(self.prefix, manifest.site, manifest.kind)
        for i in range(manifest.chunks):
            part = data[i * manifest.chunk_size : (i + 1) * manifest.chunk_size]
            self._send(chunk_topic.format(version=manifest.version, index=i), part)
        self._send(manifest_topic, manifest.to_json())
        if previous is not None and previous.version != manifest.version:
            for i in range(min(previous.chunks, 10_000)):
                self._send(chunk_topic.format(version=previous.version, index=i), b"")

    def clear(self, site: str, kind: Kind) -> None:
        """Withdraw `kind` for `site`: the retained manifest and its chunks (gateways keep what they installed)."""
        previous = self.retained_manifest(site, kind)
        manifest_topic, chunk_topic = topics(self.prefix, site, kind)
        self._send(manifest_topic, b"")
        if previous is not None:
            for i in range(min(previous.chunks, 10_000)):
                self._send(chunk_topic.format(version=previous.version, index=i), b"")

    def publish(self, store: CentreStore, artifact: Artifact, signing: Signing) -> Manifest:
        """Sign and announce `artifact` with a version above the centre's last and the broker's (when trusted)."""
        previous = self.trusted_manifest(artifact.site, artifact.kind)
        version = store.next_version(artifact.site, artifact.kind, above=previous.version if previous else 0)
        manifest = sign_manifest(store.manifest_for(artifact, version), signing.key, signing.cert_pem)
        self.announce(manifest, artifact.data, previous)
        log.info(
            "published %s v%d of %s: %d bytes in %d chunk(s)",
            manifest.kind,
            manifest.version,
            manifest.site,
            manifest.size,
            manifest.chunks,
        )
        return manifest
