"""PostgreSQL: statistics of ``lower(name)`` for the planner (extended
statistics on an expression, PostgreSQL 14 and later).

Search asks ``tenant_id = ? AND lower(name) = ? ... ORDER BY id DESC LIMIT n``
(and ``LIKE 'text%'``). PostgreSQL collects no statistics for the expression
of a partial index (``version_live_name``), so it guessed that 0.5 % of the
rows match any name; with a LIMIT that made walking the primary key newest
first look cheapest, and a name that matches nothing read every row of the
hub: 260 ms a query at a million files, 641 ms a search (34 ms at 100,000),
where the name index answers in 0.05 ms. With these statistics a rare name
is read through the index and a common one (``file%`` in every name) still
newest first from the primary key, each in well under a millisecond.
``ANALYZE`` (``snapshots.statistics``) keeps them. SQLite's planner already
takes the name index for these, so it gets nothing here.
"""

from django.db import migrations

CREATE = "CREATE STATISTICS IF NOT EXISTS version_lower_name ON (lower(name::text)) FROM snapshots_nodeversion"
DROP = "DROP STATISTICS IF EXISTS version_lower_name"
# Statistics on an expression came with PostgreSQL 14.
EXPRESSION_STATISTICS_FROM = 140000


def _on_postgresql(statement):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor == "postgresql" and connection.pg_version >= EXPRESSION_STATISTICS_FROM:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("snapshots", "0009_dav_state"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP)),
    ]
