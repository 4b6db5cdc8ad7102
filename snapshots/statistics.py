"""The hub databases keep their planner statistics current.

SQLite keeps none until ``ANALYZE`` runs, and PostgreSQL's autovacuum may run
long after a bulk load: without statistics both planners guess, and a page
that a good index answers in a millisecond (Recently deleted's original paths,
a 10,000-file listing) took 100 ms to a second. ``hub_statistics_refresh``
runs ``ANALYZE`` on a hub's database: hourly from beat on the hub's queue,
and after the jobs that change many rows at once (expiry, a large restore).
On SQLite, ``analysis_limit`` samples each index (1,000 rows) so the refresh
stays well under a second at a million files.
"""

from __future__ import annotations

import logging
import time

from django.db import connections

from hubs.routing import hub_database_alias

logger = logging.getLogger(__name__)

# Rows SQLite samples per index: enough for the planner's choice, bounded in time.
SQLITE_ANALYSIS_LIMIT = 1000
# A restore or an expiry that wrote at least this many rows refreshes the statistics after it.
LARGE_JOB_ROWS = 10_000


def hub_statistics_refresh(*, hub_code: str) -> float:
    """ANALYZE the hub's database; returns the seconds it took."""
    connection = connections[hub_database_alias(hub_code)]
    started = time.monotonic()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
    seconds = time.monotonic() - started
    logger.info("Planner statistics of hub %s refreshed in %.2f s", hub_code, seconds)
    return seconds
