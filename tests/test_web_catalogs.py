"""The interface text as gettext catalogs (#23 item 1): both catalogs complete (no empty or untranslated entry, the
same keys and {fields}, English plurals), every key the code and templates use is in both and every entry is used
(`pybabel extract` with babel.cfg, plus the prefixes of keys built at run time), plural forms by count, the app
refusing to start without compiled catalogs, and every page, download and message of every role (and a parent)
rendered in Vietnamese with no raw key in it."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from edge.central import catalogs
from edge.central.web.app import create_app
from edge.central.web.gates import GateMonitor
from edge.central.web.i18n import translate
from tests.english_support import Leak, leaks
from tests.parents_support import AN_PHONE, AN_PHONE_E164, ParentsSchool, parents_school
from tests.web_support import SCHOOL_MORNING, SITE, USERS, checkin, csrf_from, login

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"t": None, "translate": (2,), "_text": None, "_": None, "gettext": None, "ngettext": (1, 2)}
"""The call names `pybabel extract -k t -k translate:2 -k _text` looks for (README; babel.cfg says where)."""
FIELD = re.compile(r"{(\w+)}")
SKIP = ("/logout", "/static/", "/lang/", "/api/docs", "/openapi.json", "/p/sw.js", "/p/logout")
PER_PATH = 3
"""Pages crawled per path whatever their query (the month switcher links months without end)."""


def _forms(string: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    return (string or "",) if string is None or isinstance(string, str) else tuple(string)


@pytest.mark.parametrize("lang", catalogs.LANGUAGES)
def test_every_entry_is_translated_with_the_fields_of_the_other_language(lang: str) -> None:
    here, other = catalogs.read(lang), catalogs.read("en" if lang == "vi" else "vi")
    assert catalogs.keys(lang) == catalogs.keys("vi") == catalogs.keys("en")
    assert len(catalogs.keys(lang)) > 400
    nplurals = 1 if lang == "vi" else 2
    assert here.num_plurals == nplurals
    for message in here:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        forms = _forms(message.string)
        assert all(f and f != key for f in forms), (lang, key, forms)
        if message.pluralizable:
            assert len(forms) == nplurals, (lang, key)
        twin = other[message.id]
        assert twin is not None, key
        assert {f for s in forms for f in FIELD.findall(s)} == {
            f for s in _forms(twin.string) for f in FIELD.findall(s)
        }, (lang, key)


def _source() -> str:
    files = [p for p in (ROOT / "edge" / "central").rglob("*") if p.suffix in (".py", ".html", ".js") and p.is_file()]
    return "\n".join(p.read_text(encoding="utf-8") for p in files if "locale" not in p.parts)


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_key_used_is_in_both_catalogs_and_every_entry_is_used() -> None:
    keys = catalogs.keys("vi") & catalogs.keys("en")
    extracted = _extracted()
    literal = {k for k in extracted if not k.endswith(".")}
    assert len(literal) > 300, "pybabel extract finds the keys of the code and templates"
    assert sorted(literal - keys) == []
    source = _source()
    # keys built at run time: t("status." ~ s) in templates, t(f"gates.{status}") in Python
    prefixes = set(re.findall(r"""["']([a-z][a-z0-9_]*\.[a-z0-9_.]*)["']\s*[~+]""", source))
    prefixes |= set(re.findall(r"""\bf["']([a-z][a-z0-9_]*\.[a-z0-9_.]*)\{""", source))
    assert {"status.", "download.statuses.", "gates.reason."} <= prefixes

    def used(key: str) -> bool:
        if key in extracted or f'"{key}"' in source or f"'{key}'" in source:
            return True  # a call, or a key handed over as data (navigation's links, the gates' reasons)
        return any(key.startswith(p) and "." not in key[len(p) :] for p in prefixes)

    assert sorted(k for k in keys if not used(k)) == []


def test_a_count_picks_the_plural_form_of_the_language() -> None:
    assert translate("en", "office.excuse_range_done", n=1) == "1 excused day recorded."
    assert translate("en", "office.excuse_range_done", n=4) == "4 excused days recorded."
    assert translate("en", "office.excuse_range_done", n=0) == "0 excused days recorded."
    assert translate("vi", "office.excuse_range_done", n=1) == "Đã ghi 1 ngày vắng có phép."
    assert translate("vi", "office.excuse_range_done", n=4) == "Đã ghi 4 ngày vắng có phép."
    assert translate("en", "gates.reason.gateway_backlog", gateway="gw-1", count=1).endswith(
        "1 check-in stuck in its outbox"
    )
    assert translate("en", "nav.today") == "Today" and translate("fr", "nav.today") == "Hôm nay"
    assert translate("vi", "no.such.key") == "no.such.key"


def test_the_app_refuses_to_start_without_compiled_catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locale = tmp_path / "locale"
    shutil.copytree(catalogs.LOCALE_DIR, locale, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(catalogs, "LOCALE_DIR", locale)
    catalogs.load.cache_clear()
    try:
        with pytest.raises(catalogs.MissingCatalogs, match=r"python -m edge\.central\.catalogs compile"):
            create_app(None)  # type: ignore[arg-type]  # refused before the context is looked at
        assert sorted(p.parent.parent.name for p in catalogs.compile_all()) == ["en", "vi"]
        assert catalogs.compile_all() == [], "compiling again keeps the up-to-date .mo files"
        assert catalogs.text("vi", "nav.today") == "Hôm nay"
    finally:
        catalogs.load.cache_clear()


class _Visible(HTMLParser):
    """A page's words: its text outside <script>/<style> and the attributes a person reads (a button's value, not
    an <option>'s). An element marked translate="no" (HTML's mark for text no translation may touch: names,
    codes, the audit log's recorded values, a gateway's technical message) is data, not interface text: its words
    are in `data`, not `words`."""

    READ = ("title", "placeholder", "aria-label", "alt")
    BUTTONS = ("submit", "button", "reset")

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.data: list[str] = []
        self.links: list[str] = []
        self.ids: list[str] = []
        self._hidden = 0
        self._kept: list[tuple[str, int]] = []  # (tag, nesting of that tag) of the open translate="no" elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        if self._kept and self._kept[-1][0] == tag:
            self._kept[-1] = (tag, self._kept[-1][1] + 1)
        as_dict = dict(attrs)
        if as_dict.get("id"):
            self.ids.append(str(as_dict["id"]))
        if as_dict.get("translate") == "no" and tag not in ("input", "br", "img", "meta"):
            self._kept.append((tag, 1))
        out = self.data if self._kept or as_dict.get("translate") == "no" else self.words
        for name, value in attrs:
            if value and (name in self.READ or (name == "value" and as_dict.get("type") in self.BUTTONS)):
                out.append(value)
            if value and name == "href" and value.startswith("/"):
                self.links.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1
        if self._kept and self._kept[-1][0] == tag:
            depth = self._kept[-1][1] - 1
            if depth:
                self._kept[-1] = (tag, depth)
            else:
                self._kept.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            (self.data if self._kept else self.words).append(data)


def _raw_key_pattern() -> re.Pattern[str]:
    spaces = sorted({k.split(".")[0] for k in catalogs.keys("vi")})
    return re.compile(r"\b(?:" + "|".join(map(re.escape, spaces)) + r")\.[a-z0-9_]+(?:\.[a-z0-9_+]+)*")


def _words_of(response: Any) -> tuple[str, list[str]]:
    """(the words of a response, the links of a page) by what it is: a page, a CSV, a workbook or a PDF."""
    kind = response.headers.get("content-type", "")
    if "text/html" in kind:
        page = _Visible()
        page.feed(response.text)
        twice = sorted({i for i in page.ids if page.ids.count(i) > 1})
        assert twice == [], f"{response.url}: an id given twice (a block pasted twice?): {twice}"
        return "\n".join(page.words), page.links
    if "text/csv" in kind:
        return str(response.text), []
    if "spreadsheetml" in kind:
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        cells = [str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v]
        return "\n".join([*book.sheetnames, *cells]), []
    if "pdf" in kind:
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages), []
    return "", []


def _crawl(c: TestClient, start: list[str]) -> Iterator[tuple[str, int, str]]:
    """Every page reachable by links from `start`: (url, status, words)."""
    seen: set[str] = set()
    per_path: dict[str, int] = {}
    todo = deque(start)
    while todo:
        url = todo.popleft()
        path = urlsplit(url).path
        if url in seen or path.startswith(SKIP) or per_path.get(path, 0) >= PER_PATH:
            continue
        seen.add(url)
        per_path[path] = per_path.get(path, 0) + 1
        r = c.get(url)
        words, links = _words_of(r)
        yield url, r.status_code, words
        todo.extend(link.split("#")[0] for link in links)


@pytest.fixture
def school(tmp_path: Path) -> Iterator[ParentsSchool]:
    with parents_school(tmp_path) as s:
        s.ctx.store.insert(checkin("an", SCHOOL_MORNING))
        s.ctx.store.insert(checkin("binh", SCHOOL_MORNING.replace(hour=1), method="face"))
        s.ctx.db.execute(  # a notice sent to An's guardian: the class day lists it (kind → channel: status)
            "INSERT INTO notify_jobs (key, site_id, person_id, day, kind, guardian_id, channel, language, template, "
            "time, text, subject, status, created_at, next_at, sent_at) "
            "VALUES ('k-1', ?, 'an', '2026-11-24', 'arrived', 'g-an', 'sms', 'vi', 'arrived', '07:30', 'x', '', "
            "'sent', 0, 0, ?)",
            (SITE, SCHOOL_MORNING.timestamp()),
        )
        yield s


def test_every_page_download_and_message_of_every_role_is_in_vietnamese(school: ParentsSchool) -> None:
    raw = _raw_key_pattern()
    seen_by_role: dict[str, int] = {}
    problems: list[tuple[str, str, str]] = []
    english: list[tuple[str, str, Leak]] = []
    for role in [*USERS, "parent"]:
        with TestClient(school.app) as c:
            c.cookies.set("edge_lang", "vi")
            if role == "parent":
                page = c.get("/p/login")
                sent = c.post("/p/login", data={"address": AN_PHONE, "csrf_token": csrf_from(page.text)})
                code = school.last_code(AN_PHONE_E164)
                c.post(
                    "/p/login/code", data={"address": AN_PHONE_E164, "code": code, "csrf_token": csrf_from(sent.text)}
                )
                start = ["/p/"]
            else:
                assert login(c, role).status_code == 303
                start = ["/", f"/s/{SITE}/reports/download.csv", f"/s/{SITE}/reports/download.xlsx"]
            pages = 0
            for url, status, text in _crawl(c, start):
                assert status < 500, url
                pages += 1
                problems += [(role, url, m) for m in raw.findall(text)]
                english += [(role, url, m) for m in leaks(text)]
                assert text.strip() or status != 200 or url.endswith((".json", ".webmanifest")), url
            seen_by_role[role] = pages
    assert problems == []
    assert [(role, url, str(leak)) for role, url, leak in english] == []
    assert seen_by_role["office"] > 10 and seen_by_role["teacher6a"] > 3 and seen_by_role["parent"] > 2, seen_by_role


def test_the_messages_of_errors_and_refusals_are_in_vietnamese(school: ParentsSchool) -> None:
    with TestClient(school.app) as c:
        page = c.get("/login")
        failed = c.post("/login", data={"username": "office", "password": "wrong", "csrf_token": csrf_from(page.text)})
        assert translate("vi", "login.failed") in failed.text
        assert login(c, "teacher6a").status_code == 303
        assert translate("vi", "error.403") in c.get(f"/s/{SITE}/class/6B").text
        assert translate("vi", "error.404") in c.get(f"/s/{SITE}/student/nobody").text
        raw = _raw_key_pattern()
        assert raw.findall(failed.text + c.get(f"/s/{SITE}/class/6B").text) == []


def test_jinja2s_i18n_extension_speaks_the_language_of_the_page() -> None:
    from edge.central.web.deps import templates

    page = templates.env.from_string(
        '{{ _("nav.today") }} | {{ ngettext("office.excuse_range_done", "office.excuse_range_done", n) }}'
        " | {% trans %}Plain{% endtrans %}"
    )
    assert page.render(lang="vi", n=1) == "Hôm nay | Đã ghi 1 ngày vắng có phép. | Plain"
    assert page.render(lang="en", n=1) == "Today | 1 excused day recorded. | Plain"
    assert page.render(lang="en", n=2) == "Today | 2 excused days recorded. | Plain"


def test_the_messages_of_forms_refused_are_in_vietnamese_words(school: ParentsSchool) -> None:
    """What the office reads after a refused form — the roster rules' sentences, a refused excuse, a calendar
    change, a report range — in Vietnamese, with no English word in it."""
    with TestClient(school.app) as c:
        c.cookies.set("edge_lang", "vi")
        assert login(c, "office").status_code == 303
        token = csrf_from(c.get(f"/s/{SITE}/roster").text)
        bad_roster = "Mã HS,Họ tên,Ghi chú\nan,An,x\n".encode()
        said: list[tuple[str, Any, str]] = [
            (
                "roster header",
                c.post(
                    f"/s/{SITE}/roster/preview",
                    data={"csrf_token": token},
                    files={"roster": ("roster.csv", bad_roster, "text/csv")},
                ),
                translate("vi", "roster.msg.missing_columns", columns="Lớp"),
            ),
            (
                "unreadable file",
                c.post(
                    f"/s/{SITE}/roster/preview",
                    data={"csrf_token": token},
                    files={"roster": ("roster.csv", b"\x00\x01\x02binary", "text/csv")},
                ),
                translate("vi", "roster.msg.binary"),
            ),
            (
                "future excuse",
                c.post(
                    f"/s/{SITE}/class/6A/excuse",
                    data={"csrf_token": token, "person_id": "an", "day": "2027-01-05", "reason": "ốm"},
                ),
                translate("vi", "error.future_day"),
            ),
            (
                "report range",
                c.get(f"/s/{SITE}/reports?from=2026-11-20&to=2026-11-16"),
                translate("vi", "reports.err.ends_before"),
            ),
            (
                "calendar time",
                c.post(
                    f"/s/{SITE}/calendar/times",
                    data={"csrf_token": token, "scope": "school", "cutoff": "25:99", "dismissal": ""},
                ),
                translate("vi", "office.cal_bad_time", value="25:99"),
            ),
        ]
        raw = _raw_key_pattern()
        for what, response, words in said:
            assert 400 <= response.status_code < 500, (what, response.status_code)
            text, _links = _words_of(response)
            assert words in text, (what, words, text)
            assert raw.findall(text) == [], what
            assert [str(leak) for leak in leaks(text)] == [], what


def test_a_tap_on_today_is_said_with_the_gates_configured_name(school: ParentsSchool) -> None:
    with TestClient(school.app) as c:
        assert login(c, "office").status_code == 303
        for lang in catalogs.LANGUAGES:
            c.cookies.set("edge_lang", lang)
            said = " · ".join(
                (
                    translate(lang, "today.dir.in"),
                    translate(lang, "method.card"),
                    "cổng chính" if lang == "vi" else "main gate",
                )
            )
            assert said in c.get(f"/s/{SITE}/today").text, lang


def test_the_gates_page_says_a_gateways_alarms_in_vietnamese(school: ParentsSchool) -> None:
    """A gateway's health and device alarms (English lines from the gateway) on the Gates page: the alarm in words
    with its gate, the gateway's measurement kept as technical detail (translate="no")."""
    monitor = GateMonitor("127.0.0.1", 1, "web-x", None, site_id=SITE)
    base = f"edge/v1/{SITE}/gw-9"
    monitor.handle(f"{base}/status", b"online", now=100.0)
    alarms = ["outbox_over_cap: 120 check-ins / 64 KiB waiting (none dropped; is the broker or the collector down?)"]
    monitor.handle(f"{base}/health", json.dumps({"version": "1.2", "alarms": alarms}).encode())
    held = {"kind": "alarm", "name": "door_held_open", "controller": "ctl-1", "gate": "main-in", "active": True}
    monitor.handle(f"{base}/device", json.dumps(held).encode())
    school.ctx.gates = monitor
    with TestClient(school.app) as c:
        c.cookies.set("edge_lang", "vi")
        assert login(c, "admin").status_code == 303
        page = c.get(f"/s/{SITE}/gates")
        text, _links = _words_of(page)
        assert translate("vi", "gates.alarm_name.outbox_over_cap") in text
        assert (
            translate("vi", "gates.alarm_at", alarm=translate("vi", "gates.alarm_name.door_held_open"), gate="main-in")
            in text
        )
        assert "120 check-ins" in page.text, "the measurement is still on the page"
        assert [str(leak) for leak in leaks(text)] == []
