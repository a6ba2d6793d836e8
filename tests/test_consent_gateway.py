"""Consent withdrawal at a running gateway (#24 item 4): a student enrolled with consent is recognised at a
card-or-face gate; the office withdraws the consent; the centre deletes the templates and announces the gallery
without them; the gateway installs that version (its health reports it: the confirmation), stops recognising
the face — the same face, back in front of the camera, is an unknown face — and the student's card still opens.
Prints the consent -> gateway timeline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.camera.base import Frame
from edge.central.distribution.centre import CentreStore
from edge.central.distribution.publisher import Publisher
from edge.central.parents import consent
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.central.web.enrolment import EnrolmentLink, PublishTarget
from edge.config import load_config
from edge.config.model import CameraConfig
from edge.contract.checkin import CheckIn
from edge.contract.manifest import KINDS
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.helpers import FACES, face_frame, gallery_key, gateway_config, wait_until

SITE = "test-school"
OBAMA_CARD = "0F00D4E5F6"
ROSTER = f"person_id,name,class,card_uid\nobama,Barack Obama,12A,{OBAMA_CARD}\nbiden,Joe Biden,12A,\n"
BLANK = np.full((360, 640, 3), 40, np.uint8)


class SwitchableFace:
    """A live camera (~15 fps) whose picture the test changes: a face, or nobody (the face walked away)."""

    is_live = True

    def __init__(self, name: str, stop: threading.Event) -> None:
        self.name = name
        self.stop = stop
        self.image = face_frame(FACES / "obama_2.jpg")
        self.i = 0

    def open(self) -> None:
        pass

    def read(self) -> Frame | None:
        if self.stop.wait(1 / 15):
            return None
        self.i += 1
        return Frame(self.i, self.image, time.monotonic())

    def close(self) -> None:
        pass


@pytest.fixture
def sim() -> Iterator[Rdm6300Simulator]:
    with Rdm6300Simulator() as s:
        yield s


@pytest.fixture
def clean_site(broker: MosquittoBroker) -> Iterator[None]:
    """No retained distribution of this site before or after (the session broker keeps other tests' manifests)."""
    with Publisher("127.0.0.1", broker.port, broker.identity("test-centre", "server"), "test-consent-gw-clear") as p:
        for kind in KINDS:
            p.clear(SITE, kind)
        yield
        for kind in KINDS:
            p.clear(SITE, kind)


def test_withdrawn_consent_the_gateway_forgets_the_face_and_the_card_still_opens(
    broker: MosquittoBroker, sim: Rdm6300Simulator, clean_site: None, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    open_store(url).close()
    db = WebDb(url)
    tls = broker.identity("test-centre", "server")
    assert tls is not None
    link = EnrolmentLink(
        CentreStore(tmp_path / "centre", bytes(range(32))),
        publish=PublishTarget("127.0.0.1", broker.port, tls, "test-centre", "edge/v1", timeout_s=10),
    )
    for pid in ("obama", "biden"):
        consent.give(db, SITE, pid, given_by="parent", method="paper", recorded_by="office")
    link.enrol(SITE, "biden", (FACES / "biden_1.jpg").read_bytes())
    enrolled = link.enrol(SITE, "obama", (FACES / "obama_1.jpg").read_bytes())
    assert enrolled.version is not None, enrolled.publish_error

    gw_dir = tmp_path / "gw"
    gw_dir.mkdir()
    gallery_key(gw_dir)
    gate = {
        "id": "main-in",
        "direction": "in",
        "mode": "card_or_face",
        "cameras": [{"id": "cam-1", "source": "live"}],
        "readers": [{"id": "r1", "port": sim.url}],
    }
    policy = {"debounce_s": 0, "unknown_debounce_s": 0}
    cfg = load_config(
        gateway_config(gw_dir, broker, "gw-consent", gate, ROSTER, clock_check="assume_synced", policy=policy)
    )
    seen: list[tuple[float, CheckIn]] = []
    cameras: list[SwitchableFace] = []

    def source(cam: CameraConfig, stop: threading.Event) -> SwitchableFace:
        cameras.append(SwitchableFace(cam.id, stop))
        return cameras[-1]

    def after(t0: float, method: str, person: str | None, decision: str) -> bool:
        return any(t >= t0 and e.method == method and e.person_id == person and e.decision == decision for t, e in seen)

    gw = Gateway(cfg, source_factory=source, on_checkin=lambda e: seen.append((time.monotonic(), e)))
    gw.start()
    try:
        assert gw.distribution is not None
        wait_until(lambda: after(0, "face", "obama", "granted"), 60, "obama recognised at the gate")

        t0 = time.monotonic()
        out = consent.withdraw(db, link, SITE, "obama", given_by="parent", method="app", recorded_by="guardian:g1")
        t_published = time.monotonic()
        assert out.removed is not None and out.removed.version is not None, out.removed
        version = out.removed.version
        assert gw.distribution.wait_installed("gallery", version, 60), "the gateway installs the new gallery"
        t_installed = time.monotonic()
        assert gw.snapshot()["distribution"]["gallery"]["version"] == version  # what the centre sees reported
        assert gw.gallery is not None and gw.gallery.people == ["biden"]

        # the face walks away (its track ends) and comes back: a new look, against the new gallery
        cam = cameras[0]
        cam.image = BLANK
        frames = cam.i
        wait_until(lambda: cam.i > frames + 30, 30, "the camera sees nobody for 2 s")
        t_back = time.monotonic()
        cam.image = face_frame(FACES / "obama_2.jpg")
        wait_until(lambda: after(t_back, "face", None, "unknown"), 60, "the same face is now an unknown face")
        t_unknown = time.monotonic()
        assert not after(t_installed, "face", "obama", "granted"), [e for _, e in seen]

        wait_until(sim.client_connected.is_set, 10, "the reader connected")
        t_tap = time.monotonic()
        wait_until(
            lambda: sim.tap(OBAMA_CARD, repeats=1) and after(t_tap, "card", "obama", "granted"), 15, "the card opens"
        )
        print(
            f"\nconsent withdrawn -> templates deleted and gallery v{version} announced {t_published - t0:.2f} s"
            f" -> installed at the gateway {t_installed - t0:.2f} s -> same face unknown"
            f" {t_unknown - t_back:.1f} s after it came back; the card still grants"
        )
    finally:
        gw.stop()
        db.close()
