"""The distributor (edge/central/distribution/distributor.py): a school's roster is published when what the
gateways need changed — and only then (a guardian's new phone bumps the version but publishes nothing); a gallery
file changed by `edge distribution enroll` is published without anyone running `publish`; the announced bytes are
exactly the store's roster of students not gone. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from edge.central.distribution.centre import CentreStore
from edge.central.distribution.distributor import Distributor, Target, gateway_roster
from edge.central.distribution.publisher import Publisher
from edge.central.school import edits
from edge.central.school.files import import_central
from edge.central.school.live import LiveSchools
from edge.central.school.state import load_school
from edge.central.store import open_store
from edge.central.web.db import WebDb
from edge.config.central import load_central_config
from edge.contract.manifest import Kind
from edge.devtools.mosquitto import MosquittoBroker
from edge.devtools.postgres import PostgresServer
from edge.recognition.backend import model_id_of
from edge.recognition.gallery import Gallery, Template
from edge.roster import Person
from tests.helpers import wait_until
from tests.web_support import CENTRAL, GUARDIANS, ROSTER, SITE

SERVER = "test-distributor"
KINDS: tuple[Kind, ...] = ("roster", "gallery")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        pg: PostgresServer = request.getfixturevalue("postgres")
        url = pg.fresh_database()
    else:
        url = f"sqlite:///{tmp_path / 'centre.sqlite'}"
    open_store(url).close()
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "guardians.csv").write_text(GUARDIANS, encoding="utf-8")
    (tmp_path / "central.yaml").write_text(CENTRAL, encoding="utf-8")
    db = WebDb(url)
    try:
        import_central(db, load_central_config(tmp_path / "central.yaml"), today=datetime(2026, 9, 1).date())
    finally:
        db.close()
    return url


@pytest.fixture
def retained(broker: MosquittoBroker) -> Iterator[Publisher]:
    """A reader of what is retained for the site (cleared before and after: the session broker is shared). An
    identity of its own: the broker binds the client id to the certificate, one connection per identity."""
    reader = "test-distributor-read"
    with Publisher("127.0.0.1", broker.port, broker.identity(reader, "server"), reader) as p:
        for kind in KINDS:
            p.clear(SITE, kind)
        yield p
        for kind in KINDS:
            p.clear(SITE, kind)


def test_the_roster_and_gallery_are_published_when_they_change_and_only_then(
    broker: MosquittoBroker, retained: Publisher, store_url: str, tmp_path: Path
) -> None:
    tls = broker.identity(SERVER, "server")
    assert tls is not None
    centre = CentreStore(tmp_path / "centre", bytes(range(32)))
    schools = LiveSchools(WebDb(store_url), None, poll_s=0.2).start(name="test-dist-schools")
    dist = Distributor(schools, centre, Target("127.0.0.1", broker.port, tls, SERVER), tick_s=0.5).start()
    db = WebDb(store_url)
    try:
        wait_until(lambda: any(p.kind == "roster" for p in dist.published(SITE)), 30, "the first roster published")
        state = load_school(db, SITE)
        assert state is not None
        today = datetime.now(UTC).date()
        manifest = retained.trusted_manifest(SITE, "roster")
        assert manifest is not None and manifest.sha256 == dist.published(SITE)[-1].sha256
        assert centre.roster_path(SITE).read_bytes() == gateway_roster(state, today)

        with db.transaction() as tx:  # a parent's new phone: a new version, nothing for the gateways
            edits.set_guardian_channel(tx, SITE, "an-g1", "hook", phone="+84912345679")
        seen = load_school(db, SITE)
        assert seen is not None
        wait_until(lambda: (schools.state(SITE) or state).version == seen.version, 10, "the version followed")
        assert dist.sync(seen) == [] and len(dist.published(SITE)) == 1

        with db.transaction() as tx:  # a student leaves yesterday: the gates' roster changes
            people = [p for p in seen.students if p.person_id != "em"]
            edits.replace_students(tx, SITE, people, today=today)
        wait_until(lambda: len(dist.published(SITE)) == 2, 30, "the roster without em published")
        assert b"em," not in centre.roster_path(SITE).read_bytes()

        # `edge distribution enroll` (or anything) writes the sealed gallery: it goes out by itself
        rng = np.random.default_rng(1)
        template = Template("an", "an/1.jpg", "0" * 64, rng.normal(size=128).astype(np.float32))
        Gallery(model=model_id_of("sface"), _templates=[template]).save(centre.gallery_path(SITE), centre.key)
        wait_until(lambda: any(p.kind == "gallery" for p in dist.published(SITE)), 30, "the gallery published")
        gallery = retained.trusted_manifest(SITE, "gallery")
        assert gallery is not None and gallery.version == dist.published(SITE)[-1].version
        assert dist.errors == 0
    finally:
        db.close()
        dist.stop()
        schools.stop()
        schools.db.close()


def test_the_gateways_roster_keeps_students_not_gone() -> None:
    from edge.central.school.state import SchoolState
    from edge.config.central import CalendarConfig, Term

    today = datetime(2026, 11, 24).date()
    cal = CalendarConfig(terms=[Term(name="T", start=today, end=today)])
    students = (
        Person("a", "A", "6A", "0F00A1B2C3"),
        Person("b", "B", "6A", None, (), today - timedelta(days=30), today - timedelta(days=1)),  # left yesterday
        Person("c", "C", "6B", "0F00A1B2C4", (), today + timedelta(days=1)),  # starts tomorrow: the gates know her
        Person("d", "D", "6B", None, (), today - timedelta(days=30), today),  # leaves after today
    )
    state = SchoolState(SITE, "S", "Asia/Ho_Chi_Minh", cal, {}, students, (), (), 1)
    text = gateway_roster(state, today).decode()
    assert text.splitlines() == ["person_id,name,class,card_uid", "a,A,6A,0F00A1B2C3", "c,C,6B,0F00A1B2C4", "d,D,6B,"]
