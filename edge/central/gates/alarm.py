"""The "gates down" alarm: are a school's gates down NOW? The notifier logs the change and exports it as a metric;
the web app shows it on every office page. Same evidence and rules as the held batches (judge.py), over the last
few minutes only, and only what is still wrong (a gap that has closed is history, not an alarm)."""

from __future__ import annotations

from edge.central.gates import holds
from edge.central.gates.evidence import DbTx, load
from edge.central.gates.judge import Rules, Verdict, judge

OPEN_GAPS = ("collector_down", "gateway_down")


def gates_now(tx: DbTx, site_id: str, rules: Rules, now: float) -> Verdict:
    ev = load(tx, site_id, now - 3 * rules.max_gap_s, "9999")  # check-ins are not asked about here
    verdict = judge(ev, holds.registered_gateways(tx, site_id), rules, now, expect_checkins=False)
    return Verdict([r for r in verdict.reasons if r.code not in OPEN_GAPS or r.until is None])
