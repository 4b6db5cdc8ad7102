from __future__ import annotations

import pytest
from django.db import connections

from hubs.routing import hub_database_alias


@pytest.fixture
def sqlite_hub(make_tenant):
    """A tenant in hub uk, whose database is SQLite (plans are read with EXPLAIN QUERY PLAN)."""
    made = make_tenant(hub="uk")
    connection = connections[hub_database_alias("uk")]
    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL reads a table this small whole")
    return made
