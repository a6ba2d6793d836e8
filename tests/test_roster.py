"""Roster CSV loading and lookups in the gateway's SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.roster import RosterError, RosterStore, normalise_card_uid, read_roster_csv


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "roster.csv"
    p.write_text(text)
    return p


def test_demo_roster_loads(demo_data: Path) -> None:
    people = read_roster_csv(demo_data / "roster.csv")
    assert len(people) == 6
    assert {p.person_id for p in people if p.card_uid} == {
        "barack_obama",
        "joe_biden",
        "alex_lacamoire",
        "rose_leslie",
    }


def test_card_uid_is_normalised() -> None:
    assert normalise_card_uid(" 0x0f00a1b2c3 ") == "0F00A1B2C3"
    with pytest.raises(ValueError):
        normalise_card_uid("12345")


def test_problems_reported_with_line_numbers(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "person_id,name,class,card_uid\n"
        "a,Ann,1A,0F00A1B2C3\n"
        "a,Ann again,1A,\n"
        "b,Bob,1A,0f00a1b2c3\n"
        "c,Cid,1A,xyz\n"
        ",NoId,1A,\n"
        "d,Dee,1A,,extra\n",
    )
    with pytest.raises(RosterError) as exc:
        read_roster_csv(p)
    assert exc.value.problems == [
        "line 3: duplicate person_id 'a' (first on line 2)",
        "line 4: duplicate card_uid 0F00A1B2C3 (first on line 2)",
        "line 5: card_uid 'xyz' is not 4 to 10 bytes of hexadecimal (EM4100: 10 digits, MIFARE: 8 or 14)",
        "line 6: person_id and name are required",
        "line 7: more fields than the header has",
    ]


def test_bad_header(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="header must be person_id,name,class"):
        read_roster_csv(write(tmp_path, "id,name\n1,x\n"))


def test_store_lookups_and_reload(tmp_path: Path) -> None:
    store = RosterStore(tmp_path / "gw.sqlite")
    store.replace_all(
        read_roster_csv(write(tmp_path, "person_id,name,class,card_uid\na,Ann,1A,0F00A1B2C3\nb,Bob,1B,\n"))
    )
    assert store.by_card("0F00A1B2C3").person_id == "a"  # type: ignore[union-attr]
    assert store.by_card("0000000000") is None
    assert store.get("b").name == "Bob"  # type: ignore[union-attr]
    store.replace_all(read_roster_csv(write(tmp_path, "person_id,name,class\nc,Cid,2A\n")))
    assert store.count() == 1 and store.by_card("0F00A1B2C3") is None
    store.close()
