"""A trigram index for substring search of version tags on PostgreSQL (issue 17).

Search matches tags with `name__icontains`, which PostgreSQL runs as `UPPER(name::text) LIKE
UPPER('%…%')`: no B-tree helps, so every search read all of `artifacts_versiontag` (20,000 rows at
company size, most of the search page's time in PostgreSQL). A GIN index of trigrams on that same
expression answers it. pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create
it. SQLite scans the table in a millisecond or two and gets no index.
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS artifacts_versiontag_name_trgm
    ON artifacts_versiontag USING gin (UPPER(name::text) gin_trgm_ops);
"""
POSTGRES_BACKWARD = "DROP INDEX IF EXISTS artifacts_versiontag_name_trgm;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("artifacts", "0007_version_deletion_and_ttl")]

    operations = [migrations.RunPython(forward, backward)]
