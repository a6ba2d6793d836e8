"""Galleries and rosters from the centre (#11): enrol at the centre, sign, announce on the closed broker, and a
running gateway recognises the student; an offline gateway catches up; forged, tampered, foreign and replayed
artifacts are refused with an alarm while the installed one stays in use."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.camera.base import Frame
from edge.central.distribution.centre import CentreStore
from edge.central.distribution.publisher import Publisher, Signing
from edge.config import load_config
from edge.config.model import CameraConfig
from edge.contract.checkin import CheckIn
from edge.contract.manifest import (
    KINDS,
    Manifest,
    ManifestRefused,
    parse_manifest,
    parse_topic,
    sign_manifest,
)
from edge.devtools.mosquitto import MosquittoBroker, free_port
from edge.gateway.service import Gateway
from edge.recognition.backend import model_id_of
from edge.recognition.enroll import EnrolSettings
from edge.recognition.gallery import Gallery, Template
from edge.security.pki import Pki, load_private_key
from edge.security.sealed import read_key_file
from tests.helpers import FACES, Watcher, face_frame, fuzz_examples, gallery_key, gateway_config, wait_until

SITE = "test-school"
ROSTER_V1 = "person_id,name,class,card_uid\nrose,Rose Leslie,11C,62E3086CED\n"
ROSTER_V2 = ROSTER_V1 + "obama,Barack Obama,12A,\n"


class LiveFace:
    """A live camera (frames paced at ~15 fps, never ends) with a face in front of it."""

    is_live = True

    def __init__(self, name: str, image: np.ndarray, stop: threading.Event) -> None:
        self.name = name
        self.image = image
        self.stop = stop
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
def centre(tmp_path: Path) -> CentreStore:
    return CentreStore(tmp_path / "centre", bytes(range(32)))


@pytest.fixture
def signing(broker: MosquittoBroker) -> Signing:
    tls = broker.identity("test-centre", "server")
    assert tls is not None
    return Signing.from_tls(tls)


@pytest.fixture
def publisher(broker: MosquittoBroker) -> Iterator[Publisher]:
    with Publisher("127.0.0.1", broker.port, broker.identity("test-centre", "server"), "test-centre-pub") as p:
        for kind in KINDS:  # the session broker retains earlier tests' manifests: each test starts from none
            p.clear(SITE, kind)
        yield p
        for kind in KINDS:  # ...and leaves none: a later test's gateway on this site would install them
            p.clear(SITE, kind)


def card_gate() -> dict[str, object]:
    # a reader on a port nobody listens on: it keeps reconnecting, the gateway runs on regardless
    return {
        "id": "main-in",
        "direction": "in",
        "mode": "card",
        "readers": [{"id": "r1", "port": f"socket://127.0.0.1:{free_port()}"}],
    }


def card_gateway(tmp: Path, mqtt_broker: MosquittoBroker, name: str, **extra: Any) -> Gateway:
    gallery_key(tmp)
    cfg = load_config(
        gateway_config(tmp, mqtt_broker, name, card_gate(), ROSTER_V1, clock_check="assume_synced", **extra)
    )
    gw = Gateway(cfg, drain_timeout_s=0.5)
    gw.start()
    assert gw.distribution is not None
    return gw


def roster_ids(gw: Gateway) -> set[str]:
    return {pid for pid in ("rose", "obama") if gw.roster.get(pid) is not None}


def test_a_student_enrolled_at_the_centre_is_recognised_by_a_running_gateway(
    broker: MosquittoBroker, centre: CentreStore, signing: Signing, publisher: Publisher, tmp_path: Path
) -> None:
    gw_dir = tmp_path / "gw"
    gw_dir.mkdir()
    gallery_key(gw_dir)  # provisioned: its own key, no gallery yet (nobody enrolled)
    gate = {"id": "main-in", "direction": "in", "mode": "face", "cameras": [{"id": "cam-1", "source": "live"}]}
    cfg = load_config(gateway_config(gw_dir, broker, "gw-dist-1", gate, ROSTER_V1, clock_check="assume_synced"))
    seen: list[tuple[float, CheckIn]] = []
    first_face = threading.Event()

    def on_checkin(event: CheckIn) -> None:
        seen.append((time.monotonic(), event))
        if event.method == "face" and event.person_id == "obama" and event.decision == "granted":
            first_face.set()

    def source(cam: CameraConfig, stop: threading.Event) -> LiveFace:
        return LiveFace(cam.id, face_frame(FACES / "obama_2.jpg"), stop)

    gw = Gateway(cfg, source_factory=source, on_checkin=on_checkin, drain_timeout_s=0.5)
    gw.start()
    try:
        assert gw.gallery is None and not gw.cameras, "no gallery yet: the cameras wait for one"
        wait_until(lambda: gw.transport is not None and gw.transport.connected, 10, "the gateway connects")

        t0 = time.monotonic()  # the school enrols a student at the centre: photo -> template -> roster
        report = centre.enroll(SITE, {"obama": [FACES / "obama_1.jpg"]}, EnrolSettings(jitters=1))
        assert report.accepted == 1
        roster_csv = tmp_path / "roster.csv"
        roster_csv.write_text(ROSTER_V2)
        assert centre.set_roster(SITE, roster_csv) == 2
        t_enrolled = time.monotonic()
        g_manifest = publisher.publish(centre, centre.artifact(SITE, "gallery"), signing)
        t_gallery_out = time.monotonic()
        r_manifest = publisher.publish(centre, centre.artifact(SITE, "roster"), signing)

        assert first_face.wait(30), f"obama not recognised within 30 s; check-ins: {[e for _, e in seen]}"
        t_recognised = next(t for t, e in seen if e.method == "face" and e.person_id == "obama")
        print(
            f"\nenrolment -> first recognition at the gate: {t_recognised - t0:.1f} s"
            f" (enrol {t_enrolled - t0:.1f} s, sign+publish the gallery {t_gallery_out - t_enrolled:.2f} s,"
            f" then fetch+install+cameras+decision {t_recognised - t_gallery_out:.1f} s;"
            f" gallery {g_manifest.size} bytes in {g_manifest.chunks} chunk(s))"
        )

        assert gw.distribution is not None and gw.distribution.wait_installed("roster", r_manifest.version, 10)
        health = gw.snapshot()["distribution"]
        assert health["gallery"]["version"] == g_manifest.version
        assert health["roster"]["version"] == r_manifest.version
        assert roster_ids(gw) == {"rose", "obama"}
        # at rest: sealed with the gateway's own key (not the centre's), at the configured path
        on_disk = Gallery.load(cfg.gallery.path, read_key_file(cfg.gallery.key_file))
        assert on_disk.people == ["obama"]
        with pytest.raises(Exception, match="cannot be opened"):
            Gallery.load(cfg.gallery.path, centre.key)
    finally:
        gw.stop()


class CuttableLink:
    """A TCP relay between the gateway and the broker that the test can cut (connections dropped, new ones
    refused) and restore: the gateway process runs on, offline, as behind a failed switch."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="test-link", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            if not self.up.is_set():
                conn.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self.sockets += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()

    def close(self) -> None:
        self.cut()
        self.server.close()


