"""WSGI entry point (gunicorn registry_site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from registry_site.malloc import keep_freed_buffers

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
keep_freed_buffers()
application = get_wsgi_application()
