"""What a face comparison is called where people read it: a *similarity* where it is one, a *distance* where not.

The decision rule works on Euclidean distances for both models (edge.recognition.decision). SFace's embeddings are
unit vectors, so its distance d is one scale with the cosine similarity the model is known by: cos = 1 - d^2/2
(1.0 the same face, about 0.5 the threshold, 0 unrelated). Logs, `edge identify`, check-in events (schema v2), the
demo and the web pages show that similarity for SFace — higher is closer — and the Euclidean distance for dlib,
whose vectors are not normalised and whose numbers are only a distance — lower is closer.
"""

from __future__ import annotations

from typing import Literal

ScoreKind = Literal["similarity", "distance"]


def score_kind(model: str) -> ScoreKind:
    """'similarity' for models whose distance is a cosine in disguise (unit vectors), 'distance' otherwise."""
    return "similarity" if model == "sface" else "distance"


def similarity(distance: float) -> float:
    """Cosine similarity of two unit vectors at Euclidean distance `distance`."""
    return 1.0 - distance * distance / 2.0


def distance_of_similarity(cosine: float) -> float:
    return float(max(0.0, 2.0 - 2.0 * cosine) ** 0.5)


def score_fields(model: str, distance: float | None) -> dict[str, float | None]:
    """{"similarity": cos} for SFace, {"distance": d} for dlib, rounded to 4 decimals (None stays None)."""
    kind = score_kind(model)
    if distance is None:
        return {kind: None}
    value = similarity(distance) if kind == "similarity" else distance
    return {kind: round(value, 4)}
