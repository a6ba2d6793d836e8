"""`edge distribution`: enrol and keep rosters at the centre, publish them signed to a site's gateways, and see
what each site has announced.

    edge distribution enroll SITE --photos DIR          photos -> templates in the centre's gallery of SITE
                                                        (students with a recorded consent only: --store)
    edge distribution unenroll SITE PERSON...           a student who left: their templates removed
    edge distribution roster SITE roster.csv            the school's roster, checked, kept at the centre
    edge distribution publish SITE [--kind all]          sign + announce (retained) on the site broker
    edge distribution status SITE                       the announced versions, signature checked

The centre folder and its key: --centre DIR (EDGE_CENTRE_DIR) and --key-file (EDGE_CENTRE_KEY_FILE, 0600; make
one with `edge gallery keygen --key-file FILE`). The broker identity: --pki DIR --identity NAME (a `server`
identity of the site; its key signs) or --ca/--cert/--key.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from edge.recognition.backend import DEFAULT_MODEL, MODEL_NAMES

if TYPE_CHECKING:
    from edge.recognition.enroll import PhotoResult


def _fail(msg: str) -> NoReturn:
    click.echo(msg, err=True)
    sys.exit(1)


def centre_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--key-file",
        "key_file",
        required=True,
        envvar="EDGE_CENTRE_KEY_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The centre's gallery key (0600). Env: EDGE_CENTRE_KEY_FILE.",
    )(f)
    return click.option(
        "--centre",
        "centre_dir",
        required=True,
        envvar="EDGE_CENTRE_DIR",
        type=click.Path(file_okay=False, path_type=Path),
        help="The centre's distribution folder (one sub-folder per site). Env: EDGE_CENTRE_DIR.",
    )(f)


def broker_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(
        (
            click.option("--broker", "broker", default="localhost:8883", show_default=True, help="HOST[:PORT]."),
            click.option("--prefix", "prefix", default="edge/v1", show_default=True, help="Topic prefix."),
            click.option(
                "--pki",
                "pki_dir",
                envvar="EDGE_PKI_DIR",
                type=click.Path(file_okay=False, path_type=Path),
                help="The site PKI folder (with --identity).",
            ),
            click.option("--identity", default="centre", show_default=True, help="A server identity of the PKI."),
            click.option("--ca", type=click.Path(dir_okay=False, path_type=Path), help="Site CA (without --pki)."),
            click.option("--cert", type=click.Path(dir_okay=False, path_type=Path), help="Server certificate."),
            click.option("--key", type=click.Path(dir_okay=False, path_type=Path), help="Server key."),
            click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the broker."),
        )
    ):
        f = opt(f)
    return f


def _centre(centre_dir: Path, key_file: Path) -> Any:
    from edge.central.distribution.centre import CentreStore
    from edge.security.sealed import KeyFileError, read_key_file

    try:
        return CentreStore(centre_dir, read_key_file(key_file))
    except KeyFileError as exc:
        _fail(str(exc))


def _tls(pki_dir: Path | None, identity: str, ca: Path | None, cert: Path | None, key: Path | None) -> Any:
    from edge.security.pki import Pki, PkiError, TlsFiles

    if pki_dir is not None:
        try:
            return Pki(pki_dir).tls_files(identity)
        except PkiError as exc:
            _fail(str(exc))
    if ca is None or cert is None or key is None:
        _fail("give --pki DIR [--identity NAME] or all of --ca, --cert, --key (a server identity of the site)")
    return TlsFiles(ca, cert, key)


def _host_port(broker: str) -> tuple[str, int]:
    host, _, port = broker.partition(":")
    if port and not port.isdigit():
        _fail(f"--broker {broker!r}: use HOST or HOST:PORT")
    return host or "localhost", int(port or 8883)


@click.group("distribution")
def distribution() -> None:
    """Galleries and rosters from the centre to the gateways (signed, versioned, retained on MQTT)."""


@distribution.command("enroll")
@click.argument("site")
@centre_options
@click.option("--photos", "photos_dir", type=click.Path(file_okay=False, path_type=Path), help="DIR/<person_id>/*.jpg")
@click.option("--roster", "roster_csv", type=click.Path(dir_okay=False, path_type=Path), help="Roster CSV with photos.")
@click.option("--model", type=click.Choice(MODEL_NAMES), default=DEFAULT_MODEL, show_default=True)
@click.option(
    "--jitters", type=click.IntRange(1, 100), default=None, help="dlib only: jittered copies per photo (default 10)."
)
@click.option(
    "--store",
    "store_url",
    required=True,
    envvar="EDGE_STORE_URL",
    help="The centre's store, where consents are recorded: sqlite:///PATH or postgresql://… (EDGE_STORE_URL).",
)
def enroll_cmd(
    site: str,
    centre_dir: Path,
    key_file: Path,
    photos_dir: Path | None,
    roster_csv: Path | None,
    model: str,
    jitters: int | None,
    store_url: str,
) -> None:
    """Enrol photos for SITE at the centre (only new or changed photos are encoded); then `publish`. A student
    without a recorded consent to face recognition is refused (listed; the others are enrolled)."""
    from edge.central.distribution.centre import CentreError
    from edge.recognition.enroll import (
        EnrolLayoutError,
        EnrolSettings,
        jitters_for,
        photos_from_folder,
        photos_from_roster,
    )
    from edge.recognition.gallery import GalleryError
    from edge.recognition.model_files import ModelFileError
    from edge.roster import RosterError
    from edge.security.pki import PkiError

    if (photos_dir is None) == (roster_csv is None):
        _fail("give exactly one of --photos DIR or --roster CSV")
    try:
        jitters = jitters_for(model, jitters)
    except ValueError as exc:
        _fail(str(exc))
    store = _centre(centre_dir, key_file)
    try:
        people = photos_from_folder(photos_dir) if photos_dir else photos_from_roster(roster_csv)  # type: ignore[arg-type]
        if not people:
            _fail("no photos listed: nothing to enrol")
        allowed = _consenting(store_url, site)
        for pid in sorted(set(people) - allowed):
            click.echo(f"{'no_consent':14s} {pid:24s} no consent to face recognition is recorded: not enrolled")
        people = {pid: photos for pid, photos in people.items() if pid in allowed}
        if not people:
            _fail("no student with a recorded consent: nothing enrolled")
        report = store.enroll(
            site,
            people,
            EnrolSettings(jitters=jitters, model=model),
            on_result=_print_reject,
        )
    except (FileNotFoundError, RosterError, EnrolLayoutError, GalleryError, ModelFileError, CentreError) as exc:
        _fail(str(exc))
    except PkiError as exc:  # the site name is checked like an identity name
        _fail(f"site {site!r}: {exc}")
    g = report.gallery
    click.echo(
        f"{report.accepted} photo(s) accepted, {len(report.rejected)} rejected; {site} {model}: {len(g)} templates"
        f" of {len(g.people)} people" + ("" if report.changed else " (unchanged)")
    )
    from edge.recognition.commands import people_summary

    for line in people_summary(report):
        click.echo(line)
    click.echo(f"next: edge distribution publish {site} --kind gallery")
    if report.without_template:
        sys.exit(1)


def _consenting(store_url: str, site: str) -> set[str]:
    """The students of SITE whose latest consent decision is consent (edge/central/parents/consent.py)."""
    from edge.central.parents.consent import consenting
    from edge.central.school.commands import _db

    db = _db(store_url, migrate=False)
    try:
        return consenting(db, site)
    finally:
        db.close()


def _print_reject(r: PhotoResult) -> None:
    if not r.accepted:
        click.echo(f"{r.status:14s} {r.person_id:24s} {r.photo} {r.detail}")


@distribution.command("unenroll")
@click.argument("site")
@click.argument("person_ids", nargs=-1, required=True)
@centre_options
@click.option("--model", type=click.Choice(MODEL_NAMES), default=DEFAULT_MODEL, show_default=True)
def unenroll_cmd(site: str, person_ids: tuple[str, ...], centre_dir: Path, key_file: Path, model: str) -> None:
    """Remove PERSON_IDS (every template) from SITE's gallery at the centre; then `publish` (a student who left)."""
    from edge.central.distribution.centre import CentreError
    from edge.recognition.gallery import GalleryError

    store = _centre(centre_dir, key_file)
    try:
        for pid in person_ids:
            n = store.remove(site, pid, model)
            click.echo(f"{pid}: {n} template(s) removed" if n else f"{pid}: not enrolled")
    except (CentreError, GalleryError) as exc:
        _fail(str(exc))
    click.echo(f"next: edge distribution publish {site} --kind gallery")


