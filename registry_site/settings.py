"""Settings for Registry, driven by environment variables (see README)."""

import datetime
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean variable; refuse anything that is not clearly true or false."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated list."""
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    """Read a whole number; refuse anything else."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def refuse_to_start(message: str) -> None:
    """Stop with one line saying what to set: a traceback would bury it (gunicorn, manage.py, systemd logs)."""
    raise SystemExit(f"Registry cannot start: {message}")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a local `.env` (`make run` writes one); blank lines and `#` comments are skipped."""
    if not path.is_file():
        return {}
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ImproperlyConfigured(f"{path}, line {number}: expected KEY=VALUE, not {line!r}")
        values[name] = value.strip()
    return values


# `manage.py` commands run by hand see what `make run` set up: the environment wins over the file.
ENV_FILE = Path(os.environ.get("REGISTRY_ENV_FILE") or BASE_DIR / ".env")
for _name, _value in read_env_file(ENV_FILE).items():
    os.environ.setdefault(_name, _value)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        refuse_to_start(
            "set SECRET_KEY to a long random string, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'` (SECRET_KEY is required unless DEBUG=true)"
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not ALLOWED_HOSTS and not DEBUG:
    refuse_to_start("set ALLOWED_HOSTS to the host names clients use, comma-separated (e.g. registry.example.com)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The Registry App can be switched off as a whole (W&B's ENABLE_REGISTRY_UI).
ENABLE_REGISTRY_UI = env_bool("ENABLE_REGISTRY_UI", True)

VAR_DIR = Path(os.environ.get("REGISTRY_VAR_DIR", BASE_DIR / "var"))
ARTIFACT_STORAGE_URL = os.environ.get("ARTIFACT_STORAGE_URL", f"file://{VAR_DIR / 'blobs'}")


def _retention_days() -> float:
    raw = os.environ.get("ARTIFACT_DELETE_RETENTION_DAYS", "7")
    try:
        days = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"ARTIFACT_DELETE_RETENTION_DAYS must be a number of days, not {raw!r}") from None
    if not 0 <= days <= 36500:
        raise ImproperlyConfigured("ARTIFACT_DELETE_RETENTION_DAYS must be between 0 and 36500")
    return days


# A deleted source version (by its team or its time-to-live) keeps its files this long, restorable,
# before the worker releases them and garbage-collects the blobs nothing else holds.
ARTIFACT_DELETE_RETENTION_DAYS = _retention_days()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # Django's form templates, for the TemplatesSetting renderer (overrides: templates/django/forms/)
    "guardian",
    "django_htmx",
    "template_partials",
    "csp",
    "ninja",  # serves the API docs' Swagger UI from our static files, not a CDN
    "apps.audit",
    "apps.orgs",
    "apps.artifacts",
    "apps.registries",
    "apps.collections",
    "apps.mlflow_api",
    # Before django_tasks_db: its `db_worker` command (the same worker, plus a heartbeat and the recovery of tasks
    # a dead worker held) takes the place of django_tasks_db's.
    "apps.ops",
    "django_tasks",
    "django_tasks_db",
    "apps.automations",
    "apps.demo",
    "apps.wandb_api",
    "apps.legacy",
    "axes",
]

MIDDLEWARE = [
    "lib.request_log.RequestLogMiddleware",  # first: its id, duration and log line cover everything below
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "lib.text.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "lib.error_pages.ErrorPagesMiddleware",  # the site's own 404 page under DEBUG too (Django's lists every URL)
    "django_htmx.middleware.HtmxMiddleware",
    "apps.registries.middleware.RegistryUIFlagMiddleware",
    "apps.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it turns a lockout into the 429 page
]

ROOT_URLCONF = "registry_site.urls"
WSGI_APPLICATION = "registry_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.orgs.views.shell_context",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# Connections are kept between requests (a new SQLite connection re-reads the schema and its PRAGMAs:
# reconnecting per request more than doubled an API call's server time), and checked before reuse.
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, with concurrent writers queued on a file lock instead of SQLite's sleeps (lib/sqlite_backend).
    DATABASES["default"]["ENGINE"] = "lib.sqlite_backend"
    # Tests run in memory, as Django does for SQLite unless told otherwise; said outright because tools that
    # recognise SQLite by its engine name (pytest-django naming each xdist worker's database) do not know this one.
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
        # on the busy timeout instead of failing when a read lock must be upgraded.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # A checkpoint copies each page changed since the last one once, however often it changed: every 10,000
        # pages (40 MB of WAL) instead of SQLite's 1,000 halves what checkpoints cost a write (docs/performance.md).
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        " PRAGMA wal_autocheckpoint=10000;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with timestamps read in C and no health check for a connection used a moment ago
    # (lib/postgresql_backend).
    DATABASES["default"]["ENGINE"] = "lib.postgresql_backend"
