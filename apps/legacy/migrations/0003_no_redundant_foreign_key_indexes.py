# Foreign keys whose column leads a unique constraint or another index lose their own index (docs/decisions.md,
# "No separate index on a foreign key"): dropped CONCURRENTLY on PostgreSQL, without remaking the table on SQLite
# (lib.migrations).

import django.db.models.deletion
from django.db import migrations, models

from lib.migrations import AlterFieldIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('legacy', '0002_legacy_team_proxy'),
        ('orgs', '0006_no_redundant_foreign_key_indexes'),
    ]

    operations = [
        AlterFieldIndex(
            model_name='legacyprotectedalias',
            name='team',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='legacy_protected_aliases', to='orgs.team'),
        ),
        AlterFieldIndex(
            model_name='legacyregistryadmin',
            name='team',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='legacy_registry_admins', to='orgs.team'),
        ),
        AlterFieldIndex(
            model_name='modelalias',
            name='model',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='aliases', to='legacy.registeredmodel'),
        ),
        AlterFieldIndex(
            model_name='modellink',
            name='model',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='links', to='legacy.registeredmodel'),
        ),
        AlterFieldIndex(
            model_name='registeredmodel',
            name='team',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='registered_models', to='orgs.team'),
        ),
        AlterFieldIndex(
            model_name='registeredmodeltag',
            name='model',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tags', to='legacy.registeredmodel'),
        ),
    ]
