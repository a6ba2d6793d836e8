"""`edge bench accuracy`: the genuine / stranger curve on still photos.

Protocol: for each enrolled person the first `enrol_photos` photos (by name) become templates (encoded with
`jitters`), the others are genuine probes; every photo under the strangers folder is an impostor probe
(never enrolled). For each threshold (and margin) the rule is applied to every probe and the table lists:
correct (genuine probe -> right person), misidentified (genuine -> another person), strangers accepted.
`aliases` names strangers known to be an enrolled person under another spelling (label errors in the data
set); they are reported, and excluded from the stranger count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.recognition.decision import DecisionRule
from edge.recognition.encoder import detect, encode_faces, load_image_rgb
from edge.recognition.enroll import photos_from_folder
from edge.recognition.gallery import Gallery, Template


@dataclass
class Probe:
    label: str | None
    """Enrolled person_id, or None for a stranger."""
    name: str
    encoding: npt.NDArray[np.float32]


def _encode(path: Path, jitters: int) -> npt.NDArray[np.float32] | None:
    rgb = load_image_rgb(str(path))
    faces = sorted(detect(rgb, upsample=1), key=lambda d: d.width, reverse=True)[:1]
    if not faces:
        return None
    return encode_faces(rgb, [faces[0].box], jitters)[0].encoding


def build(enrolled: Path, strangers: Path, enrol_photos: int, jitters: int) -> tuple[Gallery, list[Probe], list[str]]:
    gallery = Gallery(jitters=jitters)
    probes: list[Probe] = []
    no_face: list[str] = []
    for person, photos in photos_from_folder(enrolled).items():
        templates = []
        for i, photo in enumerate(photos):
            enc = _encode(photo, jitters if i < enrol_photos else 1)
            if enc is None:
                no_face.append(str(photo))
            elif i < enrol_photos:
                templates.append(Template(person, f"{person}/{photo.name}", "", enc))
            else:
                probes.append(Probe(person, f"{person}/{photo.name}", enc))
        gallery.set_person(person, templates)
    for person, photos in photos_from_folder(strangers).items():
        for photo in photos:
            enc = _encode(photo, 1)
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
            from edge.recognition.decision import decide

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