if DATABASES["default"]["ENGINE"] == "lib.postgresql_backend" and env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # Server-side parameters let psycopg prepare a statement its connection has run five times: PostgreSQL then
    # plans it once per connection, not on every call (planning a path lookup's joins took longer than running
    # it). Behind PgBouncer in transaction pooling mode, set DATABASE_PREPARED_STATEMENTS=false.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username and address before any other
    "apps.orgs.backends.PeopleModelBackend",  # refuses service accounts (no UI login)
    "guardian.backends.ObjectPermissionBackend",
]
# No database row for the anonymous user: anonymous visitors see nothing.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# Login throttling (django-axes, counted in the database so every web process sees every failure): after
# AXES_FAILURE_LIMIT failed logins for one username from one address, that pair is refused for AXES_COOLOFF_MINUTES
# (429 and a page saying so; each lockout is an audit event). API keys are not guessable and are not counted.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False  # English only: no translation lookup for every number and date a page renders
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")  # filled by `collectstatic`
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# HTTPS: outside DEBUG every setting defaults to the safe value, and each is switched by a variable named
# like the setting (SECURE_SSL_REDIRECT=false, SECURE_HSTS_SECONDS=0, … for a plain-HTTP setup).
_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _SECURE)
# Probes of load balancers and orchestrators speak plain HTTP to the app itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _SECURE else 0)  # a year
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _SECURE)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _SECURE)
# SECURE_COOKIES (the older name) sets both cookie flags at once; the settings' own names win.
_SECURE_COOKIES = env_bool("SECURE_COOKIES", _SECURE)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _SECURE_COOKIES)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _SECURE_COOKIES)
# Behind a proxy: trust its X-Forwarded-Proto, and take the client's address from its X-Forwarded-For hop.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy: scripts, styles and requests only from this site, never inline (templates keep JS in
# static/js and CSS in static/css; htmx's own indicator <style> is switched off in base.html). Under DEBUG it only
# reports (browser console), so Django's debug pages keep their inline styles; browser tests fail on any report.
_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP if DEBUG else None
CONTENT_SECURITY_POLICY = None if DEBUG else _CSP

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "registry@localhost")

# Background work (Django's Tasks API): automation deliveries run in `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# The task worker (`manage.py db_worker`) records a heartbeat this often; a worker silent for WORKER_STALE_SECONDS
# counts as dead: /readyz fails without a live one, and the tasks it held are queued again for another worker.
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "10"))
WORKER_STALE_SECONDS = float(os.environ.get("WORKER_STALE_SECONDS", "60"))
# /readyz answers 503 while no task worker is alive (set false where no worker runs on purpose).
READYZ_REQUIRES_WORKER = env_bool("READYZ_REQUIRES_WORKER", True)

# Automations: webhook deliveries.
AUTOMATION_WEBHOOK_TIMEOUT = float(os.environ.get("AUTOMATION_WEBHOOK_TIMEOUT", "10"))
AUTOMATION_MAX_ATTEMPTS = int(os.environ.get("AUTOMATION_MAX_ATTEMPTS", "3"))
AUTOMATION_RETRY_BACKOFF = float(os.environ.get("AUTOMATION_RETRY_BACKOFF", "30"))  # seconds, doubled per attempt
# SECURITY: webhooks may not reach private, loopback, link-local or metadata addresses unless this is on.
AUTOMATION_ALLOW_PRIVATE_URLS = env_bool("AUTOMATION_ALLOW_PRIVATE_URLS", False)
# This server's public address (https://registry.example.com), for links in Slack messages. Empty: the
# address a Slack channel was connected from is used.
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")

# /metrics (Prometheus text) answers `Authorization: Bearer <METRICS_TOKEN>`; without a token it is off (404).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Logs: one JSON object per line outside DEBUG (LOG_FORMAT=text for plain lines), one line per request
# (lib/request_log.py: request id, user, status, duration).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "lib.request_log.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's own request warnings repeat what the request line says (status 4xx/5xx); errors still log.
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # a line per login; lockouts are warnings (and audit events)
    },
}
