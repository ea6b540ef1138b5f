from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo organization `make run` seeds. It sits above every other app, so it may use them all."""

    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo"
