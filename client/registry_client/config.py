"""Where the client finds its server and key: arguments, then the environment, then the config file.

The file is ``$XDG_CONFIG_HOME/registry/config.toml`` (``~/.config/registry/config.toml`` by default), written
by ``registry login`` with mode 0600::

    base_url = "https://registry.example.com"
    api_key = "reg-..."
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidInput

ENV_BASE_URL = "REGISTRY_BASE_URL"
ENV_API_KEY = "REGISTRY_API_KEY"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    base_url: str
    api_key: str | None
    source: dict  # which of "argument", "environment", "config file", "default" each value came from


def config_path() -> Path:
    """The config file, honouring XDG_CONFIG_HOME."""
    root = os.environ.get("XDG_CONFIG_HOME") or ""
    base = Path(root) if root and os.path.isabs(root) else Path.home() / ".config"
    return base / "registry" / "config.toml"


def read_config(path: Path | None = None) -> dict:
    """The saved settings ({} when there is no file)."""
    path = path or config_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"The config file {path} is not valid TOML: {exc}") from exc
    return {key: value for key, value in data.items() if key in ("base_url", "api_key") and isinstance(value, str)}


def _toml_string(value: str) -> str:
    out = ['"']
    for char in value:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def write_config(base_url: str, api_key: str, path: Path | None = None) -> Path:
    """Save the settings atomically, readable by the owner only (0600)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = (
        "# Written by `registry login`. Keep this file private: it holds an API key.\n"
        f"base_url = {_toml_string(base_url)}\n"
        f"api_key = {_toml_string(api_key)}\n"
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    os.chmod(path, 0o600)
    return path


def normalize_base_url(url: str) -> str:
    """Strip spaces, trailing slashes and a trailing `/api/v1`; require http(s)."""
    url = url.strip().rstrip("/")
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"The base URL {url!r} must start with http:// or https://.")
    return url


def resolve_settings(base_url: str | None = None, api_key: str | None = None) -> Settings:
    """Arguments win over the environment, which wins over the config file."""
    saved = None
    source = {}

    def pick(name, argument, env_name, default):
        nonlocal saved
        if argument:
            source[name] = "argument"
            return argument
        if os.environ.get(env_name):
            source[name] = "environment"
            return os.environ[env_name]
        if saved is None:
            saved = read_config()
        if saved.get(name):
            source[name] = "config file"
            return saved[name]
        source[name] = "default"
        return default

    url = pick("base_url", base_url, ENV_BASE_URL, DEFAULT_BASE_URL)
    key = pick("api_key", api_key, ENV_API_KEY, None)
    return Settings(base_url=normalize_base_url(url), api_key=key.strip() if key else None, source=source)