def test_an_offline_gateway_catches_up_on_reconnect_and_keeps_the_centres_roster_across_restarts(
    broker: MosquittoBroker, centre: CentreStore, signing: Signing, publisher: Publisher, tmp_path: Path
) -> None:
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(ROSTER_V1)
    centre.set_roster(SITE, roster_csv)
    link = CuttableLink(broker.port)
    gw = card_gateway(tmp_path, broker, "gw-dist-2", broker={"port": link.port})
    assert gw.transport is not None and gw.distribution is not None
    try:
        first = publisher.publish(centre, centre.artifact(SITE, "roster"), signing)
        assert gw.distribution.wait_installed("roster", first.version, 15)

        link.cut()  # the gateway goes offline (it keeps running); the centre publishes meanwhile
        wait_until(lambda: not gw.transport.connected, 10, "the gateway offline")  # type: ignore[union-attr]
        roster_csv.write_text(ROSTER_V2)
        centre.set_roster(SITE, roster_csv)
        second = publisher.publish(centre, centre.artifact(SITE, "roster"), signing)
        assert second.version > first.version
        assert not gw.distribution.wait_installed("roster", second.version, 1)
        assert roster_ids(gw) == {"rose"}, "offline: the last installed one"

        link.up.set()  # back: paho reconnects, the broker hands over the retained manifest and chunks
        assert gw.distribution.wait_installed("roster", second.version, 30)
        assert roster_ids(gw) == {"rose", "obama"}
    finally:
        gw.stop()
        link.close()

    # a restart loads the centre's copy, not the config's roster.csv (ROSTER_V1), before any network
    gw = Gateway(load_config(tmp_path / "config.yaml"), drain_timeout_s=0.5)
    gw.start()
    try:
        assert roster_ids(gw) == {"rose", "obama"}
    finally:
        gw.stop()
    # and `edge doctor` names the version the gateway runs
    from edge.gateway.doctor import Limits, run_checks

    roster_check = next(
        c for c in run_checks(tmp_path / "config.yaml", devices=False, limits=Limits(timeout_s=5)) if c.name == "roster"
    )
    assert roster_check.status == "ok" and f"from the centre: v{second.version}" in roster_check.detail, roster_check


