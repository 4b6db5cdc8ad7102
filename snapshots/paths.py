"""Paths inside a tenant's tree: absolute, ``/`` is the root, UTF-8 names in NFC."""

from __future__ import annotations

import unicodedata

from snapshots.errors import InvalidPath

MAX_NAME_BYTES = 255
MAX_PATH_DEPTH = 256


def validate_name(name: str) -> str:
    """A valid file or folder name, NFC-normalised, or InvalidPath saying why."""
    if not isinstance(name, str) or name == "":
        raise InvalidPath("A name cannot be empty.")
    name = unicodedata.normalize("NFC", name)
    if "/" in name:
        raise InvalidPath(f"A name cannot contain '/': {name!r}.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidPath("A name cannot contain NUL or other control characters.")
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


def join_path(names: list[str] | tuple[str, ...]) -> str:
    return "/" + "/".join(names)
