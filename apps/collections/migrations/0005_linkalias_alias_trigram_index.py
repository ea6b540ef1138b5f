"""A trigram index for substring search of link aliases on PostgreSQL (issue 17).

Search matches aliases with `alias__icontains` (`UPPER(alias::text) LIKE UPPER('%…%')` on
PostgreSQL), which no B-tree answers; a GIN index of trigrams on that expression does, as for
version tags (artifacts 0008). SQLite gets no index.
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS collections_linkalias_alias_trgm
    ON collections_linkalias USING gin (UPPER(alias::text) gin_trgm_ops);
"""
POSTGRES_BACKWARD = "DROP INDEX IF EXISTS collections_linkalias_alias_trgm;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("collections", "0004_collection_former_names")]

    operations = [migrations.RunPython(forward, backward)]
