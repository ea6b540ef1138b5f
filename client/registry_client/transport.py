"""HTTP to the Registry: the API session (with the key) and the blob session (without), retries with backoff,
and HTTP errors turned into `RegistryError` subclasses carrying the server's `detail`."""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urljoin

import httpx

from . import __version__
from .errors import ConnectionFailed, RegistryError, ServerError, error_for_status

WORKERS = 4  # parallel transfers; the connection pools are sized for them
_RETRYABLE = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)


def api_path(*segments: str) -> str:
    """An API path from segments, each quoted whole (names may hold spaces and slashes)."""
    return "/".join(quote(segment, safe="") for segment in segments)


def _detail(response: httpx.Response) -> str:
    """The server's message: `detail` from a JSON body, else a bit of the body, else the reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, list):  # validation errors: [{"loc": [...], "msg": "..."}]
            parts = []
            for item in detail:
                if isinstance(item, dict):
                    where = ".".join(str(p) for p in item.get("loc", []) if p not in ("body", "query"))
                    parts.append(f"{where}: {item.get('msg', item)}" if where else str(item.get("msg", item)))
                else:
                    parts.append(str(item))
            return "; ".join(parts)
        return str(detail)
    text = response.text.strip() if response.headers.get("content-type", "").startswith("text/plain") else ""
    return text[:500] or f"{response.status_code} {response.reason_phrase}".strip()


def raise_for_status(response: httpx.Response) -> httpx.Response:
    """Return `response`, or raise the `RegistryError` subclass for its 4xx/5xx status."""
    if response.status_code >= 400:
        if not response.is_stream_consumed:
            response.read()
        raise error_for_status(response.status_code, _detail(response))
    return response


class Transport:
    """The two HTTP sessions a client needs, and the one retry loop every call goes through."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float,
        max_retries: int,
        backoff: float,
        workers: int,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff = backoff
        headers = {"User-Agent": f"registry-client/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        limits = httpx.Limits(max_connections=workers * 2 + 2, max_keepalive_connections=workers * 2)
        self.api = httpx.Client(
            base_url=f"{base_url}/api/v1/", headers=headers, timeout=timeout, limits=limits, transport=transport
        )
        # Signed upload/download URLs carry their own authorization; sending our key along would leak it to the
        # object store (and break S3 signatures).
        self.blobs = httpx.Client(
            headers={"User-Agent": headers["User-Agent"]},
            timeout=timeout,
            limits=limits,
            transport=transport,
            follow_redirects=True,
        )

    def close(self) -> None:
        self.api.close()
        self.blobs.close()

    def retrying(
        self, action: Callable[[], Any], *, on_retry: Callable[[], None] | None = None, target: str | None = None
    ) -> Any:
        """Run `action`, retrying connection errors and 5xx (ServerError) with exponential backoff and jitter."""
        for attempt in range(self.max_retries + 1):
            try:
                return action()
            except (*_RETRYABLE, ServerError) as exc:
                if attempt >= self.max_retries:
                    if isinstance(exc, ServerError):
                        raise
                    raise ConnectionFailed(f"Could not reach {target or self.base_url}: {exc}") from exc
                if on_retry:
                    on_retry()
                time.sleep(min(self.backoff * 2**attempt, 30.0) * (0.5 + random.random() / 2))
            except httpx.TransportError as exc:  # not worth retrying: bad URL, unsupported protocol, …
                raise ConnectionFailed(f"Could not reach {target or self.base_url}: {exc}") from exc
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        """Call an API endpoint; return its decoded JSON (None for 204)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}

        def action():
            request = self.api.build_request(method, path.lstrip("/"), params=params or None, json=json)
            return raise_for_status(self.api.send(request))

        response = self.retrying(action)
        warning = response.headers.get("Warning", "")
        if warning.startswith("299 "):  # e.g. a migrated legacy model registry path (W&B's deprecation text)
            warnings.warn(warning[4:].lstrip("- ").strip('"'), FutureWarning, stacklevel=3)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise RegistryError(
                f"The server answered {method} {path} with something that is not JSON.",
                status_code=response.status_code,
            ) from exc

    def absolute(self, url: str) -> str:
        """Signed URLs may be relative to the server (filesystem store) or absolute (S3)."""
        return urljoin(self.base_url + "/", url)
