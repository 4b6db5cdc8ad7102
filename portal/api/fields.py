"""Field helpers every domain's serializers share: paths, cursors and page
sizes, with the limits that keep them sane.

Inputs are validated here and nothing else: names, paths and cursors are the
store's to judge (snapshots.paths, snapshots.selectors), so a path is passed on
exactly as sent (no whitespace trimming) and refused there with its reason.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

MAX_PAGE_SIZE = 1000
# A cursor is a few dozen bytes of base64 JSON; anything much longer is not one.
MAX_CURSOR_LENGTH = 2048
# 256 levels of 255-byte names is the deepest valid path (snapshots.paths).
MAX_PATH_LENGTH = 256 * 256
MAX_DATABASE_ID = 2**63 - 1


def path_field(**kwargs: Any) -> serializers.CharField:
    kwargs.setdefault("help_text", "An absolute path in your tree; / is the root. UTF-8.")
    return serializers.CharField(trim_whitespace=False, max_length=MAX_PATH_LENGTH, **kwargs)


def cursor_field() -> serializers.CharField:
    return serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_CURSOR_LENGTH,
        help_text="The next_cursor of the previous page; leave out for the first page.",
    )


def limit_field(default: int) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, default=default, min_value=1, max_value=MAX_PAGE_SIZE, help_text="Items per page."
    )
