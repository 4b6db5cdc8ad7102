"""Field helpers every domain's serializers share: paths, cursors, page sizes
and strict scalars, with the limits that keep them sane, and the base of every
request body.

Inputs are validated here and nothing else: names, paths and cursors are the
store's to judge (snapshots.paths, snapshots.selectors), so a path is passed on
exactly as sent (no whitespace trimming) and refused there with its reason.
What the schema says a value is, it must be: a number is not a label, a string
is not a boolean, and a body member the operation does not know is refused, not
ignored (the contract test, portal/tests/api/test_schema_contract.py, holds
the schema and these fields to each other).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_PAGE_SIZE = 1000
# A cursor is a few dozen bytes of base64 JSON; anything much longer is not one.
MAX_CURSOR_LENGTH = 2048
# What next_cursor is made of (URL-safe base64, and "d."/"f." before a folder listing's).
CURSOR_PATTERN = r"^[A-Za-z0-9_.=-]*$"
# 256 levels of 255-byte names is the deepest valid path (snapshots.paths).
MAX_PATH_LENGTH = 256 * 256
# A path in a query string travels in the request line, which the server
# bounds at 8,190 bytes (gunicorn.conf.py; 414 beyond): 4,096 characters, as
# PATH_MAX, leaves room for the other parameters.
MAX_QUERY_PATH_LENGTH = 4096
MAX_DATABASE_ID = 2**63 - 1
# Starts with / and holds no NUL (DRF refuses NUL in any string), spelt so that
# Schemathesis' folding of minLength and maxLength into a pattern keeps its
# meaning (it would read "^/" as "slashes only").
PATH_PATTERN = r"^/[^\x00]*$"
# Any other text: no NUL. "+": a blank value is the other branch of the oneOf
# drf-spectacular writes for a field that allows blank.
TEXT_PATTERN = r"^[^\x00]+$"


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would take 0 as "0"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": TEXT_PATTERN})
class TextField(StrictCharField):
    """Free text (a label, a search): a string without NUL, as the schema says."""


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: not "12", not 12.0, not true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean: not "true", not 1."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class PathField(StrictCharField):
    """An absolute path, passed on as sent: the store judges it."""


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": MAX_QUERY_PATH_LENGTH, "pattern": PATH_PATTERN})
class QueryPathField(PathField):
    pass


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": MAX_PATH_LENGTH, "pattern": PATH_PATTERN})
class BodyPathField(PathField):
    pass


def path_field(*, in_query: bool = False, **kwargs: Any) -> PathField:
    kwargs.setdefault("help_text", "An absolute path in your tree; / is the root. UTF-8.")
    if in_query:
        return QueryPathField(trim_whitespace=False, max_length=MAX_QUERY_PATH_LENGTH, **kwargs)
    return BodyPathField(trim_whitespace=False, max_length=MAX_PATH_LENGTH, **kwargs)


def query_path_field(**kwargs: Any) -> PathField:
    return path_field(in_query=True, **kwargs)


# Blank (the first page) or a cursor; drf-spectacular says so as a oneOf of
# the two, which must not overlap, so the cursor's pattern wants a character.
@extend_schema_field({"type": "string", "maxLength": MAX_CURSOR_LENGTH, "pattern": CURSOR_PATTERN.replace("*", "+")})
class CursorField(serializers.RegexField):
    pass


def cursor_field() -> serializers.CharField:
    return CursorField(
        CURSOR_PATTERN,
        required=False,
        allow_blank=True,
        max_length=MAX_CURSOR_LENGTH,
        error_messages={"invalid": "Not a cursor this API made; start again from the first page."},
        help_text="The next_cursor of the previous page; leave out for the first page.",
    )


def limit_field(default: int) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, default=default, min_value=1, max_value=MAX_PAGE_SIZE, help_text="Items per page."
    )


class BodySerializer(serializers.Serializer):
    # A JSON request body: an object with only the members the operation knows
    # (its schema says additionalProperties: false, portal.api.schema). A
    # misspelt member would otherwise be dropped in silence, and the request
    # done without it. (A comment, not a docstring: the schema would show it
    # as the description of every body without a docstring of its own.)

    # Lists of member names of which exactly one must be given (JSON Schema's
    # oneOf of their "required"): the serializer's validate() says it too.
    one_of_required: tuple[tuple[str, ...], ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                known = ", ".join(self.fields) or "none"
                raise serializers.ValidationError(
                    {name: [f"Unknown field; the fields are {known}."] for name in unknown}
                )
        return super().to_internal_value(data)
