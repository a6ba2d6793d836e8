"""The tables `edge bench calibrate` prints (markdown, pasted into docs/recognition.md as they are)."""

from __future__ import annotations

from typing import Any


def _pct(x: float) -> str:
    return f"{100 * x:.3f}".rstrip("0").rstrip(".") if x else "0"


def tables(out: dict[str, Any]) -> str:
    sizes: list[int] = out["sizes"]
    full = out["full_gallery"]
    lines = [
        "(score = 1 - d^2/2 of the rule's distance d: SFace's cosine similarity; for dlib only a stand-in, read the"
        " distance column)",
        f"{out['model']} (templates matched: {out['template_fusion']}): {out['people']} people enrolled"
        f" ({len(out['without_template'])} without a template:"
        f" {', '.join(out['without_template']) or 'none'}), {out['genuine_probes']} genuine probes,"
        f" {out['strangers']} strangers, {out['pool_identities']} other identities to grow N (up to {full})",
        "",
        f"Stranger-accept rate, % (margin 0; N = {sizes[0]} and {full} counted, other N modelled as 1 - (1 - k/M)^n):",
        "",
        "| cosine | distance | "
        + " | ".join(f"N = {n}" + (" (counted)" if n in (sizes[0], full) else "") for n in sizes)
        + " |",
        "| --- | --- | " + " | ".join("---" for _ in sizes) + " |",
    ]
    curve = out["stranger_curve"]
    for cos in sorted({r["cosine"] for r in curve}):
        cells = [_pct(r["rate"]) for n in sizes for r in curve if r["cosine"] == cos and r["n"] == n]
        lines.append(f"| {cos:.3f} | {(2 - 2 * cos) ** 0.5:.4f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Strangers accepted by the whole rule (margin in distance), counted, with the 95 % Wilson interval:",
        "",
    ]
    lines += ["| cosine | gallery | N | accepted | rate % | 95 % interval % |", "| --- | --- | --- | --- | --- | --- |"]
    for r in out["rule_counts"]:
        lo, hi = r["wilson95"]
        lines.append(
            f"| {r['cosine']:.3f} | {r['gallery']} | {r['n']} | {r['accepted']}/{r['strangers']} |"
            f" {_pct(r['accepted'] / r['strangers'])} | {_pct(lo)}-{_pct(hi)} |"
        )
    lines += ["", "Genuine probes (one still each, the rule with its margin):", ""]
    lines += [
        f"| cosine | correct % (N = {sizes[0]}) | wrong | correct % (N = {full + 1}) | wrong |",
        "| --- | --- | --- | --- | --- |",
    ]
    for a, b in zip(out["genuine"], out["genuine_full_gallery"], strict=True):
        lines.append(f"| {a['cosine']:.3f} | {a['correct_pct']} | {a['wrong']} | {b['correct_pct']} | {b['wrong']} |")
    fit = out["fit"]
    lines += [
        "",
        f"Loosest swept cosine with stranger-accept <= {_pct(out['target'])} % per N: "
        + ", ".join(f"{n}: {c}" for n, c in out["loosest_cosine_meeting_target"].items()),
        f"Least-squares line: cosine = {fit['cosine_at_reference']:.3f} + {fit['cosine_per_decade']:.3f}"
        f" x log10(N / {fit['reference_people']})",
        "Default rule's threshold (cosine) per N: "
        + ", ".join(f"{n}: {c}" for n, c in out["default_cosine_at"].items()),
    ]
    return "\n".join(lines)
