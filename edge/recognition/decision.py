"""The open-set decision rule, shared by the live gateway, `edge identify` and the benchmarks.

A face (or a track's fused faces) is accepted as person P only when both hold:
  * distance to P <= threshold(N)         (close enough to someone enrolled; N = people in the gallery), and
  * distance to the second-nearest person - distance to P >= margin   (not ambiguous between two people).
Otherwise the answer is "unknown". Distances are Euclidean in the backend's 128-d space (SFace: unit vectors,
cos = 1 - d^2/2); a person's distance is to their centroid (SFace) or nearest template (dlib) — the model's
`template_fusion`, edge.recognition.gallery.fuse_templates — averaged over a track's encodings.
Each model has its own defaults, from its measured curve in docs/recognition.md (`edge bench calibrate`): its
ModelDefaults (sface.SFACE_DEFAULTS, dlib_backend.DLIB_DEFAULTS) are the one place the numbers live. A bare
`DecisionRule()` is the default model's (SFace's) whole rule, taken from SFACE_DEFAULTS, never numbers of its own.

The threshold tightens with the gallery's size: a stranger is compared with every enrolled person, so the chance
that one of them looks like the stranger grows with N. threshold(N) = threshold - per_decade * log10(N /
reference_people) for N > reference_people, unchanged below. `per_decade` is measured per model on lfw_calib's
1,500 strangers (`edge bench calibrate`, docs/recognition.md "Threshold at school scale"); a threshold given
explicitly (config, --threshold) is used as is at every N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from edge.recognition.sface import SFACE_DEFAULTS

if TYPE_CHECKING:
    from edge.config.model import RecognitionConfig

Reason = Literal["match", "too far", "ambiguous", "empty gallery", "too few looks"]


@dataclass(frozen=True)
class DecisionRule:
    threshold: float = SFACE_DEFAULTS.threshold
    margin: float = SFACE_DEFAULTS.margin
    verify_threshold: float = SFACE_DEFAULTS.verify_threshold
    """1:1 verification (card_and_face): the face must be this close to the card holder's templates."""
    per_decade: float = SFACE_DEFAULTS.threshold_per_decade
    """How much the threshold tightens for each tenfold growth of the gallery beyond reference_people (0: a fixed
    threshold, as an explicit one is: `for_model` with a threshold, the benchmarks' sweeps)."""
    reference_people: int = SFACE_DEFAULTS.reference_people

    def threshold_for(self, people: int) -> float:
        """The distance threshold for a gallery of `people` persons (the rule above; never looser than threshold)."""
        if self.per_decade <= 0 or people <= self.reference_people:
            return self.threshold
        return self.threshold - self.per_decade * math.log10(people / self.reference_people)

    @classmethod
    def from_config(cls, rc: RecognitionConfig) -> DecisionRule:
        """The config's values, each left empty taken from the model's measured defaults."""
        return cls.for_model(rc.model, rc.threshold, rc.margin, rc.verify_threshold)

    @classmethod
    def for_model(
        cls, model: str, threshold: float | None = None, margin: float | None = None, verify: float | None = None
    ) -> DecisionRule:
        from edge.recognition.backend import defaults_of

        d = defaults_of(model)
        return cls(
            d.threshold if threshold is None else threshold,
            d.margin if margin is None else margin,
            d.verify_threshold if verify is None else verify,
            d.threshold_per_decade if threshold is None else 0.0,
            d.reference_people,
        )


@dataclass(frozen=True)
class Identification:
    person_id: str | None
    """The accepted person, or None (unknown)."""
    nearest: str | None
    """The nearest person, accepted or not (for logs and benchmarks)."""
    distance: float | None
    second_distance: float | None
    reason: Reason
    threshold: float | None = None
    """The threshold applied (the rule's, for this gallery's size)."""

    @property
    def margin(self) -> float | None:
        if self.distance is None or self.second_distance is None:
            return None
        return self.second_distance - self.distance


def decide(people: list[str], distances: npt.NDArray[np.floating[Any]], rule: DecisionRule) -> Identification:
    """Apply the rule to one distance per person (same order as `people`); the threshold is the rule's for a
    gallery of len(people) persons."""
    if len(people) == 0:
        return Identification(None, None, None, None, "empty gallery")
    if len(people) == 1:
        i, second = 0, float("inf")
    else:
        two = np.argpartition(distances, 1)[:2]
        i, j = (int(two[0]), int(two[1])) if distances[two[0]] <= distances[two[1]] else (int(two[1]), int(two[0]))
        second = float(distances[j])
    best = float(distances[i])
    second_out = None if second == float("inf") else second
    threshold = rule.threshold_for(len(people))
    if best > threshold:
        return Identification(None, people[i], best, second_out, "too far", threshold)
    if second - best < rule.margin:
        return Identification(None, people[i], best, second_out, "ambiguous", threshold)
    return Identification(people[i], people[i], best, second_out, "match", threshold)
