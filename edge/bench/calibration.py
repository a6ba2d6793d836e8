"""`edge bench calibrate`: stranger-accept rate vs threshold and gallery size N, and the genuine curve.

Works on a calibration cache (edge.bench.calib_cache: every face of every photo, detected and encoded once by the
product's code). Protocol (docs/recognition.md, "Threshold at school scale"):

* Enrolled people: each person's first `enrol_photos` photos go through `enroll.judge_photo` (the product's
  enrolment checks) and become their templates; the subject (subject.pick_subject) of each later photo is a genuine
  probe. People left with no template are counted, not silently dropped.
* Strangers: the subject of every strangers/ photo is a stranger probe (never enrolled against itself).
* Growing N honestly: a school has more children than the data set has enrolled people. Beyond the real
  enrolled people, a gallery of N is filled with *other* identities: every other stranger of the set (one template,
  its photo) plus the identities of `extra` data sets. A stranger is never in the gallery it is probed against
  (leave-one-out), nor any identity known to be the same person under another name (`aliases`: LFW's label
  errors), so every number is held out. A school's other children are a new draw from the population the pool
  samples: a stranger with k of the M pool identities inside the threshold meets one of them in a gallery of n
  extra identities with probability 1 - (1 - k/M)^n. The gallery holding the real people and the whole pool
  (N = 150 + M) is also counted directly, with no model.
* Each identity's templates are matched as the product matches them (gallery.fuse_templates with the model's
  `template_fusion`: SFace one centroid per person, dlib the nearest template).
* The margin is left out of the stranger curve (margin 0): a margin only removes accepts, so the rates are upper
  bounds; the genuine curve applies the rule with its margin.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.bench.calib_cache import CachedPhoto
from edge.recognition.backend import Fusion
from edge.recognition.encoder import Detection
from edge.recognition.enroll import EnrolSettings, judge_photo
from edge.recognition.gallery import fuse_templates
from edge.recognition.subject import pick_subject

Vec = npt.NDArray[np.float32]


@dataclass
class Calibration:
    people: list[str]
    """Enrolled people with at least one template (the real gallery)."""
    templates: list[Vec]
    """Per real person: the (k, D) vectors matched (fuse_templates of their templates)."""
    without_template: list[str]
    genuine: list[tuple[str, Vec]]
    """(person, embedding) of each genuine probe."""
    strangers: list[tuple[str, Vec]]
    """(identity, embedding) of each stranger probe."""
    pool: list[tuple[str, Vec]] = field(default_factory=list)
    """Other identities a gallery is grown with: (identity, (k, D) vectors matched)."""


def _subject_emb(p: CachedPhoto) -> Vec | None:
    s = pick_subject([f.det for f in p.faces], p.shape)
    if s is None:
        return None
    return next(f.emb for f in p.faces if f.det is s.face)


def _enrol(photos: list[CachedPhoto], settings: EnrolSettings, min_sharp: float) -> list[Vec]:
    out = []
    for p in photos:
        sharp = {id(f.det): f.sharp for f in p.faces}

        def sharpness_of(d: Detection, sharp: dict[int, float] = sharp) -> float:
            return sharp[id(d)]

        _, _, face = judge_photo([f.det for f in p.faces], p.shape, sharpness_of, settings, min_sharp)
        if face is not None:
            out.append(next(f.emb for f in p.faces if f.det is face))
    return out


def split(
    photos: list[CachedPhoto], enrol_photos: int, settings: EnrolSettings, min_sharp: float
) -> tuple[dict[str, list[Vec]], list[str], list[tuple[str, Vec]], list[tuple[str, Vec]]]:
    """(templates per person, people without one, genuine probes, stranger probes) of one cached data set."""
    by_person: dict[str, list[CachedPhoto]] = {}
    strangers = []
    for p in sorted(photos, key=lambda p: p.photo):
        if p.set_name == "enrolled":
            by_person.setdefault(p.person, []).append(p)
        else:
            e = _subject_emb(p)
            if e is not None:
                strangers.append((p.person, e))
    templates: dict[str, list[Vec]] = {}
    without, genuine = [], []
    for person, ps in by_person.items():
        t = _enrol(ps[:enrol_photos], settings, min_sharp)
        if not t:
            without.append(person)
            continue
        templates[person] = t
        for p in ps[enrol_photos:]:
            e = _subject_emb(p)
            if e is not None:
                genuine.append((person, e))
    return templates, without, genuine, strangers


def calibration(
    main: list[CachedPhoto],
    extra: list[list[CachedPhoto]],
    enrol_photos: int = 2,
    settings: EnrolSettings | None = None,
    min_sharp: float = 30.0,
    fusion: Fusion = "nearest",
) -> Calibration:
    settings = settings or EnrolSettings()

    def fused(t: list[Vec] | Vec) -> Vec:
        return fuse_templates(np.stack(list(t)), fusion).astype(np.float32)

    templates, without, genuine, strangers = split(main, enrol_photos, settings, min_sharp)
    people = sorted(templates)
    pool: list[tuple[str, Vec]] = [(name, fused([e])) for name, e in strangers]
    taken = set(people) | {name for name, _ in strangers}
    for photos in extra:
        t2, _, _, s2 = split(photos, enrol_photos, settings, min_sharp)
        pool += [(p, fused(t)) for p, t in t2.items() if p not in taken]
        pool += [(name, fused([e])) for name, e in s2 if name not in taken]
        taken |= set(t2) | {name for name, _ in s2}
    return Calibration(people, [fused(templates[p]) for p in people], without, genuine, strangers, pool)


def _person_sims(queries: Vec, galleries: list[Vec]) -> Vec:
    """(q, P) score 1 - d^2/2 of each query to each identity's nearest vector, d the Euclidean distance the rule
    uses: SFace's cosine similarity (unit vectors); for dlib a monotone stand-in for its distance (d <= t exactly
    when the score >= 1 - t^2/2), so one code path serves both models."""
    if not galleries:
        return np.zeros((len(queries), 0), np.float32)
    rows = np.concatenate(galleries)
    starts = np.cumsum([0] + [len(g) for g in galleries[:-1]])
    d2 = (queries * queries).sum(axis=1)[:, None] + (rows * rows).sum(axis=1)[None, :] - 2.0 * (queries @ rows.T)
    return np.maximum.reduceat(1.0 - np.maximum(d2, 0.0) / 2.0, starts, axis=1)


def miss_all(m: int, k: int, n: int) -> float:
    """Probability that n identities drawn from a population where k in m look like the stranger avoid them all."""
    if k == 0 or n == 0:
        return 1.0
    return (1.0 - k / m) ** n


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a proportion (with 0 hits its upper bound is close to the rule of three, 3/n)."""
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _same(a: str, b: str, aliases: dict[str, str]) -> bool:
    return a == b or aliases.get(a) == b or aliases.get(b) == a


