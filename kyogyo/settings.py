"""Settings, all from the environment, with safe defaults for the embedded mode.

Environment variables (documented in docs/configuration.md):

- ``DATABASE_URL``: database to use; default a SQLite file in the data directory.
- ``KYOGYO_DATA_DIR``: where the SQLite database and other files live (default ``./var``).
- ``KYOGYO_SECRET_KEY``: required when ``KYOGYO_DEBUG`` is off in production.
- ``KYOGYO_DEBUG``: ``1`` for development (default ``0``).
- ``KYOGYO_ALLOWED_HOSTS``: comma-separated host names (default ``localhost,127.0.0.1``).
- ``KYOGYO_TIME_ZONE``: company time zone (default ``Asia/Tokyo``).
- ``KYOGYO_API_RATE_LIMIT``: API requests per token, ``LIMIT/SECONDS`` (default ``600/60``).
- ``KYOGYO_WEBHOOKS_ALLOW_PRIVATE``: ``1`` lets webhooks reach private addresses (development only).
- ``KYOGYO_WEBHOOKS_LEASE_SECONDS``: how long a claimed webhook delivery waits before another run may
  send it again, if its sender stopped (default 300).
- ``KYOGYO_TASK_TIMEOUT_SECONDS``, ``KYOGYO_TASK_RETRY_SECONDS``: the background worker's task time
  limit and when a task taken by a worker that died is run again (defaults 600 and 900).
- ``KYOGYO_SNAPSHOT_DIR``: where the analytics snapshot lives (default ``<data dir>/snapshot``).
- ``KYOGYO_PROXY_HOPS``: reverse proxies in front whose ``X-Forwarded-For`` entry is trusted (default 0).
- ``KYOGYO_INTAKE_MAX_FORM_BYTES``, ``KYOGYO_INTAKE_MAX_HOOK_BYTES``, ``KYOGYO_INTAKE_HOOK_WINDOW_SECONDS``,
  ``KYOGYO_INTAKE_DUPLICATE_SECONDS``: limits of website forms and inbound webhooks (docs/intake.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("KYOGYO_DATA_DIR", "var")).resolve()
DEBUG = _env_bool("KYOGYO_DEBUG", False)

# The embedded default needs no configuration; the key is derived per data
# directory so sessions survive restarts. Production sets KYOGYO_SECRET_KEY.
SECRET_KEY = os.environ.get("KYOGYO_SECRET_KEY") or f"kyogyo-embedded-insecure-{DATA_DIR}"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("KYOGYO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "ninja",  # only for its bundled API docs assets (served locally, no CDN)
    "kyogyo.web",  # before the admin: its sign-in and password templates win
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "django_htmx",
    "csp",
    "kyogyo.org",
    "kyogyo.customers",
    "kyogyo.marketing",
    "kyogyo.deals",
    "kyogyo.success",
    "kyogyo.journey",
    "kyogyo.scoring",
    "kyogyo.handoffs",
    "kyogyo.analytics",
    "kyogyo.api",
    "kyogyo.imports",
    "kyogyo.webhooks",
    "kyogyo.intake",
    "kyogyo.demo",
    "kyogyo.ops",
    "kyogyo.audit",
    "kyogyo.healthcheck",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kyogyo.web.middleware.PersonalPreferencesMiddleware",
    "kyogyo.web.middleware.RestrictedFieldsMiddleware",
    "kyogyo.audit.middleware.RequestOriginMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "kyogyo.api.idempotency.IdempotencyMiddleware",
    "kyogyo.api.strict.UnknownQueryParametersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kyogyo.urls"
WSGI_APPLICATION = "kyogyo.wsgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "kyogyo.web.context.workspace",
            ],
        },
    },
]


def _plotly_assets() -> Path:
    """plotly.js ships inside the plotly Python package: served from there, no CDN."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data"


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'kyogyo.sqlite3'}"
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run while one writer writes; IMMEDIATE makes a
        # transaction take the write lock up front so two writers queue
        # instead of failing half-way with "database is locked".
        config["OPTIONS"] = {
            "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"),
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("KYOGYO_TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True


# API requests per token: "LIMIT/SECONDS" (default 600 a minute); over it the API answers 429.
def _rate(name: str, default: str) -> tuple[int, int]:
    text = os.environ.get(name, default)
    try:
        limit, window = (int(part) for part in text.split("/"))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must look like 600/60 (requests/seconds), got {text!r}") from exc
    if limit <= 0 or window <= 0:
        raise ImproperlyConfigured(f"{name} needs positive numbers, got {text!r}")
    return limit, window


KYOGYO_API_RATE_LIMIT = _rate("KYOGYO_API_RATE_LIMIT", "600/60")

# Sign-in: wrong passwords per account before it locks for the rest of the window, and
# attempts per client address (see docs/security.md).
KYOGYO_LOGIN_LOCKOUT = _rate("KYOGYO_LOGIN_LOCKOUT", "5/900")
KYOGYO_LOGIN_RATE_LIMIT = _rate("KYOGYO_LOGIN_RATE_LIMIT", "30/300")
AUTHENTICATION_BACKENDS = ["kyogyo.org.signin.LockoutBackend"]

# Outbound webhooks may reach private and loopback addresses only when this is on (development).
KYOGYO_WEBHOOKS_ALLOW_PRIVATE = _env_bool("KYOGYO_WEBHOOKS_ALLOW_PRIVATE", False)
# A delivery being sent is leased this long; if its sender dies, the next run after it sends it again.
KYOGYO_WEBHOOKS_LEASE_SECONDS = int(os.environ.get("KYOGYO_WEBHOOKS_LEASE_SECONDS", "300"))

# The analytics snapshot (DuckDB generations and their manifest); see docs/analytics.md.
KYOGYO_SNAPSHOT_DIR = Path(os.environ.get("KYOGYO_SNAPSHOT_DIR", DATA_DIR / "snapshot")).resolve()

# Website forms and inbound webhooks (/intake/…); see docs/intake.md.
KYOGYO_PROXY_HOPS = int(os.environ.get("KYOGYO_PROXY_HOPS", "0"))
KYOGYO_INTAKE_MAX_FORM_BYTES = int(os.environ.get("KYOGYO_INTAKE_MAX_FORM_BYTES", "65536"))
KYOGYO_INTAKE_MAX_HOOK_BYTES = int(os.environ.get("KYOGYO_INTAKE_MAX_HOOK_BYTES", "1048576"))
KYOGYO_INTAKE_HOOK_WINDOW_SECONDS = int(os.environ.get("KYOGYO_INTAKE_HOOK_WINDOW_SECONDS", "300"))
KYOGYO_INTAKE_DUPLICATE_SECONDS = int(os.environ.get("KYOGYO_INTAKE_DUPLICATE_SECONDS", "600"))

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it even when serving from finders
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

STATICFILES_DIRS = [("plotly", _plotly_assets())]

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# Password-reset mail: written as files into the data directory unless a real backend is set.
EMAIL_BACKEND = os.environ.get("KYOGYO_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "outbox"
DEFAULT_FROM_EMAIL = os.environ.get("KYOGYO_FROM_EMAIL", "kyogyo@localhost")

# Content Security Policy: every script and style from our own origin, nothing inline, no eval.
# Plotly sets element styles through the CSSOM (allowed); violations are reported to /csp-report.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "report-uri": "/csp-report",
    },
}