@distribution.command("roster")
@click.argument("site")
@click.argument("csv_path", type=click.Path(dir_okay=False, path_type=Path))
@centre_options
def roster_cmd(site: str, csv_path: Path, centre_dir: Path, key_file: Path) -> None:
    """Keep CSV_PATH (checked line by line) as SITE's roster at the centre; then `publish`."""
    from edge.roster import RosterError

    store = _centre(centre_dir, key_file)
    try:
        n = store.set_roster(site, csv_path)
    except RosterError as exc:
        _fail(str(exc))
    except FileNotFoundError:
        _fail(f"{csv_path}: no such file")
    click.echo(f"roster of {site}: {n} people; next: edge distribution publish {site} --kind roster")


@distribution.command("publish")
@click.argument("site")
@centre_options
@broker_options
@click.option("--kind", type=click.Choice(["gallery", "roster", "all"]), default="all", show_default=True)
@click.option("--model", type=click.Choice(MODEL_NAMES), default=DEFAULT_MODEL, show_default=True)
def publish_cmd(
    site: str,
    centre_dir: Path,
    key_file: Path,
    broker: str,
    prefix: str,
    pki_dir: Path | None,
    identity: str,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    timeout: float,
    kind: str,
    model: str,
) -> None:
    """Sign SITE's gallery and/or roster with the server identity and announce them (retained) to its gateways."""
    from edge.central.distribution.centre import CentreError
    from edge.central.distribution.publisher import Publisher, PublishError, Signing
    from edge.contract.manifest import KINDS
    from edge.recognition.gallery import GalleryError

    store = _centre(centre_dir, key_file)
    tls = _tls(pki_dir, identity, ca, cert, key)
    host, port = _host_port(broker)
    kinds = KINDS if kind == "all" else (kind,)
    try:
        signing = Signing.from_tls(tls)
        artifacts = [store.artifact(site, k, model) for k in kinds]
        with Publisher(host, port, tls, f"{identity}-distribution", prefix, timeout) as pub:
            for a in artifacts:
                m = pub.publish(store, a, signing)
                click.echo(
                    f"published {m.kind} v{m.version} of {site}: {m.size} bytes, {m.chunks} chunk(s), {m.sha256[:16]}"
                )
    except (CentreError, GalleryError, PublishError, OSError) as exc:
        _fail(f"not published: {exc}")


