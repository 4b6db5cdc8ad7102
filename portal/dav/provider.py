"""The WsgiDAV provider: a request path to the live tree's resource or to a
snapshot's (``.snapshots``). Apart from both resource modules, which it
chooses between, so neither imports the other back."""

from __future__ import annotations

from typing import Any

from wsgidav.dav_provider import DAVProvider

from portal.dav.history import snapshot_resource
from portal.dav.resources import (
    SNAPSHOTS_FOLDER,
    WorkspacesRoot,
    caller,
    live_resource,
    resolved_version,
    split_provider_path,
)


class HubportProvider(DAVProvider):
    def get_resource_inst(self, path: str, environ: dict[str, Any]) -> Any:
        self._count_get_resource_inst += 1
        who = caller(environ)
        slug, names = split_provider_path(path)
        if not slug:
            return WorkspacesRoot("/", environ)
        if slug != who.tenant.slug:
            return None
        if names and names[0] == SNAPSHOTS_FOLDER:
            return snapshot_resource(path, environ, names[1:])
        version = resolved_version(environ, who.tenant, names)
        return None if version is None else live_resource(path, environ, version)
