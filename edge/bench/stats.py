"""Summaries of measured values for the benchmarks' JSON: one definition of p50 / p95 for every bench."""

from __future__ import annotations

import numpy as np


def summary(values: list[float], digits: int = 1) -> dict[str, float | int | None]:
    """n, p50, p95 (linear interpolation, numpy's default), max and mean, rounded; None for an empty list."""

    def r(x: float | None) -> float | None:
        return None if x is None else round(float(x), digits)

    return {
        "n": len(values),
        "p50": r(float(np.percentile(values, 50))) if values else None,
        "p95": r(float(np.percentile(values, 95))) if values else None,
        "max": r(max(values, default=None)),
        "mean": r(float(np.mean(values))) if values else None,
    }
