"""Shared by the calendar and export tests: a centre whose school s1 has terms, holidays and per-grade and
per-class cut-offs."""

from __future__ import annotations

CENTRAL = """\
schools:
  - id: s1
    name: Trường A
    timezone: Asia/Ho_Chi_Minh
    calendar:
      weekdays: [mon, tue, wed, thu, fri, sat]
      terms:
        - {name: T1, start: 2026-09-05, end: 2027-01-16}
        - {name: T2, start: "2027-01-25", end: 2027-05-29}
      holidays:
        - {name: New year, start: 2027-01-01}
        - {name: Tet, start: 2027-02-08, end: 2027-02-19}
      cutoff: "07:15"
      dismissal: "16:30"
      grades:
        "6": {cutoff: "07:00", dismissal: "11:00"}
      classes:
        "6A": {cutoff: "07:30"}
"""
