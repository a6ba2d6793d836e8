"""`edge bench …`: every benchmark's options; each prints a table and a JSON document (also written with --json).
The work is in the benchmark's own module, imported when its command runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from edge.bench.degrade import CONDITIONS
from edge.recognition.commands import default_rule

if TYPE_CHECKING:
    from edge.recognition.backend import Fusion

CONDITION_NAMES = tuple(CONDITIONS)

PATH = click.Path(exists=True, dir_okay=False, path_type=Path)
JSON_OUT = click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")


def _emit(data: dict[str, Any], json_path: Path | None) -> None:
    text = json.dumps(data, indent=2)
    if json_path:
        json_path.write_text(text + "\n")
    click.echo(text)


@click.group("bench")
def bench() -> None:
    """Benchmarks: figures printed, nothing asserted."""


def _jitters(models: list[str], jitters: int | None) -> dict[str, int]:
    """Enrolment jitters per model: --jitters goes to the models that have the option (dlib); asked for only models
    without it (SFace), it is refused rather than ignored (enroll.jitters_for)."""
    from edge.recognition.backend import defaults_of
    from edge.recognition.enroll import jitters_for

    having = [m for m in models if defaults_of(m).enrol_jitters is not None]
    try:
        return {m: jitters_for(m, jitters if m in having or not having else None) for m in models}
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _galleries(
    models: list[str], photos: Path | None, gallery_path: Path | None, key_file: Path | None, jitters: int | None
) -> dict[str, Any]:
    """One gallery per model: enrolled in a temporary folder from PHOTOS, or the given sealed gallery."""
    from edge.recognition.backend import model_id_of
    from edge.recognition.gallery import Gallery
    from edge.security.sealed import read_key_file

    if gallery_path is not None:
        if key_file is None:
            raise click.UsageError("--gallery needs --key-file")
        g = Gallery.load(gallery_path, read_key_file(key_file))
        name = next((m for m in ("sface", "dlib") if model_id_of(m) == g.model), None)
        if name is None or name not in models:
            raise click.UsageError(f"{gallery_path} is a {name or g.model} gallery; --model {'/'.join(models)} asked")
        return {name: g}
    if photos is None:
        raise click.UsageError("give --photos DIR (enrolled per model for this run) or --gallery FILE --key-file KEY")
    from edge.bench.video import enrol_in_child

    per_model = _jitters(models, jitters)
    return {m: enrol_in_child(photos, m, per_model[m]) for m in models}


@bench.command("recognition")
@click.option("--video", required=True, type=PATH)
@click.option("--truth", "truth_path", type=PATH, default=None, help="*.truth.json of the video.")
@click.option("--model", type=click.Choice(["sface", "dlib", "both"]), default="both", show_default=True)
@click.option(
    "--photos", type=click.Path(exists=True, file_okay=False, path_type=Path), help="DIR/<person_id>/*.jpg to enrol."
)
@click.option("--gallery", "gallery_path", type=PATH, default=None, help="Or a sealed gallery (one model).")
@click.option("--key-file", type=PATH, default=None, envvar="EDGE_GALLERY_KEY_FILE", help="Key of --gallery.")
@click.option("--jitters", type=click.IntRange(1, 100), default=None, help="dlib only: enrolment jitters (default 10).")
@click.option("--threshold", type=float, default=None, help="Override (one model only).")
@click.option("--margin", type=float, default=None, help="Override (one model only).")
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True, help="Encoder processes.")
@click.option("--detect-max-width", type=click.IntRange(0, 10_000), default=None, help="Override (0: full size).")
@click.option("--full-detect-every", type=click.IntRange(1, 30), default=None, help="Override the config's.")
@click.option("--min-encodings", type=click.IntRange(1, 10), default=None, help="Looks that must agree (fusion).")
@click.option("--frame-blur", type=click.IntRange(0, 60), default=0, help="Blur each frame by 0..PX px of motion.")
@click.option("--no-sharpest", is_flag=True, help="Choose looks by the older capped score (A/B of sharpest looks).")
@click.option("--no-paced", is_flag=True, help="Skip the real-time run that measures decision latency.")
@click.option("--no-reference", is_flag=True, help="Skip face_recognition's reference loop.")
@click.option("--reference-limit", type=int, default=None, help="Run the reference on the first N frames only.")
@JSON_OUT
def bench_recognition_cmd(
    video: Path,
    truth_path: Path | None,
    model: str,
    photos: Path | None,
    gallery_path: Path | None,
    key_file: Path | None,
    jitters: int | None,
    threshold: float | None,
    margin: float | None,
    workers: int,
    detect_max_width: int | None,
    full_detect_every: int | None,
    min_encodings: int | None,
    frame_blur: int,
    no_sharpest: bool,
    no_paced: bool,
    no_reference: bool,
    reference_limit: int | None,
    json_path: Path | None,
) -> None:
    """The core with each backend and face_recognition's own video loop, side by side on VIDEO in one run.

    The reference loop needs dlib templates: with --model sface and --photos, a dlib gallery is enrolled for it."""
    from dataclasses import replace

    from rich.console import Console
    from rich.table import Table

    from edge.bench.video import bench_recognition
    from edge.config.model import RecognitionConfig
    from edge.recognition.core import CoreSettings
    from edge.recognition.decision import DecisionRule

    models = ["sface", "dlib"] if model == "both" else [model]
    if (threshold is not None or margin is not None) and len(models) > 1:
        raise click.UsageError("--threshold/--margin apply to one model: add --model sface or --model dlib")
    want = models + (["dlib"] if not no_reference and "dlib" not in models and photos is not None else [])
    galleries = _galleries(want, photos, gallery_path, key_file, jitters)
    rules = {m: DecisionRule.for_model(m, threshold, margin) for m in galleries}
    settings = CoreSettings.from_config(RecognitionConfig())
    if detect_max_width is not None:
        settings = replace(settings, detect_max_width=detect_max_width or None)
    if full_detect_every is not None:
        settings = replace(settings, full_detect_every=full_detect_every)
    if min_encodings is not None:
        settings = replace(settings, min_encodings=min_encodings)
    if no_sharpest:
        settings = replace(settings, sharpest_looks=False)
    out = bench_recognition(
        video,
        galleries,
        truth_path,
        rules,
        settings,
        models=models,
        workers=workers,
        paced=not no_paced,
        reference=not no_reference,
        reference_limit=reference_limit,
        frame_blur=frame_blur,
    )
    ref = out.get("reference", {})
    table = Table(
        title=f"recognition on {video.name} (one run, {out['cpu_count']} cores, load {out['load_average_before']})"
    )
    table.add_column("")
    for m in out["models"]:
        table.add_column(f"core, {m}")
    table.add_column("reference (face_recognition loop, tol 0.6)")
    cores = list(out["models"].values())

    def row(label: str, key: Any, ref_value: Any = "") -> None:
        cells = [str(key(c)) if callable(key) else str(c.get(key)) for c in cores]
        table.add_row(label, *cells, "" if ref_value is None else str(ref_value))

    row("frames/s (unpaced)", "fps", ref.get("fps"))
    row("CPU-s per video-s (unpaced)", "cpu_s_per_video_s", ref.get("cpu_s_per_video_s"))
    row("CPU-s per video-s (paced 30 fps)", "paced_cpu_s_per_video_s")
    row("  of which encoder workers (paced)", "paced_cpu_s_per_video_s_encoder_workers")
    row("speed-up vs reference", "speedup_vs_reference")
    row(
        "encodings (per pass)",
        lambda c: f"{c['encodings']} ({c['encodings_per_pass']})",
        f"{ref.get('encodings')} ({ref.get('encodings_per_pass')})",
    )
    row("decisions", lambda c: len(c["decisions"]), "per frame")
    row(
        "latency p50 / p95 / max ms, all",
        lambda c: (
            f"{c.get('latency_ms', {}).get('p50')} / {c.get('latency_ms', {}).get('p95')} / "
            f"{c.get('latency_ms', {}).get('max')}"
        ),
    )
    row(
        "latency p50 / p95 / max ms, granted",
        lambda c: (
            f"{c.get('latency_granted_ms', {}).get('p50')} / {c.get('latency_granted_ms', {}).get('p95')} / "
            f"{c.get('latency_granted_ms', {}).get('max')}"
        ),
    )
    row("peak RSS MiB", "peak_rss_mib", ref.get("peak_rss_mib"))
    for key in ("correct", "wrong_person", "strangers_admitted", "decided_twice", "missed"):
        if all("truth" in c for c in cores):
            row(key.replace("_", " "), lambda c, k=key: c["truth"][k], ref.get("truth", {}).get(key, ""))
    Console(stderr=True, width=160).print(table)
    _emit(out, json_path)


@bench.command("match")
@click.option("--gallery-size", type=click.IntRange(1, 10_000_000), default=50_000, show_default=True)
@click.option("--repeats", type=click.IntRange(10, 100_000), default=200, show_default=True)
@JSON_OUT
def bench_match_cmd(gallery_size: int, repeats: int, json_path: Path | None) -> None:
    """1:N identification time over a synthetic gallery of GALLERY_SIZE templates."""
    from edge.bench.match import bench_match

    _emit(bench_match(gallery_size, repeats), json_path)


@bench.command("accuracy")
@click.option("--enrolled", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--strangers", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", type=click.Choice(["sface", "dlib", "both"]), default="sface", show_default=True)
@click.option("--enrol-photos", type=click.IntRange(1, 20), default=2, show_default=True)
@click.option("--jitters", type=click.IntRange(1, 100), default=None, help="dlib only: enrolment jitters (default 10).")
@click.option("--alias", "aliases", multiple=True, help="STRANGER=ENROLLED: the same person under two names.")
@click.option(
    "--degrade",
    "degrade",
    multiple=True,
    type=click.Choice(["all", *CONDITION_NAMES]),
    help="Also identify the probes degraded this way (repeatable; 'all': every condition).",
)
@click.option("--no-curve", is_flag=True, help="Skip the threshold sweep.")
@click.option(
    "--fusion",
    type=click.Choice(["nearest", "centroid"]),
    default=None,
    help="How a person's templates are matched (default: the model's own; the other one for an A/B).",
)
@JSON_OUT
def bench_accuracy_cmd(
    enrolled: Path,
    strangers: Path,
    model: str,
    enrol_photos: int,
    jitters: int | None,
    aliases: tuple[str, ...],
    degrade: tuple[str, ...],
    no_curve: bool,
    fusion: Fusion | None,
    json_path: Path | None,
) -> None:
    """The product's enrolment and identification on still photos: what enrolment rejected, correct / wrong person /
    strangers accepted with the default rule (clean and per --degrade condition), and the threshold sweep."""
    from edge.bench.accuracy import curve, enrol_split, identify_all, misses, misses_table, summary, thresholds_for
    from edge.recognition.enroll import EnrolSettings

    alias_map = dict(a.split("=", 1) for a in aliases)
    conditions = list(CONDITION_NAMES) if "all" in degrade else list(dict.fromkeys(degrade))
    out: dict[str, Any] = {"aliases": alias_map}
    names = ["sface", "dlib"] if model == "both" else [model]
    per_model = _jitters(names, jitters)
    for name in names:
        settings = EnrolSettings(jitters=per_model[name], model=name)
        report, probes = enrol_split(enrolled, strangers, enrol_photos, settings)
        gallery = report.gallery if fusion is None else report.gallery.with_fusion(fusion)
        rule = default_rule(name)
        people = set(gallery.people)
        rows: dict[str, Any] = {}
        clean = identify_all(gallery, probes, rule, None)
        rows["clean"] = summary(clean, people, alias_map)
        for condition in conditions:
            rows[condition] = summary(identify_all(gallery, probes, rule, condition), people, alias_map)
        threshold = rule.threshold_for(len(people))
        click.echo(
            f"{name}: {len(people)} people enrolled from {len(report.results)} photos"
            f" ({len(report.rejected)} rejected),"
            f" {sum(p.label is not None for p in probes)} genuine and {sum(p.label is None for p in probes)} stranger"
            f" probes; rule: threshold {threshold:.4f} (cosine {1 - threshold**2 / 2:.3f}) for {len(people)} people,"
            f" margin {rule.margin}; templates matched: {gallery.fusion}",
            err=True,
        )
        for r in report.rejected:
            click.echo(
                f"  rejected at enrolment: {r.status:14s} {r.person_id}/{Path(r.photo).name} {r.detail}", err=True
            )
        for p in report.without_template:
            click.echo(f"  no template: {p.person_id} (their probes are counted apart)", err=True)
        for p in report.single_template:
            click.echo(f"  one template: {p.person_id}", err=True)
        click.echo(
            "\n| condition | correct | wrong person | unknown | no face | strangers accepted |"
            "\n| --- | --- | --- | --- | --- | --- |",
            err=True,
        )
        for cond, r in rows.items():
            click.echo(
                f"| {cond} | {r['correct_pct']} % ({r['correct']}/{r['genuine']}) | {r['wrong_person']} |"
                f" {r['unknown']} | {r['genuine_no_face']} |"
                f" {r['strangers_accepted']}/{r['strangers']} ({r['strangers_accepted_pct']} %) |",
                err=True,
            )
        missed = misses(gallery, clean, report)
        click.echo(misses_table(name, missed), err=True)
        out[name] = {
            "people": len(people),
            "enrolment": {
                "photos": len(report.results),
                "rejected": [rej.__dict__ for rej in report.rejected],
                "without_template": [p.person_id for p in report.without_template],
                "single_template": [p.person_id for p in report.single_template],
            },
            "rule": {"threshold": threshold, "margin": rule.margin, "people": len(people)},
            "template_fusion": gallery.fusion,
            "conditions": rows,
            "missed": missed,
        }
        if not no_curve:
            sweep = curve(gallery, clean, thresholds_for(name), sorted({0.0, rule.margin}), alias_map)
            click.echo("\n| threshold | cosine | margin | correct % | wrong | strangers accepted |", err=True)
            click.echo("| --- | --- | --- | --- | --- | --- |", err=True)
            for row in sweep:
                click.echo(
                    f"| {row['threshold']} | {row['cosine'] if name == 'sface' else ''} | {row['margin']} |"
                    f" {row['correct_pct']} | {row['wrong_person']} | {row['strangers_accepted']}/{row['strangers']} |",
                    err=True,
                )
            out[name]["curve"] = sweep
    _emit(out, json_path)


@bench.command("calibrate")
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=("DATA/enrolled/<person>/*.jpg and DATA/strangers/<person>/*.jpg (e.g. lfw_calib)."),
)
@click.option(
    "--extra",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help=("Another data set of the same layout whose identities grow the gallery (repeatable)."),
)
@click.option("--model", type=click.Choice(["sface", "dlib"]), default="sface", show_default=True)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/tmp/recog-cache"),
    show_default=True,
    help="Where the encoded data sets are kept between runs.",
)
@click.option("--enrol-photos", type=click.IntRange(1, 20), default=2, show_default=True)
@click.option("--alias", "aliases", multiple=True, help="A=B: two names of the same person (never a stranger pair).")
@click.option(
    "--size",
    "sizes",
    multiple=True,
    type=click.IntRange(1, 1_000_000),
    default=(300, 600, 1000, 2000, 5000),
    show_default=True,
    help="Gallery sizes N to report.",
)
@click.option("--target", type=float, default=0.001, show_default=True, help="Stranger-accept rate to meet.")
@click.option(
    "--fusion",
    type=click.Choice(["nearest", "centroid"]),
    default=None,
    help="How a person's templates are matched (default: the model's own; the other one for an A/B).",
)
@JSON_OUT
def bench_calibrate_cmd(
    data: Path,
    extra: tuple[Path, ...],
    model: str,
    cache_dir: Path,
    enrol_photos: int,
    aliases: tuple[str, ...],
    sizes: tuple[int, ...],
    target: float,
    fusion: Fusion | None,
    json_path: Path | None,
) -> None:
    """Stranger-accept rate vs threshold and gallery size N, and the genuine curve, on cached encodings."""
    from edge.bench.calibration import run
    from edge.bench.calibration_report import tables

    alias_map = dict(a.split("=", 1) for a in aliases)
    out = run(data, list(extra), model, cache_dir, enrol_photos, alias_map, list(sizes), target, fusion)
    click.echo(tables(out), err=True)
    _emit(out, json_path)


@bench.command("collector")
@click.option("--events", default=20_000, show_default=True, type=int, help="Check-ins to publish.")
@click.option("--gateways", default=10, show_default=True, type=int, help="Simulated gateways (MQTT clients).")
@click.option(
    "--store",
    "stores",
    multiple=True,
    default=["sqlite"],
    show_default=True,
    help="sqlite | postgresql (a private server) | a store URL; repeat to compare.",
)
@click.option("--collectors", default="1", show_default=True, help="Collector processes, e.g. 1 or 1,2,3.")
@click.option("--rate", default=None, type=float, help="Offered check-ins/s (default: as fast as possible).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def bench_collector_cmd(
    events: int, gateways: int, stores: tuple[str, ...], collectors: str, rate: float | None, json_path: Path | None
) -> None:
    """Check-ins from simulated gateways to collector processes: stored/s, publish->stored latency, lost and
    duplicated (checked in the database), peak RSS of each collector."""
    from edge.bench.collector import bench_collector, table

    counts = [int(c) for c in collectors.split(",")]
    out = bench_collector(events, gateways, list(stores), counts, rate)
    click.echo(table(out), err=True)
    _emit(out, json_path)


@bench.command("gate")
@click.option("--taps", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--replugs", type=click.IntRange(0, 100), default=5, show_default=True)
@JSON_OUT
def bench_gate_cmd(taps: int, replugs: int, json_path: Path | None) -> None:
    """The real firmware in simavr + gateway + Mosquitto: card -> relay, card -> MQTT, reconnect, flash/RAM."""
    from edge.bench.gate import bench_gate

    _emit(bench_gate(taps=taps, replugs=replugs), json_path)


@bench.command("web")
@click.option("--store", default="sqlite", show_default=True, help="sqlite | postgresql (a private server) | a URL.")
@click.option("--students", type=click.IntRange(1, 100_000), default=2000, show_default=True)
@click.option("--days", type=click.IntRange(1, 400), default=180, show_default=True, help="School days of data.")
@click.option("--classes", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--viewers", type=click.IntRange(1, 1000), default=50, show_default=True, help="Live (SSE) viewers.")
@click.option("--samples", type=click.IntRange(1, 10_000), default=40, show_default=True, help="Requests per page.")
@click.option("--sse-events", type=click.IntRange(1, 100_000), default=60, show_default=True)
@JSON_OUT
def bench_web_cmd(
    store: str,
    students: int,
    days: int,
    classes: int,
    viewers: int,
    samples: int,
    sse_events: int,
    json_path: Path | None,
) -> None:
    """The web app with a school year of data: page, API and monthly-report times, live delivery to SSE viewers."""
    from edge.bench.web import bench_web, table

    out = bench_web(store, students, days, classes, viewers, samples, sse_events)
    click.echo(table(out), err=True)
    _emit(out, json_path)


@bench.command("parents")
@click.option(
    "--store",
    "stores",
    multiple=True,
    default=("sqlite",),
    show_default=True,
    help="sqlite | postgresql (a private server) | a URL; repeat it to measure each in one run, side by side.",
)
@click.option("--students", type=click.IntRange(1, 100_000), default=2000, show_default=True)
@click.option("--days", type=click.IntRange(1, 400), default=180, show_default=True, help="School days of data.")
@click.option("--samples", type=click.IntRange(1, 10_000), default=60, show_default=True, help="Parents sampled.")
@JSON_OUT
def bench_parents_cmd(stores: tuple[str, ...], students: int, days: int, samples: int, json_path: Path | None) -> None:
    """The parents' app (/p/) with a school year of data: p50/p95 of its pages, a different parent each request
    (each --store in turn, then one table of them side by side)."""
    from edge.bench.parents import bench_parents, side_by_side, table

    runs = []
    for store in stores:
        out = bench_parents(store, students, days, samples)
        click.echo(table(out), err=True)
        runs.append(out)
    if len(runs) > 1:
        click.echo("\n" + side_by_side(runs), err=True)
    _emit(runs[0] if len(runs) == 1 else {"runs": runs}, json_path)


@bench.command("notify")
@click.option("--students", default=2000, show_default=True, type=click.IntRange(1, 200000))
@click.option("--minutes", default=10.0, show_default=True, type=float, help="The peak's length.")
@click.option("--burst", default=50, show_default=True, type=click.IntRange(1, 10000), help="Check-ins in a burst.")
@click.option("--store", "store_url", default=None, help="postgresql://… to bench PostgreSQL (default: SQLite).")
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--second", type=click.Choice(["sms", "email"]), default="sms", show_default=True,
    help="The second guardian's channel: SMS gateway (vi) or email (en, SMTP with STARTTLS).",
)  # fmt: skip
@click.option("--outage-at", type=float, default=None, help="Seconds into the peak the second channel goes down.")
@click.option("--outage-s", type=float, default=120.0, show_default=True, help="How long it stays down.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")
def bench_notify_cmd(
    students: int,
    minutes: float,
    burst: int,
    store_url: str | None,
    seed: int,
    second: str,
    outage_at: float | None,
    outage_s: float,
    json_path: Path | None,
) -> None:
    """A morning peak: check-in stored → notice accepted by local webhook and SMS/SMTP servers (2 guardians each)."""
    from edge.bench.notify import run_and_print

    run_and_print(students, minutes, burst, store_url, seed, second, outage_at, outage_s, json_path)


@bench.command("push")
@click.option("--students", default=2000, show_default=True, type=click.IntRange(1, 200000))
@click.option("--minutes", default=10.0, show_default=True, type=float, help="The peak's length.")
@click.option("--burst", default=50, show_default=True, type=click.IntRange(1, 10000), help="Check-ins in a burst.")
@click.option("--devices", default=1, show_default=True, type=click.IntRange(1, 10), help="Devices per guardian.")
@click.option("--store", "store_url", default=None, help="postgresql://… to bench PostgreSQL (default: SQLite).")
@click.option("--seed", default=1, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")
def bench_push_cmd(
    students: int, minutes: float, burst: int, devices: int, store_url: str | None, seed: int, json_path: Path | None
) -> None:
    """A morning peak: card tap (check-in stored) → Web Push message accepted by a local push service."""
    from edge.bench.push import run_and_print

    run_and_print(students, minutes, burst, devices, store_url, seed, json_path)


@bench.command("security")
@click.option("--taps", default=200, show_default=True, help="Taps per stack.")
@click.option("--gap-s", default=0.05, show_default=True, help="Pause between rounds.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")
def bench_security_cmd(taps: int, gap_s: float, json_path: Path | None) -> None:
    """Card tap -> stored with and without TLS, side by side; signing/verifying a command."""
    from edge.bench.security import run_and_print

    run_and_print(taps, gap_s, json_path)


@bench.command("state")
@click.option("--store", "store_url", default=None, help="A store URL; default: a fresh SQLite file.")
@click.option("--postgres", is_flag=True, help="A throw-away PostgreSQL (initdb) instead of SQLite.")
@click.option("--rounds", default=20, show_default=True, help="Office edits to time.")
@click.option("--students", default=500, show_default=True, help="Students in the school (the roster's size).")
@click.option("--poll-s", default=1.0, show_default=True, help="The watchers' poll period (SQLite; PG's fallback).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write JSON here.")
def bench_state_cmd(
    store_url: str | None, postgres: bool, rounds: int, students: int, poll_s: float, json_path: Path | None
) -> None:
    """Office edit → in force at the collector, the notifier and a running gateway (p50/p95 ms)."""
    from edge.bench.state import run_and_print

    run_and_print(store_url, postgres, rounds, students, poll_s, json_path)
