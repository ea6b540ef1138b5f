from django.apps import AppConfig


class WandbApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.wandb_api"
    label = "wandb_api"
    verbose_name = "wandb SDK API"

    def ready(self):
        from apps.artifacts.services import hold_blobs
        from apps.wandb_api.models import StagedFile

        # Uploaded files wait here for their commit: blob garbage collection must keep them.
        hold_blobs(StagedFile)
