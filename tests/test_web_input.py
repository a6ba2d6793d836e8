"""The web app's small parsers (#10), with hypothesis: the login redirect target never leaves the site, the API's
cursor round-trips and refuses junk with 422, dates and months parse or 422 (never 500); and every interface
key the core templates use has a Vietnamese and an English text."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import HTTPException
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.central import catalogs
from edge.central.web import i18n
from edge.central.web.routes.api import _cursor, _uncursor
from edge.central.web.routes.auth import safe_next
from edge.central.web.routes.common import parse_day, parse_month
from tests.helpers import fuzz_examples

TEMPLATES = Path(__file__).resolve().parent.parent / "edge" / "central" / "web" / "templates"
CORE_TEMPLATES = ("base", "login", "error", "today", "class_day", "student", "gates", "admin_users", "admin_audit")


@settings(max_examples=fuzz_examples(300))
@given(st.text(max_size=80))
def test_safe_next_stays_on_the_site(target: str) -> None:
    out = safe_next(target)
    parts = urlsplit(out)
    assert out.startswith("/") and not out.startswith("//") and "\\" not in out
    assert parts.scheme == "" and parts.netloc == ""


@settings(max_examples=fuzz_examples(300))
@given(
    st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
    st.uuids().map(str),
)
def test_cursor_round_trips(occurred_at: str, event_id: str) -> None:
    assert _uncursor(_cursor(occurred_at, event_id)) == (occurred_at, event_id)


@settings(max_examples=fuzz_examples(300))
@given(st.text(max_size=60))
def test_a_junk_cursor_is_422(text: str) -> None:
    try:
        _uncursor(text)
    except HTTPException as exc:
        assert exc.status_code == 422


@settings(max_examples=fuzz_examples(300))
@given(st.text(max_size=20))
def test_days_and_months_parse_or_422(text: str) -> None:
    for parse in (parse_day, parse_month):
        try:
            out = parse(text, date(2026, 11, 24))
        except HTTPException as exc:
            assert exc.status_code == 422
        else:
            assert isinstance(out, date)


@pytest.mark.parametrize("name", CORE_TEMPLATES)
def test_every_key_of_the_core_templates_is_translated(name: str) -> None:
    text = (TEMPLATES / f"{name}.html").read_text(encoding="utf-8")
    keys = {k for k in re.findall(r"""t\(["']([a-z0-9_.+-]+)["']""", text) if not k.endswith(".")}
    assert keys, name
    missing = sorted(k for k in keys if k not in catalogs.keys("vi") & catalogs.keys("en"))
    assert missing == []


def test_both_languages() -> None:
    assert i18n.translate("vi", "status.late") == "Đi muộn" and i18n.translate("en", "status.late") == "Late"
    assert i18n.translate("en", "login.limited", minutes=3) == "Too many failed logins. Try again in 3 min."
    assert i18n.pick(None) == "vi" and i18n.pick("en") == "en" and i18n.pick("fr") == "vi"
    for key in ("status.present", "status.absent", "status.excused", "status.pending", "status.no_school"):
        vi, en = i18n.translate("vi", key), i18n.translate("en", key)
        assert vi and en and vi != en
