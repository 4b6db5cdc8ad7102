"""The failover engine (ENGINE ``hubs.db.failover``): PostgreSQL, connected to
whichever side serves the hub now (``hubs.db.sides``).

A connection remembers the side and generation it was opened for. Before a
cursor is made outside a transaction, and when Django checks connections at a
request's start and end (``close_old_connections``), a connection opened for an
older generation is closed, so the next query opens one to the serving side;
Celery closes every connection before each task anyway. Inside a transaction
the connection is kept: its statements fail if that side is gone, and a
promoted standby never receives them. A connection refused by the side the
process knew makes it read the side again at once (not at the cache's next
expiry) and, if the hub has moved, connect to the new side: the first query
after a failover run elsewhere then succeeds instead of failing for up to
the cache's five seconds.
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
        try:
            connection = super().get_new_connection(conn_params)
        except self.Database.OperationalError:
            # The side this process knew refused (the old primary, stopped by a
            # failover another process ran): ask the control database now
            # rather than fail every query for the rest of the side cache's
            # seconds, and connect once more if the hub moved meanwhile.
            tried: ServingSide | None = getattr(self, "_opening_for", None)
            if tried is None or serving_side(self.hub_code, fresh=True).generation == tried.generation:
                raise
            connection = super().get_new_connection(self.get_connection_params())
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
