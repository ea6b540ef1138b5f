# Foreign keys whose column leads a unique constraint or another index lose their own index (docs/decisions.md,
# "No separate index on a foreign key"): dropped CONCURRENTLY on PostgreSQL, without remaking the table on SQLite
# (lib.migrations).

import django.db.models.deletion
from django.db import migrations, models

from lib.migrations import AlterFieldIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('audit', '0015_ascending_partial_indexes'),
        ('orgs', '0006_no_redundant_foreign_key_indexes'),
    ]

    operations = [
        AlterFieldIndex(
            model_name='auditevent',
            name='org',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='orgs.organization'),
        ),
    ]
