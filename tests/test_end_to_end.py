"""End to end on real parts: a video file and card taps -> gateway -> real Mosquitto -> collector database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edge.config import load_config
from edge.devtools.mosquitto import MosquittoBroker
from edge.gateway.service import Gateway
from edge.recognition.decision import DecisionRule
from edge.recognition.enroll import EnrolSettings, enroll, photos_from_folder
from edge.recognition.scores import similarity
from firmware_bridge.simulators.rdm6300_server import Rdm6300Simulator
from tests.gateway_support import gateway_cfg
from tests.helpers import FACES, Watcher, gallery_key, start_collector, wait_until, write_video


@pytest.mark.slow
def test_video_and_cards_reach_the_collector_exactly(broker: MosquittoBroker, watcher: Watcher, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for pid, src in (("obama", "obama_1.jpg"), ("biden", "biden_1.jpg")):
        (photos / pid).mkdir(parents=True)
        shutil.copy(FACES / src, photos / pid / "1.jpg")
    key = gallery_key(tmp_path)
    report = enroll(tmp_path / "gallery.npz", photos_from_folder(photos), EnrolSettings(jitters=1), key=key)
    assert [r.status for r in report.results] == ["enrolled"] * 2
    # Other photos of the enrolled people, and a stranger, walk past the camera.
    video = tmp_path / "gate.mp4"
    write_video(
        video,
        [
            (None, 2),
            (FACES / "obama_2.jpg", 8),
            (None, 12),
            (FACES / "biden_2.jpg", 8),
            (None, 12),
            (FACES / "rose_leslie_1.jpg", 8),
            (None, 2),
        ],
    )

    collector = start_collector(tmp_path / "collector.sqlite", broker, "col-e2e")
    sim = Rdm6300Simulator().start()
    gw = Gateway(load_config(gateway_cfg(tmp_path, broker, sim.url, video)))
    try:
        gw.start()
        watcher.wait_for(lambda t, p: t == "edge/v1/test-school/gw-e2e/status" and p == b"online", 10, "gateway online")
        wait_until(lambda: gw.readers[0][1].connections == 1 and sim.client_connected.is_set(), 10, "reader open")
        wait_until(gw.cameras_finished, 60, "video processed")
        sim.tap("62E3086CED")  # rose by card: granted
        sim.tap("DEADBEEF00")  # not in the roster: denied
        sim.tap("0F00D4E5F6")  # biden again, by card, within the debounce window: nothing new
        wait_until(lambda: gw.recorder.recorded == 5 and gw.recorder.suppressed >= 1, 10, "taps decided")
        wait_until(lambda: collector.store.count() == 5, 15, "collector has all five")
        health = json.loads(
            watcher.wait_for(
                lambda t, p: (
                    t.endswith("/health")
                    and json.loads(p)["readers"]["reader-1"]["cards"] == 3
                    and json.loads(p)["outbox_depth"] == 0
                ),
                10,
                "health after the taps",
            )[1]
        )
    finally:
        gw.stop()
        sim.stop()
        collector.stop()
    rows = list(collector.store.checkins())
    got = sorted((r["method"], r["decision"], r["person_id"], r["card_uid"]) for r in rows)
    assert got == sorted(
        [
            ("face", "granted", "obama", None),
            ("face", "granted", "biden", None),
            ("face", "unknown", None, None),
            ("card", "granted", "rose", "62E3086CED"),
            ("card", "denied", None, "DEADBEEF00"),
        ]
    )
    assert sorted(r["seq"] for r in rows) == [1, 2, 3, 4, 5]
    # the default model (sface) sends its cosine similarity (check-in v2), kept in the stored payload; no distance
    at_threshold = similarity(DecisionRule.for_model("sface").threshold)
    granted = [json.loads(r["payload"]) for r in rows if r["decision"] == "granted" and r["method"] == "face"]
    assert granted and all(e["schema_version"] == 2 and e["similarity"] > at_threshold for e in granted)
    assert all(r["distance"] is None for r in rows)
    assert {r["gateway_id"] for r in rows} == {"gw-e2e"}
    assert health["cameras"]["cam-1"]["state"] == "ended"
    assert health["cameras"]["cam-1"]["processed"] == 52 and health["outbox_depth"] == 0
    assert health["readers"]["reader-1"]["cards"] == 3
    assert health["uptime_s"] > 0 and "fps" in health and "last_error" in health
    watcher.wait_for(
        lambda t, p: t == "edge/v1/test-school/gw-e2e/status" and p == b"stopped",
        10,
        "stopped status on clean exit",
    )
    collector.store.close()
