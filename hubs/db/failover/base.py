"""The failover engine (ENGINE ``hubs.db.failover``): PostgreSQL, connected to
whichever side serves the hub now (``hubs.db.sides``).

A connection remembers the side and generation it was opened for. Before a
cursor is made outside a transaction, and when Django checks connections at a
request's start and end (``close_old_connections``), a connection opened for an
older generation is closed, so the next query opens one to the serving side;
Celery closes every connection before each task anyway. Inside a transaction
the connection is kept: its statements fail if that side is gone, and a
promoted standby never receives them.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base as postgresql

from hubs.db.sides import ServingSide, serving_side, side_settings


class DatabaseWrapper(postgresql.DatabaseWrapper):
    opened_for: ServingSide | None = None

    @property
    def hub_code(self) -> str:
        return str(self.settings_dict["HUB_CODE"])

    def get_connection_params(self) -> dict[str, Any]:
        chosen = serving_side(self.hub_code)
        original = self.settings_dict
        self.settings_dict = side_settings(original, chosen.side)
        try:
            params = super().get_connection_params()
        finally:
            self.settings_dict = original
        self._opening_for = chosen
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        self.opened_for = getattr(self, "_opening_for", None)
        return connection

    def is_on_old_side(self) -> bool:
        if self.connection is None or self.opened_for is None:
            return False
        return serving_side(self.hub_code).generation != self.opened_for.generation

    def close_if_unusable_or_obsolete(self) -> None:
        if self.is_on_old_side() and not self.in_atomic_block:
            self.close()
            return
        super().close_if_unusable_or_obsolete()

    def _cursor(self, name: str | None = None) -> Any:
        if not self.in_atomic_block and self.is_on_old_side():
            self.close()
        return super()._cursor(name)  # type: ignore[misc]  # Django's private hook, absent from the stubs
