"""`edge bench accuracy`: the product's enrolment and identification on still photos, clean and degraded.

Protocol: for each person of ENROLLED the first `enrol_photos` photos (by name) go through `enroll.enroll` — the
code of `edge enroll` and the web app, with its checks: what it rejects (and who ends with no template or one) is
reported, never skipped. Every later photo is a genuine probe; every photo under STRANGERS is a stranger probe.
Each probe goes through `still.identify_still` — the code of `edge identify`: main face, alignment, embedding,
the gallery's rule with the threshold for its size. Correct is counted over the probes of people who have a
template (a person with none cannot be recognised, and is reported as such). `aliases` names strangers known to be
an enrolled person under another name (label errors in the data set): reported, not counted as strangers.
With `conditions` (edge.bench.degrade) the probes are degraded first; enrolment photos stay clean.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.bench.degrade import CONDITIONS
from edge.recognition.backend import get_backend
from edge.recognition.decision import DecisionRule
from edge.recognition.encoder import Encoding, load_image_rgb
from edge.recognition.enroll import ENROL_MAX_WIDTH, EnrolReport, EnrolSettings, enroll, photos_from_folder
from edge.recognition.gallery import Gallery
from edge.recognition.quality import sharpness
from edge.recognition.scores import score_fields, score_kind
from edge.recognition.still import identify_still
from edge.recognition.subject import pick_subject


@dataclass
class Probe:
    label: str | None
    """Enrolled person_id, or None for a stranger."""
    name: str
    path: Path


@dataclass
class Outcome:
    probe: Probe
    person_id: str | None
    nearest: str | None
    distance: float | None
    reason: str
    """The rule's reason, or "no face"."""
    encoding: Encoding | None
    threshold: float | None = None
    """The threshold the probe faced (the rule's for the gallery's size)."""
    face_px: int | None = None
    """Width of the probe's main face (detector box)."""
    sharpness: float | None = None
    """Laplacian variance of the probe's main face (quality.sharpness, as enrolment measures it)."""


def enrol_split(
    enrolled: Path, strangers: Path, enrol_photos: int, settings: EnrolSettings
) -> tuple[EnrolReport, list[Probe]]:
    """Enrol the first photos of each person through the product (a throw-away key and gallery); the probes."""
    people = photos_from_folder(enrolled)
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        report = enroll(
            Path(tmp) / "gallery.npz",
            {p: photos[:enrol_photos] for p, photos in people.items()},
            settings,
            key=os.urandom(32),
        )
    probes = [Probe(p, f"{p}/{ph.name}", ph) for p, photos in people.items() for ph in photos[enrol_photos:]]
    probes += [
        Probe(None, f"{p}/{ph.name}", ph) for p, photos in photos_from_folder(strangers).items() for ph in photos
    ]
    return report, probes


def identify_all(gallery: Gallery, probes: list[Probe], rule: DecisionRule, condition: str | None) -> list[Outcome]:
    backend = get_backend(next(m for m in ("sface", "dlib") if get_backend(m).model_id == gallery.model))
    geometry = get_backend("sface")  # where the face and its landmarks are, for the occlusions (YuNet's points)
    degrade = CONDITIONS[condition] if condition else None
    out = []
    for probe in probes:
        rgb = load_image_rgb(str(probe.path))
        if degrade is not None:
            subject = pick_subject(geometry.detect(rgb, max_width=ENROL_MAX_WIDTH), rgb.shape)
            if subject is not None and subject.face.points is not None:
                rgb = degrade(rgb, subject.face.box, subject.face.points)
        r = identify_still(backend, gallery, rgb, rule)
        ident = r.identification
        if ident is None or r.face is None:
            out.append(Outcome(probe, None, None, None, "no face", None))
        else:
            sharp = sharpness(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), r.face.box)
            out.append(
                Outcome(
                    probe,
                    ident.person_id,
                    ident.nearest,
                    ident.distance,
                    ident.reason,
                    r.encoding,
                    ident.threshold,
                    r.face.width,
                    sharp,
                )
            )
    return out


def misses(gallery: Gallery, outcomes: list[Outcome], report: EnrolReport) -> list[dict[str, Any]]:
    """Every genuine probe of an enrolled person not recognised as that person, with what explains it: its score
    against its own person, the threshold it faced, the nearest other person, the person's enrolment (templates
    kept, photos rejected and why) and the probe's face size and blur."""
    people = {p.person_id: p for p in report.people}
    out = []
    for o in outcomes:
        label = o.probe.label
        if label is None or label not in gallery.people or o.person_id == label:
            continue
        own = gallery.verify(label, o.encoding) if o.encoding is not None else None
        enrolment = people.get(label)
        out.append(
            {
                "probe": o.probe.name,
                "decided": o.person_id,
                "reason": o.reason,
                "own_distance": own,
                "nearest": o.nearest,
                "nearest_distance": o.distance,
                "threshold": o.threshold,
                "templates": enrolment.templates if enrolment else 0,
                "rejected_at_enrolment": [f"{Path(r.photo).name}: {r.status}" for r in enrolment.rejected]
                if enrolment
                else [],
                "face_px": o.face_px,
                "sharpness": None if o.sharpness is None else round(o.sharpness, 1),
            }
        )
    return out


