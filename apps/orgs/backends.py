"""Password login for people only: a service account gets a clear refusal instead of "wrong password"."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from apps.orgs.models import ServiceAccount

SERVICE_ACCOUNT_LOGIN_REFUSED = (
    "“%(name)s” is a service account: service accounts cannot log in to the web interface. "
    "Use one of its API keys with the API, the Python client or the CLI."
)


class PeopleModelBackend(ModelBackend):
    """Django's username/password backend, refusing service accounts with a message the login form shows.

    One query per login attempt (not per request: sessions load users through `get_user`). The
    ValidationError reaches the login form's non-field errors.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        # SECURITY: even with a password set by hand (Django admin), a service account never logs in.
        accounts = (
            ServiceAccount.objects.filter(user=user) if user else ServiceAccount.objects.filter(user__username=username)
        )
        if username and accounts.exists():
            raise ValidationError(SERVICE_ACCOUNT_LOGIN_REFUSED, code="service_account", params={"name": username})
        return user
