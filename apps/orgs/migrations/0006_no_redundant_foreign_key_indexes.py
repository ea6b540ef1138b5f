# Foreign keys whose column leads a unique constraint or another index lose their own index (docs/decisions.md,
# "No separate index on a foreign key"): dropped CONCURRENTLY on PostgreSQL, without remaking the table on SQLite
# (lib.migrations).

import django.db.models.deletion
from django.db import migrations, models

from lib.migrations import AlterFieldIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('orgs', '0005_organization_has_automations'),
    ]

    operations = [
        AlterFieldIndex(
            model_name='membership',
            name='org',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='orgs.organization'),
        ),
        AlterFieldIndex(
            model_name='teammembership',
            name='team',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='orgs.team'),
        ),
    ]