def misses_table(model: str, missed: list[dict[str, Any]]) -> str:
    """`misses` as a markdown table, scores as the model shows them (SFace a similarity, dlib a distance)."""
    kind = score_kind(model)

    def score(d: float | None) -> str:
        value = score_fields(model, d)[kind]
        return "-" if value is None else f"{value:.3f}"

    lines = [
        f"\nMissed genuine probes (clean; scores as {kind}):\n",
        f"| probe | decided | own {kind} | threshold | nearest other | templates (rejected at enrolment) | face px"
        " | sharpness |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in missed:
        person = m["probe"].split("/")[0]
        other = f"{m['nearest']} {score(m['nearest_distance'])}" if m["nearest"] != person else ""
        rejected = f" ({', '.join(m['rejected_at_enrolment'])})" if m["rejected_at_enrolment"] else ""
        lines.append(
            f"| {m['probe']} | {m['decided'] or m['reason']} | {score(m['own_distance'])} | {score(m['threshold'])}"
            f" | {other} | {m['templates']}{rejected} | {m['face_px']} | {m['sharpness']} |"
        )
    return "\n".join(lines)


def summary(outcomes: list[Outcome], people: set[str], aliases: dict[str, str]) -> dict[str, Any]:
    """correct / wrong person / unknown / no face over genuine probes of people with a template; strangers accepted."""
    genuine = [o for o in outcomes if o.probe.label in people]
    orphans = [o for o in outcomes if o.probe.label is not None and o.probe.label not in people]
    strangers = [o for o in outcomes if o.probe.label is None and o.probe.name.split("/")[0] not in aliases]
    correct = sum(o.person_id == o.probe.label for o in genuine)
    wrong = [f"{o.probe.name}->{o.person_id}" for o in genuine if o.person_id and o.person_id != o.probe.label]
    accepted = [f"{o.probe.name}->{o.person_id}" for o in strangers if o.person_id]
    n, s = len(genuine), len(strangers)
    return {
        "genuine": n,
        "correct": correct,
        "correct_pct": round(100 * correct / n, 1) if n else None,
        "wrong_person": len(wrong),
        "wrong": wrong,
        "unknown": sum(o.person_id is None and o.reason != "no face" for o in genuine),
        "genuine_no_face": sum(o.reason == "no face" for o in genuine),
        "strangers": s,
        "strangers_accepted": len(accepted),
        "strangers_accepted_pct": round(100 * len(accepted) / s, 3) if s else None,
        "accepted": accepted,
        "strangers_no_face": sum(o.reason == "no face" for o in strangers),
        "probes_of_people_without_template": len(orphans),
    }


def curve(
    gallery: Gallery, outcomes: list[Outcome], thresholds: list[float], margins: list[float], aliases: dict[str, str]
) -> list[dict[str, Any]]:
    """The same probes' encodings decided again at fixed thresholds (an explicit threshold is not scaled by N)."""
    people = set(gallery.people)
    rows = []
    for margin in margins:
        for t in thresholds:
            rule = DecisionRule(t, margin, per_decade=0.0)
            decided = [
                Outcome(o.probe, gallery.identify(o.encoding, rule).person_id, None, None, "", o.encoding)
                if o.encoding is not None
                else o
                for o in outcomes
            ]
            s = summary(decided, people, aliases)
            rows.append(
                {
                    "threshold": round(t, 4),
                    "cosine": round(1 - t * t / 2, 3),
                    "margin": margin,
                    **{k: s[k] for k in ("correct_pct", "wrong_person", "strangers_accepted", "strangers")},
                    "strangers_accepted_pct": s["strangers_accepted_pct"],
                }
            )
    return rows


def thresholds_for(model: str) -> list[float]:
    """The swept thresholds: dlib 0.40-0.60; SFace cosine 0.40-0.60 as unit-vector distances."""
    if model == "dlib":
        return [round(0.40 + 0.02 * i, 2) for i in range(11)]
    return [round(float(np.sqrt(2 - 2 * c)), 4) for c in np.arange(0.60, 0.395, -0.02)]
