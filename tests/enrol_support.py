"""Shared by the face-enrolment tests (test_web_enrol, test_consent): the gallery a centre announces, checked as a
gateway checks it."""

from __future__ import annotations

import datetime as dt

from edge.contract.codec import gallery_from_bytes
from edge.contract.manifest import Manifest, parse_manifest, topics, verify_manifest
from edge.devtools.mosquitto import MosquittoBroker
from edge.recognition.gallery import Gallery
from edge.security.pki import load_cert
from tests.helpers import Watcher
from tests.web_support import SITE

PREFIX = "edge/v1"


def _chunk(version: int, index: int) -> str:
    return topics(PREFIX, SITE, "gallery")[1].format(version=version, index=index)


def announced(w: Watcher, version: int, broker: MosquittoBroker) -> Gallery:
    """Wait for the manifest of `version`, check its signature as a gateway does, gather its chunks."""
    manifest_topic, _ = topics(PREFIX, SITE, "gallery")
    chunks: dict[str, bytes] = {}
    found: list[Manifest] = []

    def seen(topic: str, payload: bytes) -> bool:
        if topic == manifest_topic and payload:
            m = parse_manifest(payload)
            if m.version == version:
                found.append(m)
        elif payload:
            chunks[topic] = payload
        return bool(found) and all(_chunk(version, i) in chunks for i in range(found[0].chunks))

    w.wait_for(seen, 10, f"gallery v{version} announced")
    m = found[0]
    assert broker.pki is not None
    signer = verify_manifest(m, site=SITE, ca_cert=load_cert(broker.pki.ca_cert_path), now=dt.datetime.now(dt.UTC))
    assert signer == "test-web-enrol"
    data = b"".join(chunks[_chunk(version, i)] for i in range(m.chunks))
    assert len(data) == m.size
    return gallery_from_bytes(data)
