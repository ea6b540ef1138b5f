from django.db import migrations


def flag_organizations(apps, schema_editor):
    """Organizations with an organization or team automation keep commits in their projects going to it."""
    Organization = apps.get_model("orgs", "Organization")
    Automation = apps.get_model("automations", "Automation")
    watched = Automation.objects.filter(registry__isnull=True).values("org_id")
    Organization.objects.filter(pk__in=watched).update(has_automations=True)


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0005_require_org_and_scope_fields"),
        ("orgs", "0005_organization_has_automations"),
    ]

    operations = [migrations.RunPython(flag_organizations, migrations.RunPython.noop)]
