"""Vietnamese register order (edge/central/attendance/collation.py): given name first, CLDR Vietnamese collation
(letters, then tones in the order ngang < huyền < hỏi < ngã < sắc < nặng, then case), Đ after D, school order of
classes — and the same order on every list of students the app shows (class day, reports, downloads)."""

from __future__ import annotations

import random
import unicodedata

import pytest

from edge.central.attendance.collation import (
    class_key,
    name_key,
    register_order,
    school_order,
    sorted_classes,
    split_name,
    text_key,
)
from edge.roster import Person


def order(words: list[str]) -> list[str]:
    shuffled = words[:]
    random.Random(7).shuffle(shuffled)
    return sorted(shuffled, key=text_key)


def test_the_vietnamese_alphabet() -> None:
    alphabet = list("aăâbcdđeêghiklmnoôơpqrstuưvxy")
    assert order(alphabet) == alphabet
    upper = [c.upper() for c in alphabet]
    assert order(upper) == upper
    # the Latin letters Vietnamese does not use sit where the Latin alphabet has them
    assert order(["z", "y", "w", "v", "j", "i", "f", "ê"]) == ["ê", "f", "i", "j", "v", "w", "y", "z"]


def test_tones_are_secondary_in_the_standard_order() -> None:
    # ngang < huyền < hỏi < ngã < sắc < nặng, on every vowel that carries them
    for base in ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"):
        toned = [unicodedata.normalize("NFC", base + m) for m in ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")]
        assert order(toned) == toned, base
    # the letters decide before any tone: An < Ân < Anh though Ân has a mark on its first letter
    assert order(["Anh", "Ân", "An", "Ánh", "Ảnh", "Ạnh", "Ăn"]) == ["An", "Anh", "Ảnh", "Ánh", "Ạnh", "Ăn", "Ân"]
    # names that differ only by their tones
    assert order(["Vỹ", "Vy", "Vý", "Vỳ", "Vỵ", "Vỷ"]) == ["Vy", "Vỳ", "Vỷ", "Vỹ", "Vý", "Vỵ"]
    assert order(["Hòa", "Hóa", "Hoa", "Họa", "Hỏa"]) == ["Hoa", "Hòa", "Hỏa", "Hóa", "Họa"]


def test_d_stroke_comes_after_d_and_before_e() -> None:
    assert order(["Đức", "Dũng", "Em", "Duy", "Đạt", "Vinh", "Dương"]) == [
        "Dũng",
        "Duy",
        "Dương",
        "Đạt",
        "Đức",
        "Em",
        "Vinh",
    ]
    assert order(["đào", "Đào", "dao", "Dao"]) == ["dao", "Dao", "đào", "Đào"]  # then lower case before upper


def test_same_text_in_nfc_and_nfd_sorts_the_same() -> None:
    name = "Nguyễn Thị Ngọc Ánh"
    assert text_key(unicodedata.normalize("NFD", name)) == text_key(unicodedata.normalize("NFC", name))
    # "ậ" decomposes as a + dot below + circumflex: still the letter â with a dot below
    assert text_key("ậ") == (text_key("â")[0], (5,), (0,))


def test_given_name_first_then_family_and_middle() -> None:
    assert split_name("  Nguyễn   Thị Minh Anh ") == ("Anh", "Nguyễn Thị Minh")
    assert split_name("Anh") == ("Anh", "") and split_name("") == ("", "")
    names = [
        "Trần Văn Bình",
        "Nguyễn Thị An",
        "Võ An",
        "Lê Văn An",
        "Đặng Quốc Anh",
        "Bùi Ánh",
        "Phạm Thu Đào",
        "Nguyễn Dũng",
        "Trần Ân",
    ]
    assert sorted(names, key=name_key) == [
        "Lê Văn An",  # An: Lê < Nguyễn < Võ (the family name only breaks the tie)
        "Nguyễn Thị An",
        "Võ An",
        "Đặng Quốc Anh",  # Anh after An (one letter more), Ánh after Anh (its tone), Ân after both (its letter)
        "Bùi Ánh",
        "Trần Ân",
        "Trần Văn Bình",
        "Nguyễn Dũng",
        "Phạm Thu Đào",  # Đ after D
    ]
    # a given name sorts before a family name: "Anh" (given) comes before "Bình" though "Nguyễn" > "An"
    assert sorted(["An Bình", "Nguyễn Anh"], key=name_key) == ["Nguyễn Anh", "An Bình"]


def test_classes_in_school_order() -> None:
    assert sorted_classes(["10A1", "6B", "9A", "6A", "10A2", "6A", "11Đ", "11D", "10B"]) == [
        "6A",
        "6B",
        "9A",
        "10A1",
        "10A2",
        "10B",
        "11D",
        "11Đ",
    ]
    assert class_key("6A") < class_key("10A")


def test_people_in_register_and_school_order() -> None:
    people = [
        Person("p3", "Trần Đức", "6A", None),
        Person("p1", "Nguyễn Dũng", "6A", None),
        Person("p2", "Lê Dũng", "6A", None),
        Person("p5", "Lê Dũng", "6A", None),  # a namesake: the person id settles it
        Person("p4", "Hà An", "10A", None),
        Person("p6", "Vũ Anh", "6B", None),
    ]
    assert [p.person_id for p in register_order(people[:4])] == ["p2", "p5", "p1", "p3"]
    assert [p.person_id for p in school_order(people)] == ["p2", "p5", "p1", "p3", "p6", "p4"]


@pytest.mark.parametrize("odd", ["", " ", "O'Brien", "Nguyễn-Lê An", "张伟", "Ü", "3A", "\u0301"])
def test_any_text_has_a_key(odd: str) -> None:
    assert isinstance(text_key(odd), tuple) and name_key(odd) is not None
    assert sorted(["张伟", "Zoe", "An", "1", "-"], key=text_key) == ["-", "1", "An", "Zoe", "张伟"]
