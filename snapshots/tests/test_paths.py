"""Paths and names: the one naming rule of restored items."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapshots.errors import InvalidPath
from snapshots.paths import copy_name, refused_character, restored_name, validate_name, without_refused_characters


@pytest.mark.parametrize(
    ("name", "is_folder", "moment", "attempt", "expected"),
    [
        ("report.pdf", False, "", 1, "report (restored).pdf"),
        ("report.pdf", False, "", 2, "report (restored 2).pdf"),
        ("report.pdf", False, "2026-11-24 10:42", 1, "report (restored 2026-11-24 10:42).pdf"),
        ("report.pdf", False, "2026-11-24 10:42", 3, "report (restored 2026-11-24 10:42 3).pdf"),
        ("archive.tar.gz", False, "", 1, "archive.tar (restored).gz"),
        ("README", False, "", 1, "README (restored)"),
        (".env", False, "", 1, ".env (restored)"),
        # A folder's name has no extension, whatever dots it holds.
        ("v1.2", True, "", 1, "v1.2 (restored)"),
        ("Projects", True, "2026-11-24 10:42", 2, "Projects (restored 2026-11-24 10:42 2)"),
    ],
)
def test_restored_names(name, is_folder, moment, attempt, expected):
    assert restored_name(name, is_folder=is_folder, moment=moment, attempt=attempt) == expected


def test_a_long_name_keeps_its_extension_and_the_label_within_255_bytes():
    restored = restored_name("é" * 125 + ".pdf", is_folder=False, moment="2026-11-24 10:42", attempt=12)
    assert restored.endswith(" (restored 2026-11-24 10:42 12).pdf")
    assert len(restored.encode()) <= 255
    assert restored_name("a." + "x" * 252, is_folder=False).endswith("x (restored)")


@pytest.mark.parametrize(
    ("name", "is_folder", "attempt", "expected"),
    [
        ("report.pdf", False, 1, "report (2).pdf"),
        ("report.pdf", False, 2, "report (3).pdf"),
        # A numbered copy counts on from its own number.
        ("report (2).pdf", False, 1, "report (3).pdf"),
        ("report (9).pdf", False, 3, "report (12).pdf"),
        ("archive.tar.gz", False, 1, "archive.tar (2).gz"),
        ("README", False, 1, "README (2)"),
        (".env", False, 1, ".env (2)"),
        ("v1.2", True, 1, "v1.2 (2)"),
        # Not a copy number: no space before it, or not digits.
        ("model(2).stl", False, 1, "model(2) (2).stl"),
        ("notes (draft).txt", False, 1, "notes (draft) (2).txt"),
    ],
)
def test_copy_names(name, is_folder, attempt, expected):
    assert copy_name(name, is_folder=is_folder, attempt=attempt) == expected


@given(name=st.text(min_size=1, max_size=300).filter(lambda name: _valid(name)), attempt=st.integers(1, 9999))
def test_copy_names_are_valid_distinct_and_never_repeat_across_attempts(name, attempt):
    first = copy_name(name, is_folder=False, attempt=attempt)
    later = copy_name(name, is_folder=False, attempt=attempt + 1)
    assert validate_name(first) == first
    assert first != name
    assert first != later


def _valid(name: str) -> bool:
    try:
        return validate_name(name) == name
    except InvalidPath:
        return False


@given(name=st.text(min_size=1, max_size=300).filter(_valid), is_folder=st.booleans(), attempt=st.integers(1, 9999))
def test_a_restored_name_is_always_a_valid_name_other_than_the_original(name, is_folder, attempt):
    restored = restored_name(name, is_folder=is_folder, moment="2026-11-24 10:42", attempt=attempt)
    assert validate_name(restored) == restored
    assert restored != name


REFUSED_EXAMPLES = [chr(cp) for cp in (0x00, 0x1F, 0x7F, 0x85, 0x9F, 0x061C, 0x200B, 0x200E, 0x202A, 0x202E)] + [
    chr(cp) for cp in (0x2060, 0x2066, 0x2069, 0xFDD0, 0xFDEF, 0xFEFF, 0xFFFE, 0xFFFF, 0x1FFFE, 0x10FFFF)
]


ANY_BUT_SLASH = st.characters(blacklist_categories=("Cs",), blacklist_characters="/")


@given(st.text(ANY_BUT_SLASH, max_size=20), st.sampled_from(REFUSED_EXAMPLES), st.text(ANY_BUT_SLASH, max_size=20))
def test_a_name_holding_a_refused_character_is_refused_naming_its_code_point(before, refused, after):
    with pytest.raises(InvalidPath) as caught:
        validate_name(f"x{before}{refused}{after}x")
    assert "U+" in str(caught.value)


@given(st.text(st.characters(whitelist_categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=40))
def test_visible_text_is_never_refused_for_its_characters(text):
    name = f"a{text}z"
    assert refused_character(name) is None
    assert without_refused_characters(name) == name


@pytest.mark.parametrize("name", ["می\u200cخواهم", "👩\u200d💻 notes", "Zürich Q3.xlsx", "日本語.txt"])
def test_joiners_and_scripts_that_need_them_are_allowed(name):
    assert validate_name(name)


def test_a_download_name_loses_what_the_rule_refuses():
    assert without_refused_characters("invoice\u202etxt.exe") == "invoicetxt.exe"
    assert without_refused_characters("\u200b") == "_"