def stranger_curve(
    c: Calibration, cosines: list[float], sizes: list[int], aliases: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Stranger-accept rate (margin 0) for each (threshold as cosine, gallery size N): counted at N = the real
    gallery and N = real + whole pool, modelled (1 - (1 - k/M)^n) for the other sizes."""
    aliases = aliases or {}
    probes = np.stack([e for _, e in c.strangers])
    real = _person_sims(probes, c.templates)
    for i, (name, _) in enumerate(c.strangers):
        for j, person in enumerate(c.people):
            if _same(name, person, aliases):
                real[i, j] = -1.0
    real_best = real.max(axis=1) if c.templates else np.full(len(probes), -1.0)
    pool_names = [name for name, _ in c.pool]
    pool = _person_sims(probes, [t for _, t in c.pool])
    own = np.array([[_same(n, name, aliases) for n in pool_names] for name, _ in c.strangers])
    pool[own] = -1.0  # a stranger is never in its own gallery, under its name or an alias
    m = len(pool_names) - own.sum(axis=1)
    full_n = pool_size(c)
    rows = []
    for cos in cosines:
        real_hit = real_best >= cos
        k = (pool >= cos).sum(axis=1)
        for n_total in sizes:
            extra = max(0, n_total - len(c.people))
            row: dict[str, Any] = {"cosine": cos, "n": n_total, "strangers": len(probes)}
            if extra == 0 or n_total == full_n:
                hit = real_hit | (k > 0) if extra else real_hit
                hits = int(hit.sum())
                row |= {"rate": hits / len(probes), "counted": True, "accepted": hits}
                row["wilson95"] = wilson(hits, len(probes))
            else:
                p = [
                    1.0 if hit else 1.0 - miss_all(int(mi), int(ki), extra)
                    for hit, ki, mi in zip(real_hit, k, m, strict=True)
                ]
                row |= {"rate": float(np.mean(p)), "counted": False}
            rows.append(row)
    return rows


def pool_size(c: Calibration) -> int:
    """The largest gallery counted directly: the real people and every pool identity but the stranger's own."""
    return len(c.people) + len(c.pool) - 1


def genuine_curve(c: Calibration, cosines: list[float], margin: float, with_pool: bool) -> list[dict[str, Any]]:
    """Correct / wrong person / unknown for the genuine probes, against the real gallery or real + whole pool."""
    probes = np.stack([e for _, e in c.genuine])
    labels = np.array([c.people.index(p) for p, _ in c.genuine])
    galleries = c.templates + ([t for _, t in c.pool] if with_pool else [])
    sims = _person_sims(probes, galleries)
    order = np.argsort(-sims, axis=1)[:, :2]
    best = sims[np.arange(len(sims)), order[:, 0]]
    second = sims[np.arange(len(sims)), order[:, 1]] if sims.shape[1] > 1 else np.full(len(sims), -1.0)
    d_best, d_second = np.sqrt(np.maximum(0, 2 - 2 * best)), np.sqrt(np.maximum(0, 2 - 2 * second))
    rows = []
    for cos in cosines:
        accepted = (best >= cos) & (d_second - d_best >= margin)
        correct = int((accepted & (order[:, 0] == labels)).sum())
        wrong = int((accepted & (order[:, 0] != labels)).sum())
        rows.append(
            {
                "cosine": cos,
                "n": len(galleries),
                "correct": correct,
                "wrong": wrong,
                "probes": len(probes),
                "correct_pct": round(100 * correct / len(probes), 1),
            }
        )
    return rows


def fit_rule(
    curve: list[dict[str, Any]], target: float, reference_n: int
) -> tuple[dict[int, float | None], float, float]:
    """The loosest swept cosine meeting `target` at each N, and the line cos = a + b log10(N / reference_n)
    through them (least squares over the N >= reference_n that have one). Returns (per-N, a, b)."""
    by_n: dict[int, float | None] = {}
    for n in sorted({r["n"] for r in curve}):
        ok = [r["cosine"] for r in curve if r["n"] == n and r["rate"] <= target]
        by_n[n] = min(ok) if ok else None
    pts = [(math.log10(n / reference_n), cos) for n, cos in by_n.items() if cos is not None and n >= reference_n]
    if len(pts) < 2:
        return by_n, pts[0][1] if pts else float("nan"), 0.0
    x, y = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    b, a = np.polyfit(x, y, 1)
    return by_n, float(a), float(b)


def stranger_rule_counts(
    c: Calibration, cosines: list[float], margin: float, aliases: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Strangers accepted by the whole rule (threshold as cosine and the margin in distance), counted against the
    real gallery and against real + whole pool (no model)."""
    aliases = aliases or {}
    probes = np.stack([e for _, e in c.strangers])
    names = c.people + [n for n, _ in c.pool]
    sims = _person_sims(probes, c.templates + [t for _, t in c.pool])
    for i, (name, _) in enumerate(c.strangers):
        for j, other in enumerate(names):
            if _same(name, other, aliases):
                sims[i, j] = -1.0
    rows = []
    for label, width in (("real", len(c.people)), ("real+pool", len(names))):
        s = np.sort(sims[:, :width], axis=1)[:, -2:]
        best, second = s[:, 1], s[:, 0]
        d_best, d_second = np.sqrt(np.maximum(0, 2 - 2 * best)), np.sqrt(np.maximum(0, 2 - 2 * second))
        for cos in cosines:
            hits = int(((best >= cos) & (d_second - d_best >= margin)).sum())
            rows.append(
                {
                    "gallery": label,
                    "n": width - (0 if label == "real" else 1),
                    "cosine": cos,
                    "margin": margin,
                    "accepted": hits,
                    "strangers": len(probes),
                    "wilson95": wilson(hits, len(probes)),
                }
            )
    return rows


def run(
    data: Path,
    extra: list[Path],
    model: str,
    cache_dir: Path,
    enrol_photos: int,
    aliases: dict[str, str],
    sizes: list[int],
    target: float,
    fusion: Fusion | None = None,
) -> dict[str, Any]:
    """Everything `edge bench calibrate` prints, from the caches (built first when missing)."""
    from edge.bench import calib_cache
    from edge.recognition.backend import defaults_of, model_id_of
    from edge.recognition.decision import DecisionRule

    def cached(folder: Path) -> list[CachedPhoto]:
        tag = hashlib.sha256(f"{folder.resolve()}\0{model_id_of(model)}".encode()).hexdigest()[:12]
        path = cache_dir / f"{folder.name}-{model}-{tag}.npz"
        if not path.is_file():
            calib_cache.build(folder, model, path)
        return calib_cache.load(path)

    d = defaults_of(model)
    c = calibration(
        cached(data),
        [cached(e) for e in extra],
        enrol_photos,
        EnrolSettings(model=model),
        d.min_sharpness,
        fusion or d.template_fusion,
    )
    full = pool_size(c)
    sizes = sorted({len(c.people), *sizes, full})
    rule = DecisionRule.for_model(model)
    default_cos = {n: round(1 - rule.threshold_for(n) ** 2 / 2, 3 if model == "sface" else 4) for n in sizes}
    if model == "sface":
        grid = {round(float(x), 3) for x in np.arange(0.40, 0.601, 0.01)}
    else:  # dlib: distances 0.36-0.60 as 1 - d^2/2
        grid = {round(1 - float(x) ** 2 / 2, 4) for x in np.arange(0.36, 0.601, 0.02)}
    cosines = sorted(grid | set(default_cos.values()))
    curve = stranger_curve(c, cosines, sizes, aliases)
    by_n, a, b = fit_rule(curve, target, d.reference_people)
    return {
        "model": model,
        "template_fusion": fusion or d.template_fusion,
        "people": len(c.people),
        "without_template": c.without_template,
        "genuine_probes": len(c.genuine),
        "strangers": len(c.strangers),
        "pool_identities": len(c.pool),
        "full_gallery": full,
        "sizes": sizes,
        "default_cosine_at": default_cos,
        "stranger_curve": curve,
        "rule_counts": stranger_rule_counts(c, cosines, rule.margin, aliases),
        "genuine": genuine_curve(c, cosines, rule.margin, with_pool=False),
        "genuine_full_gallery": genuine_curve(c, cosines, rule.margin, with_pool=True),
        "target": target,
        "loosest_cosine_meeting_target": by_n,
        "fit": {"cosine_at_reference": a, "cosine_per_decade": b, "reference_people": d.reference_people},
    }
