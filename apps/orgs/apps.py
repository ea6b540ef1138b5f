from django.apps import AppConfig, apps
from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save


class OrgsConfig(AppConfig):
    name = "apps.orgs"
    label = "orgs"
    verbose_name = "Organizations"

    def ready(self):
        from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

        from apps.orgs.permissions import grants_changed

        # Permissions remembered on a user object (permissions.held_perms) are read again after any
        # grant or membership change. Explicit senders: a sender-less receiver would slow every delete.
        m2m_changed.connect(grants_changed, sender=get_user_model().groups.through, dispatch_uid="orgs-groups")
        for model in apps.get_models():
            if issubclass(model, (UserObjectPermissionBase, GroupObjectPermissionBase)):
                post_save.connect(grants_changed, sender=model, dispatch_uid=f"orgs-save-{model._meta.label}")
                post_delete.connect(grants_changed, sender=model, dispatch_uid=f"orgs-delete-{model._meta.label}")