@distribution.command("status")
@click.argument("site")
@broker_options
def status_cmd(
    site: str,
    broker: str,
    prefix: str,
    pki_dir: Path | None,
    identity: str,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    timeout: float,
) -> None:
    """What SITE's gateways are offered now: each retained manifest, its version and whether its signature holds.
    (Each gateway reports what it installed in its health report: `distribution`.)"""
    from edge.central.distribution.publisher import Publisher, PublishError
    from edge.contract.manifest import KINDS, ManifestRefused, verify_manifest
    from edge.security.pki import load_cert

    tls = _tls(pki_dir, identity, ca, cert, key)
    host, port = _host_port(broker)
    bad = False
    try:
        with Publisher(host, port, tls, f"{identity}-distribution-status", prefix, timeout) as pub:
            for k in KINDS:
                m = pub.retained_manifest(site, k)
                if m is None:
                    click.echo(f"{k:8s} none announced")
                    continue
                try:
                    who = verify_manifest(m, site=site, ca_cert=load_cert(tls.ca), now=dt.datetime.now(dt.UTC))
                    check = f"signed by {who}"
                except ManifestRefused as exc:
                    check, bad = f"REFUSED by gateways: {exc}", True
                model = f" {m.model}" if m.model else ""
                click.echo(f"{k:8s} v{m.version} {m.created_at}{model} {m.size} bytes {m.sha256[:16]} {check}")
    except (PublishError, OSError) as exc:
        _fail(str(exc))
    sys.exit(1 if bad else 0)
