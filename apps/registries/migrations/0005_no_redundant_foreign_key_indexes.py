# Foreign keys whose column leads a unique constraint or another index lose their own index (docs/decisions.md,
# "No separate index on a foreign key"): dropped CONCURRENTLY on PostgreSQL, without remaking the table on SQLite
# (lib.migrations).

import django.db.models.deletion
from django.db import migrations, models

from lib.migrations import AlterFieldIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('orgs', '0006_no_redundant_foreign_key_indexes'),
        ('registries', '0004_registry_has_automations'),
    ]

    operations = [
        AlterFieldIndex(
            model_name='formername',
            name='registry',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='former_names', to='registries.registry'),
        ),
        AlterFieldIndex(
            model_name='protectedalias',
            name='registry',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='protected_aliases', to='registries.registry'),
        ),
        AlterFieldIndex(
            model_name='registry',
            name='org',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='registries', to='orgs.organization'),
        ),
        AlterFieldIndex(
            model_name='star',
            name='registry',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='stars', to='registries.registry'),
        ),
    ]
