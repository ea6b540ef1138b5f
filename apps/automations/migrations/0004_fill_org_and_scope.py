from django.db import migrations


def forward(apps, schema_editor):
    """Existing automations are registry- or collection-scoped: their org is their registry's."""
    Automation = apps.get_model("automations", "Automation")
    for automation in Automation.objects.filter(org__isnull=True).select_related("registry"):
        automation.org_id = automation.registry.org_id
        automation.scope = "collection" if automation.collection_id else "registry"
        automation.save(update_fields=["org", "scope"])


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0003_scopes_and_slack"),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
