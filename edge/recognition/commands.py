"""`edge enroll`, `edge identify` and `edge gallery list|remove|verify|keygen`.

Galleries are sealed (AES-256-GCM): every command takes the key file (--key-file, or $EDGE_GALLERY_KEY_FILE)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from edge.recognition.backend import DEFAULT_MODEL, MODEL_NAMES
from edge.recognition.decision import DecisionRule

if TYPE_CHECKING:
    from edge.recognition.enroll import EnrolReport, PersonResult

GALLERY_OPT = click.option(
    "--gallery", "gallery_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Gallery file."
)
KEY_OPT = click.option(
    "--key-file",
    "key_file",
    required=True,
    envvar="EDGE_GALLERY_KEY_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The gallery's key (64 hex, mode 0600; 'edge gallery keygen' makes one). Env: EDGE_GALLERY_KEY_FILE.",
)
MODEL_OPT = click.option(
    "--model",
    type=click.Choice(MODEL_NAMES),
    default=DEFAULT_MODEL,
    show_default=True,
    help="Recognition backend (config recognition.model).",
)


def _fail(msg: str, code: int = 2) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def default_rule(model: str = DEFAULT_MODEL) -> DecisionRule:
    """The rule the gateway uses with a default config and this model."""
    from edge.config.model import RecognitionConfig

    return DecisionRule.from_config(RecognitionConfig(model=model))  # type: ignore[arg-type]


def _key(key_file: Path) -> bytes:
    from edge.security.sealed import KeyFileError, read_key_file

    try:
        return read_key_file(key_file)
    except KeyFileError as exc:
        _fail(str(exc))
        raise AssertionError from exc  # unreachable: _fail exits


@click.command("enroll")
@GALLERY_OPT
@KEY_OPT
@MODEL_OPT
@click.option("--photos", "photos_dir", type=click.Path(file_okay=False, path_type=Path), help="DIR/<person_id>/*.jpg")
@click.option("--roster", "roster_csv", type=click.Path(dir_okay=False, path_type=Path), help="Roster CSV with photos.")
@click.option(
    "--jitters", type=click.IntRange(1, 100), default=None, help="dlib only: jittered copies per photo (default 10)."
)
@click.option("--min-face-px", type=click.IntRange(20, 2000), default=64, show_default=True)
@click.option("--quiet", is_flag=True, help="Only rejects and the summary.")
def enroll_cmd(
    gallery_path: Path,
    key_file: Path,
    model: str,
    photos_dir: Path | None,
    roster_csv: Path | None,
    jitters: int | None,
    min_face_px: int,
    quiet: bool,
) -> None:
    """Enrol photos into the gallery; only new or changed photos are encoded, rejects are listed with reasons.

    Ends with the people left with no template or only one; exits 1 when anyone has no template."""
    from rich.console import Console
    from rich.progress import Progress

    from edge.recognition.enroll import (
        EnrolLayoutError,
        EnrolSettings,
        PhotoResult,
        enroll,
        jitters_for,
        photos_from_folder,
        photos_from_roster,
    )
    from edge.recognition.gallery import GalleryError
    from edge.recognition.model_files import ModelFileError
    from edge.roster import RosterError

    if (photos_dir is None) == (roster_csv is None):
        _fail("give exactly one of --photos DIR or --roster CSV")
    try:
        jitters = jitters_for(model, jitters)
    except ValueError as exc:
        _fail(str(exc))
        return
    try:
        people = photos_from_folder(photos_dir) if photos_dir else photos_from_roster(roster_csv)  # type: ignore[arg-type]
    except (FileNotFoundError, RosterError, EnrolLayoutError) as exc:
        _fail(str(exc))
        return
    if not people:
        _fail(f"no photos listed in {roster_csv}'s photos column: nothing to enrol, nothing written")
    key = _key(key_file)
    total = sum(len(v) for v in people.values())
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=total < 20) as progress:
        task = progress.add_task("enrolling", total=total)

        def report(r: PhotoResult) -> None:
            progress.advance(task)
            if not quiet or not r.accepted:
                detail = f" ({r.detail})" if r.detail else ""
                click.echo(f"{r.status:14s} {r.person_id:24s} {r.photo}{detail}")

        try:
            settings = EnrolSettings(min_face_px, jitters=jitters, model=model)
            result = enroll(gallery_path, people, settings, key=key, on_result=report)
        except (GalleryError, ModelFileError) as exc:
            _fail(str(exc))
            return
    new = sum(r.status == "enrolled" for r in result.results)
    g = result.gallery
    click.echo(
        f"{result.accepted}/{total} photos accepted ({new} encoded, {result.accepted - new} unchanged,"
        f" {len(result.rejected)} rejected); gallery {gallery_path}: {len(g)} templates, {len(g.people)} people"
        + ("" if result.changed else " (unchanged, not rewritten)")
    )
    for line in people_summary(result):
        click.echo(line)
    if result.without_template:
        sys.exit(1)


def people_summary(result: EnrolReport) -> list[str]:
    """Who ends with no template (card only) or a single one, each with why their photos were refused."""

    def why(p: PersonResult) -> str:
        reasons = Counter(r.status for r in p.rejected)
        given = len(p.rejected) + p.templates
        refused = ", ".join(f"{n}x {status}" if n > 1 else status for status, n in reasons.items())
        return refused or f"{given} photo{'s' if given != 1 else ''} given"

    lines = []
    if result.without_template:
        lines.append(
            f"{len(result.without_template)} people have NO template: the gate cannot recognise them by face"
            " (card only) until they are enrolled with a usable photo:"
        )
        lines += [f"  no template  {p.person_id:24s} {why(p)}" for p in result.without_template]
    if result.single_template:
        lines.append(
            f"{len(result.single_template)} people have only one template (recognised less reliably: add a photo):"
        )
        lines += [f"  one template {p.person_id:24s} {why(p)}" for p in result.single_template]
    return lines


@click.command("identify")
@GALLERY_OPT
@KEY_OPT
@click.option("--threshold", type=float, default=None, help="Override the decision threshold.")
@click.option("--margin", type=float, default=None, help="Override the margin to the second-nearest person.")
@click.argument("images", nargs=-1, required=True)
def identify_cmd(
    gallery_path: Path, key_file: Path, threshold: float | None, margin: float | None, images: tuple[str, ...]
) -> None:
    """One JSON line per IMAGE: its main face (largest and most central, as at enrolment), decided with the
    gateway's own rule (threshold for the gallery's size + margin) for the gallery's model; "faces" counts every face
    found. SFace reports its cosine "similarity" (higher is closer) and the similarity to reach ("threshold"), dlib
    its "distance" and the distance not to exceed; "margin" is the rule's, in distance."""
    from edge.recognition.backend import backend_for_model_id
    from edge.recognition.encoder import load_image_rgb
    from edge.recognition.gallery import Gallery, GalleryError
    from edge.recognition.model_files import ModelFileError
    from edge.recognition.scores import score_fields
    from edge.recognition.still import identify_still

    key = _key(key_file)
    try:
        gallery = Gallery.load(gallery_path, key)
        backend = backend_for_model_id(gallery.model)
        backend.load()
    except (GalleryError, ModelFileError, ValueError) as exc:
        _fail(str(exc))
        return
    rule = DecisionRule.for_model(backend.name, threshold, margin)
    failed = False
    for image in images:
        out: dict[str, object] = {"image": image, "person_id": None}
        try:
            rgb = load_image_rgb(image)
        except (ValueError, OSError) as exc:
            click.echo(f"{image}: {exc}", err=True)
            failed = True
            continue
        result = identify_still(backend, gallery, rgb, rule)
        out["faces"] = result.faces
        ident = result.identification
        if ident is not None:
            out["person_id"] = ident.person_id
            out.update(score_fields(backend.name, ident.distance))
            out["nearest"] = ident.nearest
            out["margin"] = None if ident.margin is None else round(ident.margin, 4)
            # the threshold on the score's own scale (SFace: the similarity to reach); the margin stays the rule's,
            # a difference of distances (config recognition.margin)
            out["threshold"] = next(iter(score_fields(backend.name, ident.threshold).values()))
            out["reason"] = ident.reason
        click.echo(json.dumps(out))
    if failed:
        sys.exit(1)


