"""guardians.csv: parsed, validated with line numbers, phones in E.164; hypothesis fuzzing of the parser."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.central.guardians import (
    Guardian,
    GuardiansError,
    by_student,
    normalise_phone,
    parse_guardians,
    read_guardians,
)
from tests.helpers import fuzz_examples

CHANNELS = {"sms": "sms_http", "mail": "email", "app": "webhook", "push": "mqtt"}
PEOPLE = {"minh_anh", "bao_ngoc", "an"}
HEADER = "person_id,name,phone,email,channel,language,kinds\n"


def parse(text: str) -> list[Guardian]:
    return parse_guardians(text, channels=CHANNELS, people=PEOPLE)


def problems(text: str) -> list[str]:
    with pytest.raises(GuardiansError) as exc:
        parse(text)
    return exc.value.problems


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("(028) 3829 1234", "+842838291234"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12", "0912 345", "call me", "+84 000 000 000", ""])
def test_bad_phone(raw: str) -> None:
    with pytest.raises(ValueError, match="phone"):
        normalise_phone(raw)


def test_parse_valid_file(tmp_path: Path) -> None:
    text = (
        "\ufeff"
        + HEADER
        + "minh_anh,Nguyễn Văn Bình,0912 345 678,,sms,vi,arrived;absent;left\n"
        + "minh_anh,Jane Doe,,jane@example.com,mail,en,\n"
        + "\n"
        + 'bao_ngoc,"Trần, Thị C",,,app,,absent\n'
    )
    path = tmp_path / "guardians.csv"
    path.write_text(text, encoding="utf-8")
    gs = read_guardians(path, channels=CHANNELS, people=PEOPLE)
    assert [g.guardian_id for g in gs] == ["minh_anh-g1", "minh_anh-g2", "bao_ngoc-g1"]
    assert gs[0].phone == "+84912345678" and gs[0].kinds == {"arrived", "absent", "left"} and gs[0].language == "vi"
    assert gs[1].email == "jane@example.com" and gs[1].kinds == {"arrived", "absent"} and gs[1].language == "en"
    assert gs[2].name == "Trần, Thị C" and gs[2].language == "vi" and gs[2].kinds == {"absent"}
    assert sorted(by_student(gs)) == ["bao_ngoc", "minh_anh"]


def test_every_bad_line_reported_with_its_number() -> None:
    text = (
        HEADER
        + "minh_anh,Bình,0912 345 678,,sms,vi,arrived\n"  # 2 ok
        + "ghost,Nobody,0912 345 678,,sms,vi,\n"  # 3 not in roster
        + "an,A,12345,,sms,vi,\n"  # 4 bad phone
        + "an,A,,,sms,vi,\n"  # 5 sms without phone
        + "an,A,,not-an-address,mail,vi,\n"  # 6 bad email
        + "an,A,,,mail,vi,\n"  # 7 email channel without email
        + "an,A,,,fax,vi,\n"  # 8 unknown channel
        + "an,A,,,app,fr,\n"  # 9 unknown language
        + "an,A,,,app,vi,arrived;teleported\n"  # 10 unknown kind
        + "an,A,,,app\n"  # 11 too few fields
        + ",,,,app,vi,\n"  # 12 empty person and name
    )
    found = problems(text)
    assert found[0].startswith("line 3: person_id 'ghost' is not in the roster")
    assert found[1].startswith("line 4: phone '12345'")
    assert found[2] == "line 5: channel 'sms' sends SMS: phone is required"
    assert found[3] == "line 6: email 'not-an-address' is not an address"
    assert found[4] == "line 7: channel 'mail' sends email: email is required"
    assert found[5] == "line 8: channel 'fax' is not one of this school's channels ['app', 'mail', 'push', 'sms']"
    assert found[6] == "line 9: language 'fr' is not one of ['vi', 'en']"
    assert found[7] == "line 10: kinds ['teleported'] unknown; use arrived;left;absent"
    assert found[8] == "line 11: 5 fields, the header has 7"
    assert found[9:] == ["line 12: person_id is empty", "line 12: name is empty"]


def test_header_and_ids() -> None:
    assert problems("person_id,name\n")[0].startswith("line 1: header must be person_id,name,phone,email,channel")
    assert "unknown ['colour']" in problems("person_id,name,channel,colour\n")[0]
    assert "repeated ['name']" in problems("person_id,name,name,channel\n")[0]
    assert problems("")[0].startswith("line 1: the file is empty")
    dup = "person_id,name,channel,guardian_id\nan,A,app,g-1\nminh_anh,B,app,g-1\n"
    assert problems(dup) == ["line 3: guardian_id 'g-1' already on line 2"]
    assert "must be letters" in problems("person_id,name,channel,guardian_id\nan,A,app,g/1\n")[0]
    # a multi-line quoted name: refused (a line break reaches e-mail headers) at the line where the row ends, and
    # the next row is still checked at its own line
    multi = 'person_id,name,channel\nan,"A\nB",app\nghost,C,app\n'
    assert problems(multi) == [
        "line 3: name holds a control character (U+000A) at position 2: remove it and upload again",
        "line 4: person_id 'ghost' is not in the roster",
    ]


def test_unclosed_quote_and_huge_field() -> None:
    found = problems(HEADER + 'an,"never closed,,,app,vi,\n' + "an,A,,,app,vi,\n" * 3)
    assert len(found) == 1 and found[0].startswith("line 5:")
    huge = HEADER + "an," + "x" * 5000 + ",,,app,vi,\n"
    assert problems(huge) == ["line 2: name longer than 1000 characters"]
    giant = HEADER + 'an,"' + "x" * 200_000 + '",,,app,vi,\n'
    assert "not valid CSV" in problems(giant)[0]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes(HEADER.encode() + "an,Bình,,,app,vi,\n".encode("utf-16"))
    with pytest.raises(GuardiansError, match="not UTF-8"):
        read_guardians(path, channels=CHANNELS)
    with pytest.raises(GuardiansError, match="cannot read"):
        read_guardians(tmp_path / "missing.csv", channels=CHANNELS)


# fuzzing ---------------------------------------------------------------------------------------------------
FUZZ = settings(max_examples=fuzz_examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=3000))
def test_any_text_is_parsed_or_reported(text: str) -> None:
    try:
        gs = parse_guardians(text, channels=CHANNELS)
    except GuardiansError as exc:
        assert exc.problems and all(p.startswith("line ") for p in exc.problems)
    else:
        assert all(g.channel in CHANNELS for g in gs)


@FUZZ
@given(st.lists(st.lists(st.text(max_size=30), min_size=0, max_size=9), max_size=30))
def test_any_csv_rows_are_parsed_or_reported(rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows([list(HEADER.strip().split(",")), *rows])
    try:
        parse_guardians(buf.getvalue(), channels=CHANNELS, people=PEOPLE)
    except GuardiansError as exc:
        assert all(p.startswith("line ") for p in exc.problems)


NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40)
VALID_ROW = st.fixed_dictionaries(
    {
        "person_id": st.sampled_from(sorted(PEOPLE)),
        "name": NAMES.filter(lambda s: s.strip() == s and s),
        "phone": st.sampled_from(["", "0912 345 678", "+84 98 765 43 21", "024 3825 1234"]),
        "channel": st.sampled_from(["app", "push"]),
        "language": st.sampled_from(["", "vi", "en"]),
        "kinds": st.lists(st.sampled_from(["arrived", "left", "absent"]), min_size=1, unique=True).map(";".join),
    }
)


@FUZZ
@given(st.lists(VALID_ROW, max_size=40))
def test_valid_rows_round_trip(rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[*HEADER.strip().split(",")], extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "email": ""})
    gs = parse(buf.getvalue())
    assert len(gs) == len(rows)
    for g, r in zip(gs, rows, strict=True):
        assert (g.person_id, g.name, g.channel) == (r["person_id"], r["name"], r["channel"])
        assert g.language == (r["language"] or "vi")
        assert g.kinds == set(r["kinds"].split(";"))
        assert (g.phone is None) == (r["phone"] == "") and (g.phone is None or g.phone.startswith("+84"))
    assert len({g.guardian_id for g in gs}) == len(gs)


@settings(max_examples=fuzz_examples(20), deadline=None)
@given(st.integers(min_value=1000, max_value=20000))
def test_large_files(n: int) -> None:
    text = HEADER + "an,A,0912 345 678,,app,vi,\n" * n
    assert len(parse(text)) == n


def test_example_files_load() -> None:
    """central.yaml and docs/guardians.example.csv, as the README shows them, load with the demo roster."""
    from edge.central.notify.directory import load_directories
    from edge.config.central import load_central_config

    repo = Path(__file__).resolve().parent.parent
    d = load_directories(load_central_config(repo / "central.yaml", env={}))["demo-school"]
    assert [g.phone for g in d.guardians["barack_obama"]] == ["+84912345678", None]
    assert d.guardians["joe_biden"][0].kinds == {"absent"}
