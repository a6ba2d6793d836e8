"""`python -m edge.bench.roster_office [--students 2000] [--runs 3]`: time the office's roster files — the export
workbook and CSV of a whole school (register order, Text columns), and the preview of that workbook read back
(Vietnamese headers matched, the Excel-mangling scan, the roster rules) — and print the figures as JSON.

A synthetic school (edge/bench/register.py's Vietnamese names, 40 per class, 10-digit cards with leading zeros,
which the export keeps as Text: the scan must find nothing); no store: the preview's diff is against nothing, as
for a school's first import."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import TypeVar

from edge.bench.register import FAMILY, GIVEN, MIDDLE
from edge.bench.stats import summary
from edge.central.roster_excel import excel_warnings
from edge.central.roster_export import roster_csv, roster_xlsx
from edge.central.roster_import import make_preview, read_table
from edge.config.central import SchoolConfig
from edge.roster import Person


def school(students: int) -> list[Person]:
    out = []
    for i in range(students):
        name = f"{FAMILY[i % len(FAMILY)]} {MIDDLE[i % len(MIDDLE)]} {GIVEN[(i * 7) % len(GIVEN)]}"
        out.append(Person(f"hs{i:05d}", name, f"{6 + (i // 40) % 4}A{i // 160 + 1}", f"00{i:08d}"))
    return out


T = TypeVar("T")


def timed(fn: Callable[[], T], runs: int) -> tuple[list[float], T]:
    ms: list[float] = []
    result = fn()  # warm-up (imports, first allocation), not counted
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    people = school(args.students)
    cfg = SchoolConfig(id="bench", name="Trường Thử")
    xlsx_ms, data = timed(lambda: roster_xlsx(people, "vi"), args.runs)
    csv_ms, _ = timed(lambda: roster_csv(people, "vi"), args.runs)
    table = read_table(data, "roster")
    scan_ms, warnings = timed(lambda: excel_warnings("roster", table), args.runs)
    preview_ms, pv = timed(lambda: make_preview(cfg, data), args.runs)
    assert warnings == [] and pv.ok, (warnings[:3], pv.errors[:3])
    print(json.dumps({
        "students": args.students,
        "export_xlsx_ms": summary(xlsx_ms),
        "export_csv_ms": summary(csv_ms),
        "xlsx_bytes": len(data),
        "excel_scan_ms": summary(scan_ms),
        "preview_of_the_export_ms": summary(preview_ms),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