@click.group("gallery")
def gallery() -> None:
    """Inspect and edit a gallery file."""


@gallery.command("list")
@GALLERY_OPT
@KEY_OPT
def gallery_list(gallery_path: Path, key_file: Path) -> None:
    """People, their templates and the gallery's metadata."""
    from edge.recognition.gallery import Gallery, GalleryError

    try:
        g = Gallery.load(gallery_path, _key(key_file))
    except GalleryError as exc:
        _fail(str(exc))
        return
    meta = g.meta()
    click.echo(f"# {gallery_path}: format {meta['format']}, model {meta['model']}, jitters {meta['jitters']}")
    click.echo(f"# {meta['people']} people, {meta['templates']} templates, updated {meta['updated_at']}")
    for person in g.people:
        sources = ", ".join(t.source.split("/", 1)[-1] for t in g.templates_of(person))
        click.echo(f"{person}\t{len(g.templates_of(person))}\t{sources}")


@gallery.command("remove")
@GALLERY_OPT
@KEY_OPT
@click.argument("person_ids", nargs=-1, required=True)
def gallery_remove(gallery_path: Path, key_file: Path, person_ids: tuple[str, ...]) -> None:
    """Remove PERSON_IDS (all their templates); the file is rewritten atomically."""
    from edge.recognition.gallery import Gallery, GalleryError

    key = _key(key_file)
    try:
        g = Gallery.load(gallery_path, key)
    except GalleryError as exc:
        _fail(str(exc))
        return
    missing = [p for p in person_ids if p not in g.people]
    if missing:
        _fail(f"not in the gallery: {', '.join(missing)}", 1)
    removed = sum(g.remove(p) for p in person_ids)
    g.save(gallery_path, key)
    click.echo(f"removed {len(person_ids)} people ({removed} templates); {len(g.people)} people remain")