def _publish_raw(publisher: Publisher, manifest: Manifest, data: bytes) -> None:
    publisher.announce(manifest, data, previous=None)


def test_tampered_unsigned_foreign_and_replayed_artifacts_are_refused_and_the_installed_one_kept(
    broker: MosquittoBroker,
    centre: CentreStore,
    signing: Signing,
    publisher: Publisher,
    watcher: Watcher,
    tmp_path: Path,
) -> None:
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(ROSTER_V1)
    centre.set_roster(SITE, roster_csv)
    gw = card_gateway(tmp_path, broker, "gw-dist-3", health={"interval_s": 300})  # reports on connect, on alarms
    dist = gw.distribution
    assert dist is not None
    try:
        good = publisher.publish(centre, centre.artifact(SITE, "roster"), signing)
        assert dist.wait_installed("roster", good.version, 15)
        bad_data = ROSTER_V2.encode()
        base = centre.manifest_for(centre.artifact(SITE, "roster"), good.version + 1)
        base = dataclasses.replace(base, size=len(bad_data), sha256=__import__("hashlib").sha256(bad_data).hexdigest())
        refused = 0

        def expect_refusal(manifest: Manifest, data: bytes, reason: str) -> None:
            nonlocal refused
            _publish_raw(publisher, manifest, data)
            refused += 1
            wait_until(lambda: dist.counters["refused"] >= refused, 15, f"refusal: {reason}")
            alarms = [a for a in gw.snapshot()["alarms"] if a.startswith("distribution_refused")]  # in health
            assert alarms and reason in alarms[0], alarms
            assert dist.installed["roster"].version == good.version
            assert roster_ids(gw) == {"rose"}

        # 1. tampered: a validly signed manifest, other bytes in the chunks
        signed = sign_manifest(base, signing.key, signing.cert_pem)
        tampered = bad_data.replace(b"Barack", b"Mallet")
        expect_refusal(signed, tampered, "tampered")
        watcher.wait_for(
            lambda t, p: t.endswith("/gw-dist-3/health") and b"distribution_refused" in p,
            10,
            "the refusal in a health report at once (not at the 300 s interval)",
        )
        # 2. unsigned
        expect_refusal(dataclasses.replace(base, version=base.version + 1), bad_data, "unsigned manifest")
        # 3. signed by a gateway's key (its certificate is the site CA's, its role is not server)
        gw_tls = broker.identity("gw-dist-3", "gateway")
        assert gw_tls is not None
        by_gateway = sign_manifest(
            dataclasses.replace(base, version=base.version + 2), load_private_key(gw_tls.key), gw_tls.cert.read_text()
        )
        expect_refusal(by_gateway, bad_data, "role 'gateway'")
        # 4. signed by another site's server (another CA)
        other = Pki(tmp_path / "other-pki")
        other.init("other-school")
        o = other.tls_files(other.issue("centre", "server").name)
        foreign = sign_manifest(
            dataclasses.replace(base, version=base.version + 3), load_private_key(o.key), o.cert.read_text()
        )
        expect_refusal(foreign, bad_data, "not issued by the site CA")
        # 4b. signed by a server identity of this site that has since been revoked (the CRL the gateway reads)
        old = broker.identity("test-centre-old", "server")
        assert old is not None
        broker.revoke("test-centre-old")
        revoked = sign_manifest(
            dataclasses.replace(base, version=base.version + 4), load_private_key(old.key), old.cert.read_text()
        )
        expect_refusal(revoked, bad_data, "revoked")
        # 5. signed by this site's server, but altered after signing (a higher version written in)
        expect_refusal(dataclasses.replace(signed, version=signed.version + 10), bad_data, "bad signature")
        # 6. correctly signed, correct bytes, but content that does not load: the old roster stays
        broken = b"person_id,name\nx,y\n"
        unloadable = dataclasses.replace(
            base, version=base.version + 20, size=len(broken), sha256=__import__("hashlib").sha256(broken).hexdigest()
        )
        expect_refusal(sign_manifest(unloadable, signing.key, signing.cert_pem), broken, "does not load")

        # 7. replay of the installed (or an older) signed manifest: ignored, no alarm, no rollback
        ignored = dist.counters["ignored"]
        _publish_raw(publisher, good, ROSTER_V1.encode())
        wait_until(lambda: dist.counters["ignored"] > ignored, 15, "the replay is ignored")
        assert dist.counters["refused"] == refused

        # a good one after all that installs, and clears the alarm
        roster_csv.write_text(ROSTER_V2)
        centre.set_roster(SITE, roster_csv)
        newer = publisher.publish(centre, centre.artifact(SITE, "roster"), signing)
        assert newer.version > unloadable.version
        assert dist.wait_installed("roster", newer.version, 15)
        assert roster_ids(gw) == {"rose", "obama"}
        assert not [a for a in gw.alarms() if a.startswith("distribution")]
    finally:
        gw.stop()


