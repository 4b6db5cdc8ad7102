"""Paths inside a tenant's tree: absolute, ``/`` is the root, UTF-8 names in NFC."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from snapshots.errors import InvalidPath

MAX_NAME_BYTES = 255
MAX_PATH_DEPTH = 256


# Characters a name may not hold, because a reader cannot see them or they make
# a name read as another (``invoice\u202etxt.exe`` shows as "invoiceexe.txt"):
# control characters (C0, DEL, C1), the bidirectional controls and marks,
# zero-width spaces and the byte-order mark, surrogates (not text on their own)
# and Unicode's noncharacters. The zero-width joiner and non-joiner (U+200D,
# U+200C) stay allowed: Persian, Arabic and Indic words and emoji sequences
# need them, and they cannot reorder a name.
_REFUSED_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0000, 0x001F, "a control character"),
    (0x007F, 0x009F, "a control character"),
    (0x061C, 0x061C, "a bidirectional mark"),
    (0x180E, 0x180E, "a zero-width character"),
    (0x200B, 0x200B, "a zero-width character"),
    (0x200E, 0x200F, "a bidirectional mark"),
    (0x202A, 0x202E, "a bidirectional control"),
    (0x2060, 0x2060, "a zero-width character"),
    (0x2066, 0x2069, "a bidirectional control"),
    (0xD800, 0xDFFF, "a lone surrogate"),
    (0xFDD0, 0xFDEF, "a noncharacter"),
    (0xFEFF, 0xFEFF, "a zero-width character"),
)


def _refused_kind(code_point: int) -> str | None:
    if code_point & 0xFFFE == 0xFFFE:  # U+FFFE, U+FFFF, U+1FFFE, ... U+10FFFF
        return "a noncharacter"
    for first, last, kind in _REFUSED_RANGES:
        if first <= code_point <= last:
            return kind
    return None


def refused_character(name: str) -> str | None:
    """The first character ``name`` may not hold, described by its code point
    ("U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control"), or None."""
    for ch in name:
        kind = _refused_kind(ord(ch))
        if kind is not None:
            label = unicodedata.name(ch, "")
            return f"U+{ord(ch):04X}{' ' + label if label else ''}, {kind}"
    return None


def without_refused_characters(name: str) -> str:
    """``name`` with every character ``refused_character`` names taken out: for
    a name stored before the rule (a download's file name, say), so that a
    right-to-left override never reaches a customer's browser."""
    return "".join(ch for ch in name if _refused_kind(ord(ch)) is None) or "_"


def validate_name(name: str) -> str:
    """A valid file or folder name, NFC-normalised, or InvalidPath saying why."""
    if not isinstance(name, str) or name == "":
        raise InvalidPath("A name cannot be empty.")
    name = unicodedata.normalize("NFC", name)
    if "/" in name:
        raise InvalidPath(f"A name cannot contain '/': {name!r}.")
    refused = refused_character(name)
    if refused is not None:
        raise InvalidPath(f"A name cannot contain {refused}.")
    if name in (".", ".."):
        raise InvalidPath("'.' and '..' are not valid names.")
    if name != name.strip():
        raise InvalidPath("A name cannot begin or end with white space.")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidPath(f"A name can be at most {MAX_NAME_BYTES} bytes in UTF-8.")
    return name


def split_path(path: str) -> list[str]:
    """The validated names of an absolute path; ``/`` is the empty list.

    A trailing slash is accepted; empty segments, '.', '..' and anything that
    would leave the root are refused.
    """
    if not isinstance(path, str) or not path:
        raise InvalidPath("A path is required, e.g. /Reports/2026.pdf.")
    if "\x00" in path:
        raise InvalidPath("A path cannot contain NUL characters.")
    if not path.startswith("/"):
        raise InvalidPath(f"Paths are absolute and start with '/': {path!r}.")
    body = path[1:]
    if body.endswith("/"):
        body = body[:-1]
    if body == "":
        return []
    names = body.split("/")
    if "" in names:
        raise InvalidPath("A path cannot contain empty segments ('//').")
    if len(names) > MAX_PATH_DEPTH:
        raise InvalidPath(f"Paths can be at most {MAX_PATH_DEPTH} folders deep.")
    return [validate_name(name) for name in names]


def join_path(names: Sequence[str]) -> str:
    return "/" + "/".join(names)


def outermost(paths: Sequence[str]) -> list[list[str]]:
    """The chosen items as name lists, each once and in path order, without
    those inside another chosen folder (they come with it)."""
    chosen = {tuple(split_path(path)) for path in paths}
    return [
        list(names) for names in sorted(chosen) if not any(names[:depth] in chosen for depth in range(1, len(names)))
    ]


# A restored item whose name is taken gets the next free of "(restored)",
# "(restored 2)", ... ; 10,000 attempts is far more than any folder holds copies.
MAX_RESTORED_NAMES = 10_000


def restored_name(name: str, *, is_folder: bool, moment: str = "", attempt: int = 1) -> str:
    """The one naming rule for a restored item whose name is taken.

    ``report.pdf`` becomes ``report (restored).pdf``, or ``report (restored
    2026-11-24 10:42).pdf`` when a restore from that moment brings it back;
    ``attempt`` 2 and on add a number: ``report (restored 2).pdf``. A
    folder's name has no extension: ``v1.2`` becomes ``v1.2 (restored)``. The
    stem is shortened, if it must be, so the name stays within 255 bytes.
    """
    label = " ".join(part for part in ("restored", moment, str(attempt) if attempt > 1 else "") if part)
    return _labelled(name, label, is_folder=is_folder)


_COPY_NUMBER = re.compile(r" \((\d{1,6})\)$")


def copy_name(name: str, *, is_folder: bool, attempt: int = 1) -> str:
    """The name a "keep both" upload takes when ``name`` is taken:
    ``report.pdf`` becomes ``report (2).pdf``, then ``report (3).pdf`` for
    ``attempt`` 2, as Dropbox and Finder number copies. A name that is itself
    a numbered copy counts on from its number (``report (2).pdf`` is followed
    by ``report (3).pdf``, never ``report (2) (2).pdf``)."""
    stem, extension = _split_extension(name, is_folder=is_folder)
    numbered = _COPY_NUMBER.search(stem)
    first = 2
    if numbered:
        stem, first = stem[: numbered.start()], int(numbered.group(1)) + 1
    return _labelled(stem + extension, str(first + attempt - 1), is_folder=is_folder)


def _split_extension(name: str, *, is_folder: bool) -> tuple[str, str]:
    """(stem, ".ext"); a folder, a dotfile and a name without a dot have no extension."""
    stem, dot, extension = name.rpartition(".")
    if is_folder or not stem or not dot:
        return name, ""
    return stem, dot + extension


def _labelled(name: str, label: str, *, is_folder: bool) -> str:
    """``name`` with `` (label)`` before its extension, within 255 bytes."""
    stem, extension = _split_extension(name, is_folder=is_folder)
    tail = f" ({label}){extension}"
    if len(tail.encode("utf-8")) >= MAX_NAME_BYTES:  # an "extension" of 200 bytes is no extension
        stem, tail = name, f" ({label})"
    room = MAX_NAME_BYTES - len(tail.encode("utf-8"))
    if len(stem.encode("utf-8")) > room:
        stem = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip() or "_"
    return stem + tail
