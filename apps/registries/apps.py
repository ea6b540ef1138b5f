from django.apps import AppConfig


class RegistriesConfig(AppConfig):
    name = "apps.registries"
    label = "registries"
    verbose_name = "Registries"
