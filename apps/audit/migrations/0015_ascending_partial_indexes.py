# The audit indexes ascending and partial (docs/decisions.md, stop 13). The new indexes are built first, under new
# names, then the old ones dropped: on PostgreSQL both without blocking writes (CREATE/DROP INDEX CONCURRENTLY), and
# the audit pages keep an index to read meanwhile.

from django.db import migrations, models

from lib.migrations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audit", "0014_history_indexes_with_id"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("registry_pk__isnull", False)),
                fields=["registry_pk", "created_at"],
                name="audit_registry_at_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("registry_pk__isnull", False)), fields=["registry_pk", "id"], name="audit_registry_id_idx"
            ),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("collection_pk__isnull", False)),
                fields=["collection_pk", "created_at", "id"],
                name="audit_collection_at_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("version_pk__isnull", False)),
                fields=["version_pk", "created_at", "id"],
                name="audit_version_at_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="auditevent", index=models.Index(fields=["org", "created_at"], name="audit_org_at_idx")
        ),
        RemoveIndexConcurrently(model_name="auditevent", name="audit_event_registry_idx"),
        RemoveIndexConcurrently(model_name="auditevent", name="audit_event_registry_id_idx"),
        RemoveIndexConcurrently(model_name="auditevent", name="audit_event_collection_at_idx"),
        RemoveIndexConcurrently(model_name="auditevent", name="audit_event_version_at_idx"),
        RemoveIndexConcurrently(model_name="auditevent", name="audit_event_org_idx"),
    ]
