from django.apps import AppConfig
from django.db.backends.signals import connection_created

from lib.filters import install_bounded_regexp


class RegistriesConfig(AppConfig):
    name = "apps.registries"
    label = "registries"
    verbose_name = "Registries"

    def ready(self):
        # Searches ($regex) evaluate REGEXP in Python on SQLite: give each call a hard time limit.
        connection_created.connect(install_bounded_regexp, dispatch_uid="registries.bounded_regexp")
