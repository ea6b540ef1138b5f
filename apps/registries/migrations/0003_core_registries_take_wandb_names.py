"""Core registries take W&B's names, Model and Dataset; the old names stay resolvable as former names.

Slugs (page URLs) stay as they were. Idempotent: a registry already renamed, or an org where a custom
registry already holds the new name, is left alone.
"""

from django.db import migrations

RENAMES = {"models": "Model", "datasets": "Dataset"}


def forward(apps, schema_editor):
    Registry = apps.get_model("registries", "Registry")
    FormerName = apps.get_model("registries", "FormerName")
    for registry in Registry.objects.filter(is_core=True):
        new = RENAMES.get(registry.name.lower())
        if new is None:
            continue
        if Registry.objects.filter(org_id=registry.org_id, name__iexact=new).exclude(pk=registry.pk).exists():
            continue
        old = registry.name
        registry.name = new
        registry.save(update_fields=["name"])
        if not FormerName.objects.filter(registry=registry, name__iexact=old).exists():
            FormerName.objects.create(registry=registry, name=old)


class Migration(migrations.Migration):
    dependencies = [
        ("registries", "0002_registry_former_names"),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