# Behind HTTPS (production): secure cookies, redirect to HTTPS, HSTS. Off for the embedded
# local use on http://127.0.0.1. `kyogyo check --deploy` is clean with KYOGYO_HTTPS=1.
KYOGYO_HTTPS = _env_bool("KYOGYO_HTTPS", False)
if KYOGYO_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's probe speaks plain HTTP
    SECURE_HSTS_SECONDS = int(os.environ.get("KYOGYO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("KYOGYO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("KYOGYO_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is a commitment for the whole domain that takes
        # months to undo: the company decides (KYOGYO_HSTS_PRELOAD=1), not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    if int(os.environ.get("KYOGYO_PROXY_HOPS", "0")) > 0:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = int(os.environ.get("KYOGYO_SESSION_SECONDS", str(12 * 3600)))  # a working day
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Background work runs on the database itself (no broker server), on SQLite and PostgreSQL.
Q_CLUSTER = {
    "name": "kyogyo",
    "orm": "default",
    "workers": int(os.environ.get("KYOGYO_WORKERS", "2")),
    # A task runs at most `timeout` seconds; one taken by a worker that died (killed, the machine
    # restarted) is handed out again `retry` seconds after it was taken (docs/reliability.md).
    "timeout": int(os.environ.get("KYOGYO_TASK_TIMEOUT_SECONDS", "600")),
    "retry": int(os.environ.get("KYOGYO_TASK_RETRY_SECONDS", "900")),
    "catch_up": False,
    "save_limit": 1000,
    "label": "Background tasks",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KYOGYO_LOG_LEVEL", "WARNING")},
}
