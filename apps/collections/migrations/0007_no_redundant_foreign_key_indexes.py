# Foreign keys whose column leads a unique constraint or another index lose their own index (docs/decisions.md,
# "No separate index on a foreign key"): dropped CONCURRENTLY on PostgreSQL, without remaking the table on SQLite
# (lib.migrations).

import django.db.models.deletion
from django.db import migrations, models

from lib.migrations import AlterFieldIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('collections', '0006_collection_link_count'),
        ('registries', '0005_no_redundant_foreign_key_indexes'),
    ]

    operations = [
        AlterFieldIndex(
            model_name='collection',
            name='registry',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='collections', to='registries.registry'),
        ),
        AlterFieldIndex(
            model_name='collectionformername',
            name='collection',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='former_names', to='collections.collection'),
        ),
        AlterFieldIndex(
            model_name='collectiontag',
            name='collection',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tags', to='collections.collection'),
        ),
        AlterFieldIndex(
            model_name='link',
            name='collection',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='links', to='collections.collection'),
        ),
        AlterFieldIndex(
            model_name='linkalias',
            name='collection',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='aliases', to='collections.collection'),
        ),
    ]
