"""Fixtures the curation tests share with the API and client tests."""

from tests.api.conftest import api  # noqa: F401 (an ApiClient per persona)
from tests.client.wsgi import in_process  # noqa: F401 (a registry_client.Client per persona, in-process)