def test_manifest_parsing_and_topics() -> None:
    with pytest.raises(ManifestRefused, match="not JSON"):
        parse_manifest(b"\xff")
    with pytest.raises(ManifestRefused, match="lacks"):
        parse_manifest(b"{}")
    m = Manifest("roster", SITE, 5, "0" * 64, 10, "", "t", 1, 1024)
    assert parse_manifest(m.to_json()) == m
    with pytest.raises(ManifestRefused, match="over the limit"):
        parse_manifest(dataclasses.replace(m, size=10**9, chunks=10**9 // 1024 + 1).to_json())
    with pytest.raises(ManifestRefused, match="chunking"):
        parse_manifest(dataclasses.replace(m, chunks=3).to_json())
    doc = json.loads(m.to_json())
    doc["version"] = True
    with pytest.raises(ManifestRefused, match="version"):
        parse_manifest(json.dumps(doc).encode())
    assert parse_topic(f"edge/v1/{SITE}/distribution/gallery/manifest", "edge/v1", SITE) == ("gallery", None, None)
    assert parse_topic(f"edge/v1/{SITE}/distribution/roster/17/2", "edge/v1", SITE) == ("roster", 17, 2)
    assert parse_topic(f"edge/v1/{SITE}/distribution/keys/manifest", "edge/v1", SITE) is None
    assert parse_topic("edge/v1/other/distribution/roster/manifest", "edge/v1", SITE) is None


def test_a_2000_student_gallery_travels_in_chunks(
    broker: MosquittoBroker, centre: CentreStore, signing: Signing, publisher: Publisher, tmp_path: Path
) -> None:
    rng = np.random.default_rng(7)
    templates = [
        Template(f"s{i:04d}", f"s{i:04d}/{j}.jpg", f"{i:060d}{j:04d}", rng.normal(size=128).astype(np.float32))
        for i in range(2000)
        for j in range(2)
    ]
    Gallery(model=model_id_of("sface"), _templates=templates).save(centre.gallery_path(SITE), centre.key)
    gw = card_gateway(tmp_path, broker, "gw-dist-4")
    try:
        t0 = time.monotonic()
        m = publisher.publish(centre, centre.artifact(SITE, "gallery"), signing)
        t1 = time.monotonic()
        assert gw.distribution is not None and gw.distribution.wait_installed("gallery", m.version, 30)
        t2 = time.monotonic()
        print(
            f"\n2,000 students x 2 SFace templates: {m.size / 1e6:.2f} MB in {m.chunks} chunks;"
            f" build+sign+publish {t1 - t0:.2f} s, fetch+verify+install {t2 - t1:.2f} s"
        )
        assert m.chunks > 1
        assert gw.gallery is not None and len(gw.gallery.people) == 2000
        cfg = gw.cfg
        assert len(Gallery.load(cfg.gallery.path, read_key_file(cfg.gallery.key_file)).people) == 2000
    finally:
        gw.stop()


def test_cli_enrol_roster_publish_status(broker: MosquittoBroker, publisher: Publisher, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edge.central.parents import consent
    from edge.central.store import open_store
    from edge.central.web.db import WebDb
    from edge.cli import cli
    from edge.security.sealed import new_key_file

    assert broker.pki is not None
    broker.identity("test-centre-cli", "server")  # not the fixture's: one connection per identity
    new_key_file(tmp_path / "centre.key")
    (tmp_path / "photos" / "obama").mkdir(parents=True)
    (tmp_path / "photos" / "obama" / "1.jpg").write_bytes((FACES / "obama_1.jpg").read_bytes())
    (tmp_path / "photos" / "obama" / "2.jpg").write_bytes((FACES / "two_people.jpg").read_bytes())
    (tmp_path / "roster.csv").write_text(ROSTER_V2)
    store_url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    open_store(store_url).close()
    db = WebDb(store_url)
    consent.give(db, SITE, "obama", given_by="Michelle Obama", method="paper", recorded_by="office")
    db.close()
    env = {
        "EDGE_CENTRE_DIR": str(tmp_path / "centre"),
        "EDGE_CENTRE_KEY_FILE": str(tmp_path / "centre.key"),
        "EDGE_STORE_URL": store_url,
    }
    conn = ["--broker", f"127.0.0.1:{broker.port}", "--pki", str(broker.pki.dir), "--identity", "test-centre-cli"]
    run = CliRunner().invoke

    r = run(cli, ["distribution", "enroll", SITE, "--photos", str(tmp_path / "photos"), "--jitters", "1"], env=env)
    assert r.exit_code == 0, r.output
    assert "several faces" in r.output and "1 photo(s) accepted" in r.output
    assert "1 people have only one template" in r.output and "NO template" not in r.output
    r = run(cli, ["distribution", "unenroll", SITE, "obama", "nobody"], env=env)
    assert r.exit_code == 0 and "obama: 1 template(s) removed" in r.output and "nobody: not enrolled" in r.output
    r = run(cli, ["distribution", "enroll", SITE, "--photos", str(tmp_path / "photos"), "--jitters", "1"], env=env)
    assert r.exit_code == 0 and "1 people" in r.output, r.output
    r = run(cli, ["distribution", "roster", SITE, str(tmp_path / "roster.csv")], env=env)
    assert r.exit_code == 0 and "2 people" in r.output, r.output
    r = run(cli, ["distribution", "status", SITE, *conn])
    assert r.exit_code == 0 and r.output.count("none announced") == 2, r.output
    r = run(cli, ["distribution", "publish", SITE, *conn], env=env)
    assert r.exit_code == 0 and "published gallery v" in r.output and "published roster v" in r.output, r.output
    r = run(cli, ["distribution", "status", SITE, *conn])
    assert r.exit_code == 0 and r.output.count("signed by test-centre-cli") == 2, r.output

    nobody = ["--broker", f"127.0.0.1:{free_port()}", *conn[2:], "--timeout", "1"]
    r = run(cli, ["distribution", "publish", SITE, *nobody], env=env)
    assert r.exit_code == 1 and "not published" in r.output and "not reached" in r.output, r.output
    broker.identity("gw-cli", "gateway")  # a gateway identity cannot sign a distribution
    r = run(cli, ["distribution", "publish", SITE, *conn[:4], "--identity", "gw-cli"], env=env)
    assert r.exit_code == 1 and "only a server identity" in r.output, r.output
    (tmp_path / "bad.csv").write_text("person_id,name\n")
    r = run(cli, ["distribution", "roster", SITE, str(tmp_path / "bad.csv")], env=env)
    assert r.exit_code == 1 and "missing ['class']" in r.output, r.output


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["kind", "site", "version", "sha256", "size", "model", "created_at", "chunks", "chunk_size", "signer", "x"]
)


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.dictionaries(field_names, json_values, max_size=11).map(lambda d: json.dumps(d).encode()),
    )
)
def test_parse_manifest_refuses_in_words_whatever_it_is_given(payload: bytes) -> None:
    try:
        m = parse_manifest(payload)
    except ManifestRefused as exc:
        assert str(exc)
        return
    assert parse_manifest(m.to_json()) == m  # what it accepts round-trips


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(
    st.lists(
        st.sampled_from(["edge", "v1", SITE, "distribution", "gallery", "roster", "manifest", "7", "+", ""]), max_size=8
    )
)
def test_parse_topic_never_raises(parts: list[str]) -> None:
    parsed = parse_topic("/".join(parts), "edge/v1", SITE)
    assert parsed is None or parsed[0] in KINDS


