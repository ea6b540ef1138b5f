"""Production settings: safe by default outside DEBUG, each switch named like its Django setting, and a
clear one-line refusal when what production needs is missing."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({name: getattr(s, name) "
    "for name in ['SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
    "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_REDIRECT_EXEMPT', 'X_FRAME_OPTIONS']}))"
)


def _run(args: list[str], **extra: str) -> subprocess.CompletedProcess:
    """A process started with a clean environment: no DEBUG, no .env, only `extra`."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "REGISTRY_ENV_FILE": "/nonexistent"}
    env |= {"DJANGO_SETTINGS_MODULE": "registry_site.settings", **extra}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


PRODUCTION = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "registry.example.com"}


def test_check_deploy_reports_no_warning_with_only_secret_key_and_allowed_hosts():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_https_settings_default_to_safe_values_and_each_switches_off_by_its_own_name():
    safe = json.loads(_run(["-c", PRINT], **PRODUCTION).stdout)
    assert safe == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_REDIRECT_EXEMPT": ["^healthz$", "^readyz$"],
        "X_FRAME_OPTIONS": "DENY",
    }
    switched = {
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
        "SECURE_HSTS_PRELOAD": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
    }
    plain = json.loads(_run(["-c", PRINT], **PRODUCTION, **switched).stdout)
    assert {name: plain[name] for name in switched} == {
        name: 0 if name.endswith("SECONDS") else False for name in switched
    }


@pytest.mark.parametrize(
    ("missing", "says"),
    [
        ("SECRET_KEY", "set SECRET_KEY to a long random string"),
        ("ALLOWED_HOSTS", "set ALLOWED_HOSTS to the host names"),
    ],
)
def test_production_refuses_to_start_without_a_required_setting_in_one_line(missing, says):
    result = _run(["manage.py", "check"], **{k: v for k, v in PRODUCTION.items() if k != missing})
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert result.stderr.startswith(f"Registry cannot start: {says}")


def test_a_bad_number_fails_loudly():
    result = _run(["-c", PRINT], **PRODUCTION, SECURE_HSTS_SECONDS="a year")
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS must be a whole number" in result.stderr


def test_the_wsgi_module_loads_every_view_before_gunicorn_forks_its_workers():
    """registry_site.wsgi imports the URLconf (views, API and GraphQL schemas), so gunicorn's preloading master holds
    them: workers share those pages, freeze them out of the garbage collector and answer their first request at once."""
    loaded = "import sys, registry_site.wsgi; print(all(m in sys.modules for m in ['registry_site.urls', " + (
        "'apps.wandb_api.schema', 'apps.collections.api', 'apps.mlflow_api.views']))"
    )
    result = _run(["-c", loaded], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
