"""`edge bench recognition|match|accuracy`: print a table and a JSON document (also written with --json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from edge.recognition.commands import default_rule

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


@bench.command("recognition")
@click.option("--video", required=True, type=PATH)
@click.option("--gallery", "gallery_path", required=True, type=PATH)
@click.option("--truth", "truth_path", type=PATH, default=None, help="*.truth.json of the video.")
@click.option("--threshold", type=float, default=None)
@click.option("--margin", type=float, default=None)
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True, help="Encoder processes.")
@click.option("--no-paced", is_flag=True, help="Skip the real-time run that measures decision latency.")
@click.option("--no-reference", is_flag=True, help="Skip face_recognition's reference loop.")
@click.option("--reference-limit", type=int, default=None, help="Run the reference on the first N frames only.")
@JSON_OUT
def bench_recognition_cmd(
    video: Path,
    gallery_path: Path,
    truth_path: Path | None,
    threshold: float | None,
    margin: float | None,
    workers: int,
    no_paced: bool,
    no_reference: bool,
    reference_limit: int | None,
    json_path: Path | None,
) -> None:
    """The core and face_recognition's own video loop, side by side on VIDEO."""
    from dataclasses import replace

    from rich.console import Console
    from rich.table import Table

    from edge.bench.video import bench_recognition
    from edge.config.model import RecognitionConfig
    from edge.recognition.core import CoreSettings

    rule = default_rule()
    rule = replace(rule, threshold=threshold or rule.threshold, margin=rule.margin if margin is None else margin)
    settings = CoreSettings.from_config(RecognitionConfig())
    out = bench_recognition(
        video,
        gallery_path,
        truth_path,
        rule,
        settings,
        workers=workers,
        paced=not no_paced,
        reference=not no_reference,
        reference_limit=reference_limit,
    )
    table = Table(title=f"recognition on {video.name}")
    table.add_column("")
    table.add_column("core")
    table.add_column("reference (face_recognition loop, tol 0.6)")
    core, ref = out["core"], out.get("reference", {})
    lat, lat_g = core.get("latency_ms", {}), core.get("latency_granted_ms", {})
    rows = [
        ("frames/s", core["fps"], ref.get("fps")),
        ("speed-up", out.get("speedup"), ""),
        (
            "encodings (per pass)",
            f"{core['encodings']} ({core['encodings_per_pass']})",
            f"{ref.get('encodings')} ({ref.get('encodings_per_pass')})",
        ),
        ("decisions", len(core["decisions"]), "per frame"),
        ("latency p50 / p95 ms, all", f"{lat.get('p50')} / {lat.get('p95')}", ""),
        ("latency p50 / p95 ms, granted", f"{lat_g.get('p50')} / {lat_g.get('p95')}", ""),
        ("peak RSS MiB", core["peak_rss_mib"], ref.get("peak_rss_mib")),
    ]
    for key in ("correct", "wrong_person", "strangers_admitted", "decided_twice", "missed"):
        if "truth" in core:
            rows.append((key.replace("_", " "), core["truth"][key], ref.get("truth", {}).get(key, "")))
    for label, a, b in rows:
        table.add_row(label, str(a), "" if b is None else str(b))
    Console(stderr=True).print(table)
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
@click.option("--enrol-photos", type=click.IntRange(1, 20), default=2, show_default=True)
@click.option("--jitters", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--alias", "aliases", multiple=True, help="STRANGER=ENROLLED: the same person under two names.")
@JSON_OUT
def bench_accuracy_cmd(
    enrolled: Path, strangers: Path, enrol_photos: int, jitters: int, aliases: tuple[str, ...], json_path: Path | None
) -> None:
    """Genuine vs stranger curve on still photos (the first ENROL_PHOTOS per person enrolled)."""
    from rich.console import Console
    from rich.table import Table

    from edge.bench.accuracy import build, curve

    alias_map = dict(a.split("=", 1) for a in aliases)
    gallery, probes, no_face = build(enrolled, strangers, enrol_photos, jitters)
    rule = default_rule()
    thresholds = [round(0.40 + 0.02 * i, 2) for i in range(11)]
    rows = curve(gallery, probes, thresholds, sorted({0.0, rule.margin}), alias_map)
    table = Table(title=f"{len(gallery.people)} people, {len(gallery)} templates, jitters {jitters}")
    for col in ("threshold", "margin", "correct %", "misidentified", "strangers accepted", "alias hits"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["threshold"]),
            str(r["margin"]),
            str(r["correct_pct"]),
            str(r["misidentified"]),
            f"{r['strangers_accepted']}/{r['strangers']} ({r['strangers_accepted_pct']} %)",
            str(r["alias_accepted"]),
        )
    Console(stderr=True).print(table)
    _emit({"no_face": no_face, "aliases": alias_map, "default_rule": rule.__dict__, "curve": rows}, json_path)


@bench.command("gate")
@click.option("--taps", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--replugs", type=click.IntRange(0, 100), default=5, show_default=True)
@JSON_OUT
def bench_gate_cmd(taps: int, replugs: int, json_path: Path | None) -> None:
    """The real firmware in simavr + gateway + Mosquitto: card -> relay, card -> MQTT, reconnect, flash/RAM."""
    from edge.bench.gate import bench_gate

    _emit(bench_gate(taps=taps, replugs=replugs), json_path)
