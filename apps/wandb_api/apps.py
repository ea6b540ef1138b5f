from django.apps import AppConfig


class WandbApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.wandb_api"
    label = "wandb_api"
    verbose_name = "wandb SDK API"