@gallery.command("verify")
@GALLERY_OPT
@KEY_OPT
@MODEL_OPT
def gallery_verify(gallery_path: Path, key_file: Path, model: str) -> None:
    """Check key, format, checksum and model; report people whose templates sit close to someone else's."""
    from edge.recognition.backend import model_id_of
    from edge.recognition.gallery import Gallery, GalleryError

    try:
        g = Gallery.load(gallery_path, _key(key_file), model=model_id_of(model))
    except GalleryError as exc:
        _fail(str(exc), 1)
        return
    rule = default_rule(model)
    click.echo(f"ok: {len(g)} templates, {len(g.people)} people, checksum and model match")
    close = []
    near = rule.threshold_for(len(g.people)) + rule.margin  # the threshold this gallery's size gets, plus the margin
    for t in g.templates:
        d = g.person_distances(t.encoding)[0]
        for j, other in enumerate(g.people):
            if other != t.person_id and d[j] <= near:
                close.append((float(d[j]), t.source, other))
    for dist, source, other in sorted(close):
        click.echo(f"warning: {source} is {dist:.3f} from {other}: these people may be confused")


@gallery.command("keygen")
@click.option(
    "--key-file",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to create the key (0600; a folder created for it is 0700). Never overwrites a key.",
)
def gallery_keygen(key_file: Path) -> None:
    """Create a new random 256-bit gallery key. Keep a copy offline: a lost key means re-enrolling everyone."""
    from edge.security.sealed import KeyFileError, new_key_file

    try:
        new_key_file(key_file)
    except (KeyFileError, OSError) as exc:
        _fail(str(exc))
    click.echo(f"created {key_file} (mode 0600)")
