# Foreign keys whose column leads a unique constraint or another index lose their own index (docs/decisions.md,
# "No separate index on a foreign key"): dropped CONCURRENTLY on PostgreSQL, without remaking the table on SQLite
# (lib.migrations).

import django.db.models.deletion
from django.db import migrations, models

from lib.migrations import AlterFieldIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('artifacts', '0008_versiontag_name_trigram_index'),
        ('orgs', '0006_no_redundant_foreign_key_indexes'),
    ]

    operations = [
        AlterFieldIndex(
            model_name='artifactsequence',
            name='project',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='sequences', to='artifacts.project'),
        ),
        AlterFieldIndex(
            model_name='artifactusage',
            name='run',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='usages', to='artifacts.run'),
        ),
        AlterFieldIndex(
            model_name='artifactversion',
            name='sequence',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='versions', to='artifacts.artifactsequence'),
        ),
        AlterFieldIndex(
            model_name='manifestentry',
            name='version',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='artifacts.artifactversion'),
        ),
        AlterFieldIndex(
            model_name='project',
            name='team',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='projects', to='orgs.team'),
        ),
        AlterFieldIndex(
            model_name='run',
            name='project',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='artifacts.project'),
        ),
        AlterFieldIndex(
            model_name='versiontag',
            name='version',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tags', to='artifacts.artifactversion'),
        ),
    ]
