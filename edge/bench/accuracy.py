"""`edge bench accuracy`: the genuine / stranger curve on still photos.

Protocol: for each enrolled person the first `enrol_photos` photos (by name) become templates (encoded with
`jitters`), the others are genuine probes; every photo under the strangers folder is an impostor probe
(never enrolled). For each threshold (and margin) the rule is applied to every probe and the table lists:
correct (genuine probe -> right person), misidentified (genuine -> another person), strangers accepted.
`aliases` names strangers known to be an enrolled person under another spelling (label errors in the data
set); they are reported, and excluded from the stranger count.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.recognition.backend import FaceBackend, get_backend, model_id_of
from edge.recognition.decision import DecisionRule, decide
from edge.recognition.encoder import load_image_rgb
from edge.recognition.enroll import ENROL_MAX_WIDTH, photos_from_folder
from edge.recognition.gallery import Gallery, Template


@dataclass
class Probe:
    label: str | None
    """Enrolled person_id, or None for a stranger."""
    name: str
    encoding: npt.NDArray[np.float32]


def _encode(backend: FaceBackend, path: Path, jitters: int) -> npt.NDArray[np.float32] | None:
    rgb = load_image_rgb(str(path))
    faces = sorted(backend.detect(rgb, upsample=1, max_width=ENROL_MAX_WIDTH), key=lambda d: d.width, reverse=True)
    if not faces:
        return None
    return backend.embed(backend.align(rgb, backend.landmarks(rgb, faces[0])), jitters)


def thresholds_for(model: str) -> list[float]:
    """The swept thresholds: dlib 0.40-0.60; SFace cosine 0.30-0.56 as unit-vector distances."""
    if model == "dlib":
        return [round(0.40 + 0.02 * i, 2) for i in range(11)]
    return [round(float(np.sqrt(2 - 2 * c)), 3) for c in np.arange(0.56, 0.295, -0.02)]


def build(
    enrolled: Path, strangers: Path, enrol_photos: int, jitters: int, model: str = "sface"
) -> tuple[Gallery, list[Probe], list[str]]:
    backend = get_backend(model)
    _encode_one = functools.partial(_encode, backend)
    gallery = Gallery(model=model_id_of(model), jitters=jitters)
    probes: list[Probe] = []
    no_face: list[str] = []
    for person, photos in photos_from_folder(enrolled).items():
        templates = []
        for i, photo in enumerate(photos):
            enc = _encode_one(photo, jitters if i < enrol_photos else 1)
            if enc is None:
                no_face.append(str(photo))
            elif i < enrol_photos:
                templates.append(Template(person, f"{person}/{photo.name}", "", enc))
            else:
                probes.append(Probe(person, f"{person}/{photo.name}", enc))
        gallery.set_person(person, templates)
    for person, photos in photos_from_folder(strangers).items():
        for photo in photos:
            enc = _encode_one(photo, 1)
            if enc is None:
                no_face.append(str(photo))
            else:
                probes.append(Probe(None, f"{person}/{photo.name}", enc))
    return gallery, probes, no_face


def curve(
    gallery: Gallery,
    probes: list[Probe],
    thresholds: list[float],
    margins: list[float],
    aliases: dict[str, str],
) -> list[dict[str, Any]]:
    distances = gallery.person_distances(np.stack([p.encoding for p in probes]))
    people = gallery.people
    genuine = sum(p.label is not None for p in probes)
    strangers = sum(p.label is None and p.name.split("/")[0] not in aliases for p in probes)
    rows = []
    for margin in margins:
        for t in thresholds:
            rule = DecisionRule(t, margin)
            correct = mis = accepted = alias_hits = 0
            accepted_names = []
            for probe, d in zip(probes, distances, strict=True):
                person = decide(people, d, rule).person_id
                if person is None:
                    continue
                if probe.label is None:
                    if aliases.get(probe.name.split("/")[0]) == person:
                        alias_hits += 1
                    else:
                        accepted += 1
                        accepted_names.append(f"{probe.name}->{person}")
                elif person == probe.label:
                    correct += 1
                else:
                    mis += 1
            rows.append(
                {
                    "threshold": round(t, 3),
                    "cosine": round(1 - t * t / 2, 3),
                    "margin": margin,
                    "correct_pct": round(100 * correct / genuine, 1) if genuine else None,
                    "misidentified": mis,
                    "strangers_accepted": accepted,
                    "strangers_accepted_pct": round(100 * accepted / strangers, 2) if strangers else None,
                    "alias_accepted": alias_hits,
                    "accepted": accepted_names,
                    "genuine": genuine,
                    "strangers": strangers,
                }
            )
    return rows


def closest_stranger(gallery: Gallery, probes: list[Probe], aliases: dict[str, str]) -> dict[str, Any]:
    """The stranger nearest to anyone enrolled, and the farthest genuine probe from its own person: the
    thresholds between them admit no stranger and, at margin 0, reject no genuine probe closer than that."""
    people = gallery.people
    d = gallery.person_distances(np.stack([p.encoding for p in probes]))
    strangers = [
        (float(row.min()), p.name)
        for p, row in zip(probes, d, strict=True)
        if p.label is None and p.name.split("/")[0] not in aliases
    ]
    genuine = [float(row[people.index(p.label)]) for p, row in zip(probes, d, strict=True) if p.label in people]
    near = min(strangers) if strangers else (None, None)
    return {
        "distance": None if near[0] is None else round(near[0], 4),
        "cosine": None if near[0] is None else round(1 - near[0] ** 2 / 2, 4),
        "probe": near[1],
        "genuine_within_pct": round(100 * sum(g < near[0] for g in genuine) / len(genuine), 1)
        if genuine and near[0] is not None
        else None,
    }
