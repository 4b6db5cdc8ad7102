"""Which version rows a reader sees: the one predicate every read of the tree
as of a moment uses (the selectors, and the path lookup, which the selectors
themselves call)."""

from __future__ import annotations

from django.db.models import Q


def visible_at(seq: int | None) -> Q:
    """The live rows (``seq`` None), or the rows valid at clock value ``seq``."""
    if seq is None:
        return Q(valid_to__isnull=True)
    return Q(valid_from__lte=seq) & (Q(valid_to__isnull=True) | Q(valid_to__gt=seq))
