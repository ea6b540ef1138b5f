from django.db import migrations, models


def mark_registries_with_automations(apps, schema_editor):
    """Registries that already have automations keep their events going to them (idempotent)."""
    Registry = apps.get_model("registries", "Registry")
    Automation = apps.get_model("automations", "Automation")
    Registry.objects.filter(pk__in=Automation.objects.values("registry_id")).update(has_automations=True)


class Migration(migrations.Migration):
    dependencies = [
        ("registries", "0003_core_registries_take_wandb_names"),
        ("automations", "0002_restrict_deletes"),
    ]

    operations = [
        migrations.AddField(
            model_name="registry",
            name="has_automations",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(mark_registries_with_automations, migrations.RunPython.noop),
    ]
