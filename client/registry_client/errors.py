"""Exceptions raised by the client. Every one carries the server's `detail` message when there is one."""


class RegistryError(Exception):
    """Base class: something the server refused, or the server could not be reached."""

    def __init__(self, detail: str, status_code: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code

    def __str__(self) -> str:
        return self.detail


class InvalidInput(RegistryError, ValueError):
    """400: the request (a name, a path, a filter, a file) is not valid."""


class AuthError(RegistryError):
    """401: no API key, or the key is not valid."""


class PermissionDenied(RegistryError):
    """403: the object is visible but the action is not allowed (e.g. a Restricted Viewer downloading)."""


class NotFound(RegistryError, LookupError):
    """404: the object does not exist or is not visible to the caller."""


class Conflict(RegistryError):
    """409: the change conflicts with the current state (e.g. a name already taken)."""


class ServerError(RegistryError):
    """5xx after all retries."""


class ConnectionFailed(RegistryError):
    """The server could not be reached after all retries."""


class ChecksumMismatch(RegistryError):
    """Downloaded or uploaded bytes do not have the digest the manifest records."""


_BY_STATUS = {400: InvalidInput, 401: AuthError, 403: PermissionDenied, 404: NotFound, 409: Conflict}


def error_for_status(status_code: int, detail: str) -> RegistryError:
    """The exception matching an HTTP status (422 is treated as bad input, 5xx as ServerError)."""
    if status_code in _BY_STATUS:
        cls = _BY_STATUS[status_code]
    elif status_code == 422:
        cls = InvalidInput
    elif status_code >= 500:
        cls = ServerError
    else:
        cls = RegistryError
    return cls(detail, status_code=status_code)
