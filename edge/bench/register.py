"""`python -m edge.bench.register [--students 40] [--days 22] [--runs 5]`: time the printable register — sorting a
school of 2,000 students in Vietnamese register order (the cost every list of students pays), and rendering one
class's month as a PDF (WeasyPrint) — and print the figures as JSON.

A synthetic class (Vietnamese names, random marks) so the figure is the layout's and the font subsetting's, not a
store's; the web route adds one range-report query (benchmarked by edge/bench/web.py)."""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date, timedelta

from edge.bench.stats import summary
from edge.central.attendance.collation import register_order, school_order, text_key
from edge.central.attendance.register import ClassRegister, Counts, RegisterRow
from edge.roster import Person

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Quốc", "Thu", "Hoàng", "Đức", "Thanh", "Bảo"]
GIVEN = [
    "An",
    "Anh",
    "Ánh",
    "Bình",
    "Châu",
    "Dũng",
    "Đạt",
    "Đức",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hòa",
    "Hùng",
    "Huy",
    "Khánh",
    "Linh",
    "Mai",
    "Minh",
    "Nam",
    "Ngọc",
    "Vy",
    "Yến",
]


def synthetic_register(students: int, days: int, seed: int = 1) -> ClassRegister:
    rng = random.Random(seed)
    people = [
        Person(f"s{i:03d}", f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}", "6A", None)
        for i in range(students)
    ]
    school_days = [d for d in (date(2026, 11, 2) + timedelta(days=i) for i in range(40)) if d.weekday() < 5][:days]
    day_totals = [Counts() for _ in school_days]
    reg = ClassRegister("Trường THCS Bench", "6A", date(2026, 11, 1), "vi", school_days, [], day_totals)
    for n, p in enumerate(register_order(people), start=1):
        totals = Counts()
        marks = []
        for i in range(len(school_days)):
            status = rng.choices(["present", "late", "excused", "absent"], [90, 4, 3, 3])[0]
            marks.append({"late": "M", "excused": "P", "absent": "K"}.get(status, ""))
            for c in (totals, day_totals[i], reg.totals):
                c.add(status)
        reg.rows.append(RegisterRow(n, p, marks, totals))
    return reg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=40)
    ap.add_argument("--days", type=int, default=22)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from edge.central.web.register_pdf import register_pdf

    rng = random.Random(2)
    school = [
        Person(f"p{i}", f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}", f"{6 + i % 4}A", None)
        for i in range(2000)
    ]
    text_key.cache_clear()
    t = time.perf_counter()
    school_order(school)
    sort_cold_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    school_order(school)
    sort_warm_ms = (time.perf_counter() - t) * 1000
    t0 = time.perf_counter()
    reg = synthetic_register(args.students, args.days)
    build_ms = (time.perf_counter() - t0) * 1000
    register_pdf(reg, "vi")  # warm-up: font configuration, imports
    ms, size = [], 0
    for _ in range(args.runs):
        t = time.perf_counter()
        size = len(register_pdf(reg, "vi"))
        ms.append((time.perf_counter() - t) * 1000)
    out = {
        "sort_2000_ms": {"first": round(sort_cold_ms, 1), "cached": round(sort_warm_ms, 1)},
        "students": args.students,
        "days": args.days,
        "build_ms": round(build_ms, 1),
        "pdf_ms": summary(ms),
    }
    print(json.dumps({**out, "pdf_bytes": size}, ensure_ascii=False))


if __name__ == "__main__":
    main()
