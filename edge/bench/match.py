"""`edge bench match`: 1:N matching time against a synthetic gallery of the requested size."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edge.recognition.decision import DecisionRule
from edge.recognition.gallery import Gallery, Template


def synthetic_gallery(templates: int, per_person: int = 5, seed: int = 1) -> Gallery:
    """Random 128-d vectors with the scale of dlib encodings (norm ~ 1); identity is irrelevant to timing."""
    rng = np.random.default_rng(seed)
    enc = rng.normal(0.0, 1.0 / np.sqrt(128), size=(templates, 128)).astype(np.float32)
    g = Gallery()
    rows = [
        Template(f"p{i // per_person:06d}", f"p{i // per_person:06d}/{i}.jpg", "", enc[i]) for i in range(templates)
    ]
    g._templates = rows
    g._reindex()
    return g


def bench_match(gallery_size: int, repeats: int = 200, track_encodings: int = 3) -> dict[str, Any]:
    t0 = time.perf_counter()
    g = synthetic_gallery(gallery_size)
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(2)
    rule = DecisionRule()
    out: dict[str, Any] = {"templates": len(g), "people": len(g.people), "index_build_s": round(build_s, 3)}
    for k in (1, track_encodings):
        queries = rng.normal(0.0, 1.0 / np.sqrt(128), size=(repeats, k, 128)).astype(np.float32)
        g.identify(queries[0], rule)  # warm-up
        times = []
        for q in queries:
            t = time.perf_counter()
            g.identify(q, rule)
            times.append((time.perf_counter() - t) * 1000)
        out[f"identify_{k}_encodings_ms"] = {
            "p50": round(float(np.percentile(times, 50)), 3),
            "p95": round(float(np.percentile(times, 95)), 3),
            "max": round(max(times), 3),
        }
    return out
