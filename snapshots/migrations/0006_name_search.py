"""Search by name (snapshots.selectors.search): the hub database's own text index.

SQLite: an FTS5 table with the trigram tokenizer (substring match), contentless
(it stores no copy of a name), kept by triggers on the version table, so every
write path is covered, the ORM's and the raw executemany of a restore batch
alike, in the writing transaction. It holds the rows search can return: open
rows (the live tree, and what sits unreachable in a deleted folder, which the
selector drops) and rows in Recently deleted; not the closed history, which is
most of the table. A contentless table forgets a row only when told the values
it indexed, which the triggers rebuild from the old row exactly.

SQLite also gets a partial index on (tenant_id, lower(name)) of the open rows:
exact names and prefixes are a range of it.

PostgreSQL: pg_trgm and a partial GIN trigram index on lower(name) for the same
rows (LIKE '%text%'), and a b-tree on (tenant_id, lower(name) text_pattern_ops)
of the open rows for exact names and prefixes.

Neither is in the models' state: makemigrations never sees them, and each
database gets only its own kind.
"""

from django.db import migrations

FTS_TABLE = "snapshots_name_search"
INDEXED_OLD = "(old.valid_to IS NULL OR old.in_trash)"
INDEXED_NEW = "(new.valid_to IS NULL OR new.in_trash)"
SAME_ENTRY = "(old.name = new.name AND old.tenant_id = new.tenant_id)"

SQLITE_FORWARD = [
    # Tenant key '#<id>#': the phrase "#5#" matches tenant 5 only, never 15 or 51.
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(tenant, name, content='', "
    "tokenize='trigram case_sensitive 1', detail='full')",
    f"INSERT INTO {FTS_TABLE} (rowid, tenant, name) "
    "SELECT id, '#' || tenant_id || '#', lower(name) FROM snapshots_nodeversion "
    "WHERE valid_to IS NULL OR in_trash",
    # Exact names and prefixes of the live tree: a range of this index, newest first.
    "CREATE INDEX version_live_name ON snapshots_nodeversion (tenant_id, lower(name)) WHERE valid_to IS NULL",
    f"CREATE TRIGGER snapshots_name_search_insert AFTER INSERT ON snapshots_nodeversion "
    f"WHEN {INDEXED_NEW} BEGIN "
    f"INSERT INTO {FTS_TABLE} (rowid, tenant, name) VALUES (new.id, '#' || new.tenant_id || '#', lower(new.name)); "
    "END",
    f"CREATE TRIGGER snapshots_name_search_update_out AFTER UPDATE OF name, tenant_id, valid_to, in_trash "
    f"ON snapshots_nodeversion WHEN {INDEXED_OLD} AND NOT ({INDEXED_NEW} AND {SAME_ENTRY}) BEGIN "
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, tenant, name) "
    "VALUES ('delete', old.id, '#' || old.tenant_id || '#', lower(old.name)); "
    "END",
    f"CREATE TRIGGER snapshots_name_search_update_in AFTER UPDATE OF name, tenant_id, valid_to, in_trash "
    f"ON snapshots_nodeversion WHEN {INDEXED_NEW} AND NOT ({INDEXED_OLD} AND {SAME_ENTRY}) BEGIN "
    f"INSERT INTO {FTS_TABLE} (rowid, tenant, name) VALUES (new.id, '#' || new.tenant_id || '#', lower(new.name)); "
    "END",
    f"CREATE TRIGGER snapshots_name_search_delete AFTER DELETE ON snapshots_nodeversion "
    f"WHEN {INDEXED_OLD} BEGIN "
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, tenant, name) "
    "VALUES ('delete', old.id, '#' || old.tenant_id || '#', lower(old.name)); "
    "END",
]
SQLITE_REVERSE = [
    "DROP INDEX IF EXISTS version_live_name",
    "DROP TRIGGER IF EXISTS snapshots_name_search_insert",
    "DROP TRIGGER IF EXISTS snapshots_name_search_update_out",
    "DROP TRIGGER IF EXISTS snapshots_name_search_update_in",
    "DROP TRIGGER IF EXISTS snapshots_name_search_delete",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]
POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS version_name_trgm ON snapshots_nodeversion "
    "USING gin (lower(name) gin_trgm_ops) WHERE valid_to IS NULL OR in_trash",
    # Exact names and prefixes of the live tree (= and LIKE 'text%'); ANALYZE also keeps
    # statistics of lower(name) through it, which the planner needs to choose between the
    # trigram index (a rare text) and reading the newest rows first (a common one).
    "CREATE INDEX IF NOT EXISTS version_live_name ON snapshots_nodeversion "
    "(tenant_id, lower(name) text_pattern_ops) WHERE valid_to IS NULL",
]
# The extension stays: other objects may use it.
POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS version_name_trgm", "DROP INDEX IF EXISTS version_live_name"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("snapshots", "0005_scrub_cursor"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
    ]
