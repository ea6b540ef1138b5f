"""Collection.link_count: each collection's number of links, kept by the database (issue 17).

The landing page's registry cards and the registry page's rows showed version counts by counting
links on every view: 100,000 links at company size, 5-10 ms on SQLite and 20-50 ms on PostgreSQL per
landing page. The count now lives on the collection, and triggers on collections_link keep it, so
every path that adds or removes links (services, the hand-written link SQL, bulk loads, cascades)
counts without remembering to. On PostgreSQL the triggers are per statement, with transition
tables: unlinking 20,000 links at once is one UPDATE per collection, not one per link. SQLite has
only row triggers.

SQLite drops a table's triggers when Django rebuilds the table (some AlterField operations on Link
do): a migration that rebuilds collections_link must create them again (SQLITE_FORWARD below).
tests/collections/test_link_count.py fails if they are missing.
"""

from django.db import migrations, models

SQLITE_FORWARD = [
    """CREATE TRIGGER collections_link_count_insert AFTER INSERT ON collections_link BEGIN
        UPDATE collections_collection SET link_count = link_count + 1 WHERE id = NEW.collection_id;
    END""",
    """CREATE TRIGGER collections_link_count_delete AFTER DELETE ON collections_link BEGIN
        UPDATE collections_collection SET link_count = link_count - 1 WHERE id = OLD.collection_id;
    END""",
    """CREATE TRIGGER collections_link_count_move AFTER UPDATE OF collection_id ON collections_link
    WHEN OLD.collection_id <> NEW.collection_id BEGIN
        UPDATE collections_collection SET link_count = link_count - 1 WHERE id = OLD.collection_id;
        UPDATE collections_collection SET link_count = link_count + 1 WHERE id = NEW.collection_id;
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS collections_link_count_insert",
    "DROP TRIGGER IF EXISTS collections_link_count_delete",
    "DROP TRIGGER IF EXISTS collections_link_count_move",
]

# Each function adds, per collection, the links a statement inserted minus those it deleted.
POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION collections_link_count_insert() RETURNS trigger AS $$
BEGIN
    UPDATE collections_collection c SET link_count = c.link_count + d.n
    FROM (SELECT collection_id, COUNT(*) AS n FROM new_links GROUP BY collection_id) d
    WHERE c.id = d.collection_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION collections_link_count_delete() RETURNS trigger AS $$
BEGIN
    UPDATE collections_collection c SET link_count = c.link_count - d.n
    FROM (SELECT collection_id, COUNT(*) AS n FROM old_links GROUP BY collection_id) d
    WHERE c.id = d.collection_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION collections_link_count_move() RETURNS trigger AS $$
BEGIN
    UPDATE collections_collection c SET link_count = c.link_count + d.n
    FROM (
        SELECT collection_id, SUM(n) AS n FROM (
            SELECT collection_id, 1 AS n FROM new_links
            UNION ALL SELECT collection_id, -1 AS n FROM old_links
        ) moved GROUP BY collection_id
    ) d
    WHERE c.id = d.collection_id AND d.n <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER collections_link_count_insert AFTER INSERT ON collections_link
    REFERENCING NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION collections_link_count_insert();
CREATE TRIGGER collections_link_count_delete AFTER DELETE ON collections_link
    REFERENCING OLD TABLE AS old_links
    FOR EACH STATEMENT EXECUTE FUNCTION collections_link_count_delete();
CREATE TRIGGER collections_link_count_move AFTER UPDATE ON collections_link
    REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links
    FOR EACH STATEMENT EXECUTE FUNCTION collections_link_count_move();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS collections_link_count_insert ON collections_link;
DROP TRIGGER IF EXISTS collections_link_count_delete ON collections_link;
DROP TRIGGER IF EXISTS collections_link_count_move ON collections_link;
DROP FUNCTION IF EXISTS collections_link_count_insert();
DROP FUNCTION IF EXISTS collections_link_count_delete();
DROP FUNCTION IF EXISTS collections_link_count_move();
"""

BACKFILL = """
UPDATE collections_collection SET link_count = (
    SELECT COUNT(*) FROM collections_link WHERE collections_link.collection_id = collections_collection.id
)
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)
    else:
        raise NotImplementedError(f"collections.link_count has no triggers for {vendor}")
    # After the triggers exist, in the same transaction: no link added meanwhile is missed.
    schema_editor.execute(BACKFILL, params=None)


def backward(apps, schema_editor):
    statements = POSTGRES_BACKWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    for statement in [statements] if isinstance(statements, str) else statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("collections", "0005_linkalias_alias_trigram_index")]

    operations = [
        migrations.AddField(
            model_name="collection",
            name="link_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(forward, backward),
    ]
