"""What a restore does with one item, given what holds its name today: the
conflict rule, as a pure function of the item's kind, the policy and the
occupant. The planner asks it for every item; nothing here reads or writes."""

from __future__ import annotations

from enum import StrEnum

from snapshots.models import Node, RestoreJob


class RestoreAction(StrEnum):
    """What happens to one item of a restore."""

    RESTORED = "restored"  # it goes back under its own name
    RENAMED = "renamed"  # it goes back under a "(restored …)" name
    OVERWRITTEN = "overwritten"  # it replaces what holds its name
    UNCHANGED = "unchanged"  # the same file is there already
    SKIPPED = "skipped"  # it is left out
    FAILED = "failed"  # it cannot come back (content missing, no quota)
    MERGED = "merged"  # a folder onto a folder: its contents go into the one there
    REMOVED = "removed"  # an exact restore: not in the source, so it goes to Recently deleted


# The outcomes a job counts and a preview totals; a merged folder writes
# nothing of its own and is not counted (its contents are).
OUTCOMES: tuple[RestoreAction, ...] = (
    RestoreAction.RESTORED,
    RestoreAction.RENAMED,
    RestoreAction.OVERWRITTEN,
    RestoreAction.SKIPPED,
    RestoreAction.UNCHANGED,
    RestoreAction.FAILED,
    RestoreAction.REMOVED,
)
# The actions that write rows.
WRITES = frozenset({RestoreAction.RESTORED, RestoreAction.RENAMED, RestoreAction.OVERWRITTEN})

NAME_TAKEN = "the name is taken"
TAKEN_BY_RESTORED = "another restored item has this name"
FOLDER_SKIPPED = "its folder was skipped"
CONTENT_MISSING = "its content is missing from both facilities"
NO_QUOTA = "not enough storage quota"


def resolve_conflict(
    *,
    kind: str,
    policy: str,
    occupant_kind: str | None,
    same_content: bool = False,
    restored_here: bool = False,
) -> tuple[RestoreAction, str]:
    """The action for an item of ``kind`` whose name is held by an item of
    ``occupant_kind`` (None: the name is free), and the reason for a skip.

    ``same_content``: the occupant is a file with the item's content.
    ``restored_here``: the occupant was placed by this same restore, say
    /a/r.txt and /b/r.txt restored into one folder; the second keeps both
    (rename) or is skipped, and is never written over the first.
    """
    if occupant_kind is None:
        return _RESTORED
    if restored_here:
        return _RENAMED if policy == _RENAME else _SKIPPED_TAKEN_BY_RESTORED
    if kind == _FOLDER and occupant_kind == _FOLDER:
        return _MERGED
    if kind == _FILE and occupant_kind == _FILE and same_content:
        return _UNCHANGED
    if policy == _SKIP:
        return _SKIPPED_NAME_TAKEN
    return _RENAMED if policy == _RENAME else _OVERWRITTEN


# The rule's answers and inputs as plain values: a preview asks it once per item, 100,000 times.
_FILE, _FOLDER = Node.Kind.FILE.value, Node.Kind.FOLDER.value
_RENAME, _SKIP = RestoreJob.Conflict.RENAME.value, RestoreJob.Conflict.SKIP.value
_RESTORED = (RestoreAction.RESTORED, "")
_RENAMED = (RestoreAction.RENAMED, "")
_OVERWRITTEN = (RestoreAction.OVERWRITTEN, "")
_UNCHANGED = (RestoreAction.UNCHANGED, "")
_MERGED = (RestoreAction.MERGED, "")
_SKIPPED_NAME_TAKEN = (RestoreAction.SKIPPED, NAME_TAKEN)
_SKIPPED_TAKEN_BY_RESTORED = (RestoreAction.SKIPPED, TAKEN_BY_RESTORED)
