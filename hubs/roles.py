"""What each role in a tenant may do: the one table every edge asks.

The pages (``portal.views.files.access.tenant_required``), the REST API
(``portal.permissions.RolePermits`` on every tenant view) and any later edge
(WebDAV) ask ``role_check`` before they call the store, and the team's
services ask it for the acting member, so a role means the same everywhere.

- owner: everything, including making and removing owners;
- admin: everything but owners' roles (invite, change roles, remove others);
- member: read and change files, take snapshots, start restores;
- read-only: browse, download and see history; nothing that changes a file.
"""

from __future__ import annotations

from enum import StrEnum

from hubs.errors import RoleForbidden


class Action(StrEnum):
    READ = "read"
    CHANGE_FILES = "change_files"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_OWNERS = "manage_owners"


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "owner": frozenset(Action),
    "admin": frozenset({Action.READ, Action.CHANGE_FILES, Action.MANAGE_MEMBERS}),
    "member": frozenset({Action.READ, Action.CHANGE_FILES}),
    "read_only": frozenset({Action.READ}),
}

REFUSALS: dict[Action, str] = {
    Action.READ: "You are not a member of this workspace.",
    Action.CHANGE_FILES: (
        "You are a read-only member of this workspace: you can browse, download and see history, "
        "but not change files, take snapshots or start restores. Ask an owner or admin for another role."
    ),
    Action.MANAGE_MEMBERS: "Only the workspace's owners and admins can invite people and change members.",
    Action.MANAGE_OWNERS: "Only an owner can make someone an owner, or change or remove an owner.",
}


def role_permits(role: str | None, action: Action) -> bool:
    return action in ROLE_ACTIONS.get(role or "", frozenset())


def role_check(role: str | None, action: Action) -> None:
    """Refuse (``RoleForbidden``, 403 at the edge) when ``role`` may not do ``action``."""
    if not role_permits(role, action):
        raise RoleForbidden(REFUSALS[action], action=action.value)