def test_client_order_and_limits_without_a_broker(tmp_path: Path) -> None:
    """Retained messages come in any order: chunks before their manifest, an older version's chunks after a newer
    manifest, a chunk that does not fit the signed manifest. Only the announced bytes are installed."""
    from edge.gateway.distribution import DistributionClient

    pki = Pki(tmp_path / "pki")
    pki.init(SITE)
    tls = pki.tls_files(pki.issue("centre", "server").name)
    key, cert = load_private_key(tls.key), tls.cert.read_text()
    got: list[bytes] = []

    def install(data: bytes, _m: Manifest) -> str:
        got.append(data)
        return f"{len(data)} bytes"

    client = DistributionClient(
        prefix="edge/v1",
        site=SITE,
        ca_path=pki.ca_cert_path,
        crl_path=pki.crl_path,
        state_dir=tmp_path / "state",
        installers={"gallery": install, "roster": install},
    )
    client.start()
    base = f"edge/v1/{SITE}/distribution/roster"

    def manifest(version: int, data: bytes, chunk_size: int) -> Manifest:
        import hashlib

        m = Manifest("roster", SITE, version, hashlib.sha256(data).hexdigest(), len(data), "", "t", 0, chunk_size)
        m = dataclasses.replace(m, chunks=-(-len(data) // chunk_size))
        return sign_manifest(m, key, cert)

    try:
        v5 = b"A" * 25
        for i in range(3):  # chunks first, the manifest last
            client.submit(f"{base}/5/{i}", v5[i * 10 : (i + 1) * 10])
        client.submit(f"{base}/manifest", manifest(5, v5, 10).to_json())
        assert client.wait_installed("roster", 5, 5) and got == [v5]

        v7 = b"B" * 12
        client.submit(f"{base}/manifest", manifest(7, v7, 10).to_json())
        client.submit(f"{base}/6/0", b"C" * 10)  # another version's chunk: not part of v7
        client.submit(f"{base}/7/1", b"B" * 2)
        client.submit(f"{base}/7/0", b"B" * 10)
        assert client.wait_installed("roster", 7, 5) and got[-1] == v7

        client.submit(f"{base}/manifest", manifest(9, b"D" * 12, 10).to_json())
        client.submit(f"{base}/9/0", b"D" * 11)  # longer than the signed chunk_size
        wait_until(lambda: client.counters["refused"] == 1, 5, "an oversized chunk refused")
        assert "does not fit" in client.alarms()[0] and client.installed["roster"].version == 7
        client.submit(f"{base}/manifest", manifest(6, b"E", 10).to_json())  # older: ignored, not refused
        wait_until(lambda: client.counters["ignored"] == 1, 5, "an older version ignored")
        assert client.counters["refused"] == 1 and len(got) == 2
    finally:
        client.stop()
    # the versions outlive the process: a new client starts from v7
    again = DistributionClient(
        prefix="edge/v1",
        site=SITE,
        ca_path=pki.ca_cert_path,
        crl_path=pki.crl_path,
        state_dir=tmp_path / "state",
        installers={},
    )
    assert again.installed["roster"].version == 7 and again.snapshot()["roster"]["summary"] == "12 bytes"


# review L2: the retained manifest is believed only when signed, and the server ACL is its own site's ----------
def test_an_untrusted_or_implausible_retained_version_is_not_built_on(
    broker: MosquittoBroker, centre: CentreStore, signing: Signing, publisher: Publisher, tmp_path: Path
) -> None:
    import hashlib

    from edge.central.distribution.centre import MAX_AHEAD_MS

    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(ROSTER_V1)
    centre.set_roster(SITE, roster_csv)
    data = ROSTER_V1.encode()
    base = Manifest("roster", SITE, 0, hashlib.sha256(data).hexdigest(), len(data), "", "t", 1, 1024)
    other = Pki(tmp_path / "other-pki")
    other.init("other-school")
    o = other.tls_files(other.issue("centre", "server").name)

    def next_after(retained: Manifest) -> int:
        _publish_raw(publisher, retained, data)
        before = time.time_ns() // 1_000_000
        version = publisher.publish(centre, centre.artifact(SITE, "roster"), signing).version
        return version - before  # how far the new version is above the clock

    hour = 3_600_000
    # unsigned, or signed by another site's CA, an hour ahead: not believed (the version is the clock's)
    assert next_after(dataclasses.replace(base, version=time.time_ns() // 1_000_000 + hour)) < 5_000
    foreign = sign_manifest(
        dataclasses.replace(base, version=time.time_ns() // 1_000_000 + hour),
        load_private_key(o.key),
        o.cert.read_text(),
    )
    assert next_after(foreign) < 5_000
    # the control: this site's server signed it, an hour ahead: the next version goes above it
    ours = sign_manifest(
        dataclasses.replace(base, version=time.time_ns() // 1_000_000 + hour), signing.key, signing.cert_pem
    )
    assert next_after(ours) > hour - 5_000
    # signed, but 2**53-1 (a version above it would be refused by every gateway): not built on
    poisoned = sign_manifest(dataclasses.replace(base, version=2**53 - 1), signing.key, signing.cert_pem)
    assert 0 < next_after(poisoned) < hour + 5_000
    # a versions.json already poisoned by an older centre: not built on either
    path = centre.site_dir(SITE) / "versions.json"
    path.write_text(json.dumps({"roster": 2**53 - 1}))
    now = time.time_ns() // 1_000_000
    assert now <= centre.next_version(SITE, "roster") < now + MAX_AHEAD_MS
    assert centre.next_version(SITE, "roster", above=2**53 - 1) < now + MAX_AHEAD_MS


def test_a_server_identity_writes_only_its_own_sites_topics(broker: MosquittoBroker, watcher: Watcher) -> None:
    from edge.security.broker_config import acl_for
    from tests.helpers import client

    assert broker.pki is not None
    broker.identity("test-centre", "server")  # issued once per session: the first caller issues it
    ident = broker.pki.get("test-centre")
    assert ident is not None
    writes = [line for line in acl_for(ident) if line.startswith("topic write")]
    assert writes and all(line.split()[2].startswith(f"edge/v1/{SITE}/") for line in writes), writes

    c = client(broker, "test-centre", "server", client_id="test-centre-acl")
    try:
        for site in ("other-school", SITE):  # another site's first: the broker drops it, the own site's arrives
            for leaf in ("distribution/roster/1/0", "gw-x/cmd/reboot", "notify/g1"):
                c.publish(f"edge/v1/{site}/{leaf}", b"x", qos=1).wait_for_publish(5)
        got = []
        for _ in range(3):
            topic, _p = watcher.wait_for(lambda t, _p: t.endswith(("roster/1/0", "cmd/reboot", "notify/g1")), 10, "own")
            got.append(topic)
        assert sorted(got) == sorted(
            f"edge/v1/{SITE}/{leaf}" for leaf in ("distribution/roster/1/0", "gw-x/cmd/reboot", "notify/g1")
        )
    finally:
        c.disconnect()
        c.loop_stop()


# review L3: a dropped chunk is fetched again, a newer version's chunks are kept, the queue is bounded by bytes ---
def _client_and_signer(tmp_path: Path, **kw: Any) -> tuple[Any, Any, list[bytes]]:
    """A DistributionClient (not started) of a fresh site PKI, what it installed, and the messages of a version."""
    import hashlib

    from edge.gateway.distribution import DistributionClient

    pki = Pki(tmp_path / "pki")
    pki.init(SITE)
    tls = pki.tls_files(pki.issue("centre", "server").name)
    key, cert = load_private_key(tls.key), tls.cert.read_text()
    got: list[bytes] = []

    def install(data: bytes, _m: Manifest) -> str:
        got.append(data)
        return f"{len(data)} bytes"

    client = DistributionClient(
        prefix="edge/v1",
        site=SITE,
        ca_path=pki.ca_cert_path,
        crl_path=pki.crl_path,
        state_dir=tmp_path / "state",
        installers={"gallery": install, "roster": install},
        **kw,
    )
    base = f"edge/v1/{SITE}/distribution/roster"

    def messages(version: int, data: bytes, chunk_size: int) -> list[tuple[str, bytes]]:
        """Chunks then the signed manifest, as the publisher sends them."""
        m = Manifest("roster", SITE, version, hashlib.sha256(data).hexdigest(), len(data), "", "t", 0, chunk_size)
        m = sign_manifest(dataclasses.replace(m, chunks=-(-len(data) // chunk_size)), key, cert)
        parts = [(f"{base}/{version}/{i}", data[i * chunk_size : (i + 1) * chunk_size]) for i in range(m.chunks)]
        return [*parts, (f"{base}/manifest", m.to_json())]

    return client, messages, got


def test_a_dropped_chunk_is_fetched_again_by_resubscribing(tmp_path: Path) -> None:
    from edge.contract.manifest import MAX_MANIFEST_BYTES

    budget = 10_000 + MAX_MANIFEST_BYTES  # one 10,000-byte chunk and a manifest
    retained: dict[str, bytes] = {}
    calls: list[str] = []

    def resubscribe(topic_filter: str) -> None:  # what the broker does on a SUBSCRIBE: every retained copy again,
        calls.append(topic_filter)  # as they come off the socket, while the distribution thread reads its queue

        def deliver() -> None:
            for t, p in list(retained.items()):
                wait_until(functools.partial(has_room, len(p)), 5, "room in the queue")
                client.submit(t, p)

        threading.Thread(target=deliver, daemon=True).start()

    def has_room(n: int) -> bool:
        return bool(client._queue.bytes + n <= budget)

    client, messages, got = _client_and_signer(
        tmp_path, resubscribe=resubscribe, incomplete_after_s=0.3, max_queued_bytes=budget
    )
    v5 = bytes(range(256)) * 117
    msgs = messages(5, v5, 10_000)  # three chunks, then the manifest
    retained.update(msgs)
    for t, p in msgs:  # all at once, before the thread runs: chunks 1 and 2 do not fit and are dropped
        client.submit(t, p)
    assert client.counters["dropped"] == 2
    client.start()
    try:
        assert client.wait_installed("roster", 5, 10), client.alarms()
        assert got == [v5] and calls == [client.topic_filter]
        assert client.counters["resubscribed"] == 1
    finally:
        client.stop()


def test_a_newer_versions_chunks_are_kept_while_an_older_one_is_pending(tmp_path: Path) -> None:
    calls: list[str] = []
    client, messages, got = _client_and_signer(tmp_path, resubscribe=calls.append, incomplete_after_s=60)
    client.start()
    try:
        v6, v7 = b"6" * 30, b"7" * 30
        m6 = messages(6, v6, 10)
        for t, p in [m6[-1], m6[0]]:  # v6 announced, one chunk of three in: pending
            client.submit(t, p)
        for t, p in messages(7, v7, 10):  # the centre publishes v7 meanwhile: chunks, then the manifest
            client.submit(t, p)
        assert client.wait_installed("roster", 7, 5), client.alarms()
        assert got == [v7] and not calls and not client.alarms()
    finally:
        client.stop()


def test_the_queue_is_bounded_by_bytes() -> None:
    import queue as q

    from edge.gateway.distribution import ByteBoundedQueue

    bq = ByteBoundedQueue(max_items=3, max_bytes=100)
    assert bq.put(("a", b"x" * 60)) and not bq.put(("b", b"x" * 41)) and bq.put(("c", b"x" * 40))
    assert bq.bytes == 100 and bq.put(("d", b"")) and not bq.put(("e", b"")) and len(bq) == 3  # 3 items at most
    assert bq.get(1) == ("a", b"x" * 60) and bq.bytes == 40
    assert bq.put(("f", b"x" * 50)) and bq.put(None)  # 4 items: the stop marker always fits
    assert [bq.get(1) for _ in range(4)] == [("c", b"x" * 40), ("d", b""), ("f", b"x" * 50), None]
    assert bq.bytes == 0
    with pytest.raises(q.Empty):
        bq.get(0.05)


def test_a_gateway_that_lost_a_chunk_completes_after_resubscribing_to_the_broker(
    broker: MosquittoBroker, centre: CentreStore, signing: Signing, publisher: Publisher, tmp_path: Path
) -> None:
    """The real broker re-sends the retained chunks on the gateway's second SUBSCRIBE (no reconnect)."""
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(ROSTER_V2)
    centre.set_roster(SITE, roster_csv)
    gw = card_gateway(tmp_path, broker, "gw-dist-4")
    dist = gw.distribution
    assert dist is not None and gw.transport is not None
    try:
        wait_until(lambda: gw.transport.connected, 10, "the gateway connects")  # type: ignore[union-attr]
        dist.incomplete_after_s = 0.5
        artifact = centre.artifact(SITE, "roster")
        manifest = sign_manifest(
            centre.manifest_for(artifact, centre.next_version(SITE, "roster"), chunk_size=16),
            signing.key,
            signing.cert_pem,
        )
        assert manifest.chunks >= 3
        lost = f"edge/v1/{SITE}/distribution/roster/{manifest.version}/1"
        submit, dropped = dist.submit, threading.Event()

        def lossy(topic: str, payload: bytes) -> None:  # the first copy of chunk 1 never reaches the client
            if topic == lost and not dropped.is_set():
                dropped.set()
                return
            submit(topic, payload)

        dist.submit = lossy  # type: ignore[method-assign]
        publisher.announce(manifest, artifact.data, previous=None)
        assert dropped.wait(10)
        assert dist.wait_installed("roster", manifest.version, 15), dist.alarms()
        assert dist.counters["resubscribed"] >= 1 and gw.transport.connected
        assert roster_ids(gw) == {"rose", "obama"}
    finally:
        gw.stop()
