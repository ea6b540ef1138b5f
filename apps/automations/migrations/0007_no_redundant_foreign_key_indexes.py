# Foreign keys whose column leads a unique constraint or another index lose their own index (docs/decisions.md,
# "No separate index on a foreign key"): dropped CONCURRENTLY on PostgreSQL, without remaking the table on SQLite
# (lib.migrations).

import django.db.models.deletion
from django.db import migrations, models

from lib.migrations import AlterFieldIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('automations', '0006_flag_organizations_with_automations'),
        ('orgs', '0006_no_redundant_foreign_key_indexes'),
        ('registries', '0005_no_redundant_foreign_key_indexes'),
    ]

    operations = [
        AlterFieldIndex(
            model_name='automation',
            name='org',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='automations', to='orgs.organization'),
        ),
        AlterFieldIndex(
            model_name='automation',
            name='registry',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='automations', to='registries.registry'),
        ),
        AlterFieldIndex(
            model_name='automationrun',
            name='automation',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='automations.automation'),
        ),
        AlterFieldIndex(
            model_name='automationrun',
            name='registry',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='registries.registry'),
        ),
        AlterFieldIndex(
            model_name='secret',
            name='org',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='automation_secrets', to='orgs.organization'),
        ),
        AlterFieldIndex(
            model_name='webhook',
            name='org',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='webhooks', to='orgs.organization'),
        ),
    ]
