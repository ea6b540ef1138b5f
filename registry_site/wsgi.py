"""WSGI entry point (gunicorn registry_site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from registry_site.malloc import keep_freed_buffers

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
keep_freed_buffers()
application = get_wsgi_application()
# Django imports the URLconf, and with it every view, API schema and the GraphQL schema, at the first request. Done
# here instead, gunicorn's master loads them once before forking (gunicorn_conf.preload_app): workers share those
# pages and start with them frozen out of the garbage collector (gunicorn_conf.pre_fork), and no worker's first
# request waits half a second for the imports.
get_resolver().url_patterns  # noqa: B018 - evaluated for its imports
