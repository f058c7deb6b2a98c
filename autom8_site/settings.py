"""Autom8 settings: one module for every environment, driven by variables.

Sections: core, database, cache, security, auth, rate limits, scheduler,
logging. Every variable is listed with its default in ``.env.example`` and
the README.
"""

import contextlib
import os
from datetime import timedelta
from pathlib import Path

from autom8_site.env import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    load_secrets,
)
from security.files import DIR_MODE, FILE_MODE, narrow, private_dir

# --- core ----------------------------------------------------------------------

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AUTOM8_VAR_DIR", str(BASE_DIR / "var")))
# Secrets, the SQLite database, backups and reports live here: no other
# local user may look in (an existing directory is narrowed too). A
# read-only or foreign VAR_DIR is left as it is: what needs it fails later
# with its own message.
with contextlib.suppress(OSError):
    narrow(private_dir(VAR_DIR), DIR_MODE)

AUTOM8_ENV = env_choice("AUTOM8_ENV", ("development", "production"), "development")
IS_PRODUCTION = AUTOM8_ENV == "production"
AUTOM8_VERSION = "1.0.0"

_SECRETS = load_secrets(production=IS_PRODUCTION, var_dir=VAR_DIR)
SECRET_KEY = _SECRETS["SECRET_KEY"]
JWT_SIGNING_KEY = _SECRETS["JWT_SIGNING_KEY"]
RESPONSE_SIGNING_KEY = _SECRETS["RESPONSE_SIGNING_KEY"]
BLIND_INDEX_KEY = _SECRETS["BLIND_INDEX_KEY"]
FIELD_ENCRYPTION_KEYS = [
    k.strip() for k in _SECRETS["FIELD_ENCRYPTION_KEYS"].split(",") if k.strip()
]

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    [] if IS_PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"],
)
if IS_PRODUCTION and not ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set: production needs it in the environment"
    )

INSTALLED_APPS = [
    "security.apps.Autom8AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_ratelimit",
    "django_apscheduler",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "security",
    "contacts",
    "tasks",
    # Its own templates and static files (the CSP-clean API docs page).
    "autom8_site",
]

MIDDLEWARE = [
    # Outermost: times, identifies and signs the final response, whatever
    # produced it (views, Django's 404/500 handlers, other middleware).
    "security.middleware.ResponseEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "autom8_site.urls"
WSGI_APPLICATION = "autom8_site.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Files Django's storages write (collected static files included) stay as
# private as the rest of VAR_DIR; whitenoise serves them as this user.
FILE_UPLOAD_PERMISSIONS = FILE_MODE
FILE_UPLOAD_DIRECTORY_PERMISSIONS = DIR_MODE
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, minimum=1024
)

# --- database ------------------------------------------------------------------

DATABASES = {
    "default": env_database(
        "DATABASE_URL",
        f"sqlite:///{VAR_DIR / 'autom8.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if IS_SQLITE:
    # The API and the scheduler write at once: WAL lets readers run beside a
    # writer, IMMEDIATE takes the write lock at BEGIN (no deadlocking lock
    # upgrades) and the busy timeout makes a writer wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30, minimum=1),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so live servers and worker processes share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_autom8.sqlite3")}
else:
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", 5, minimum=1
    )

# --- cache ---------------------------------------------------------------------

REDIS_URL = env_redis_url("REDIS_URL")
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "autom8")
# Node-local caches of the embedded default (rate-limit counters, cached
# users), shared by the worker processes of one node.
CACHE_DIR = Path(env_str("CACHE_DIR", str(VAR_DIR / "cache")))
if REDIS_URL:
    _redis = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
            # A Redis outage degrades the service instead of failing requests;
            # rate limiting then follows RATELIMIT_FAIL_OPEN.
            "IGNORE_EXCEPTIONS": True,
        },
    }
    CACHES = {"default": _redis, "ratelimit": dict(_redis), "shared": dict(_redis)}
else:
    _node_cache = {
        "BACKEND": "security.cache.backends.NodeCache",
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "SHARDS": 4,
        "OPTIONS": {
            # WAL with synchronous=NORMAL: a commit writes to the WAL without
            # an fsync; only the periodic checkpoint syncs, and a crash of
            # the machine loses recent writes but never corrupts the file.
            "sqlite_journal_mode": "wal",
            "sqlite_synchronous": 1,
            "statistics": 0,
            "tag_index": 0,
        },
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "autom8",
        },
        # Counters must be shared by every worker process and never evicted
        # while live: no eviction policy and no size limit apply; writes
        # remove only expired counters (cull_limit at a time).
        "ratelimit": {
            **_node_cache,
            "LOCATION": str(CACHE_DIR / "ratelimit"),
            "OPTIONS": {
                **_node_cache["OPTIONS"],
                "eviction_policy": "none",
                "cull_limit": 10,
            },
        },
        # What every worker must see at once (cached users, page-cache
        # generations): least recently stored entries go first past the size
        # limit (a lost generation starts afresh, see security.cache).
        "shared": {
            **_node_cache,
            "LOCATION": str(CACHE_DIR / "shared"),
            "OPTIONS": {**_node_cache["OPTIONS"], "size_limit": 256 * 2**20},
        },
    }
# Rendered GET answers (security.cache.pages): in each process's memory, keyed by
# the shared generations, so they are never stale. Bounded per process: 100
# pages of at most 256 KiB, 4 MiB in all; the least recently used go first.
CACHE_TTL = env_int("CACHE_TTL", 300, minimum=0)
CACHES["pages"] = {
    "BACKEND": "security.cache.pages.PageCache",
    "LOCATION": "autom8-pages",
    "TIMEOUT": CACHE_TTL or None,
    "OPTIONS": {"MAX_ENTRIES": 100, "CULL_FREQUENCY": 4, "MAX_BYTES": 4 * 2**20},
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "autom8.cache"

# --- security ------------------------------------------------------------------

PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
SECURE_HTTPS = env_bool("SECURE_HTTPS", IS_PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = "default-src 'self'"
PERMISSIONS_POLICY = "geolocation=(), camera=(), microphone=(), payment=()"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_HTTPS)
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0, minimum=0
)
# Both bind more than this service (every subdomain; browsers' built-in
# lists, hard to leave), so the operator opts in explicitly.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = [
    "X-Response-Time",
    "X-Autom8-Integrity",
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "Deprecation",
    "Sunset",
    "Link",
    "Location",
]

DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "").upper() or None

# --- auth ----------------------------------------------------------------------

JWT_ACCESS_TTL = env_int("JWT_ACCESS_TTL", 24 * 3600, minimum=1)
JWT_REFRESH_TTL = env_int("JWT_REFRESH_TTL", 7 * 24 * 3600, minimum=1)
# However often it is refreshed, a session ends this long after its login.
JWT_SESSION_MAX_AGE = env_int("JWT_SESSION_MAX_AGE", 30 * 24 * 3600, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "security.authentication.BearerAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["security.throttling.DefaultRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["security.parsers.JSONBodyParser"],
    "EXCEPTION_HANDLER": "security.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "autom8_site.openapi_schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # `format` is an ordinary, ignored query parameter (contract §0): it must
    # not pick a renderer, or every `?format=xml` would be a 404.
    "URL_FORMAT_OVERRIDE": None,
}

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_TTL),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_TTL),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "CHECK_USER_IS_ACTIVE": True,
    # Every token carries a fingerprint of the password hash: a password
    # change invalidates all of them.
    "CHECK_REVOKE_TOKEN": True,  # nosec B105 - a switch, not a password
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Autom8 API",
    "DESCRIPTION": "Contacts with encrypted PII and scheduled automation tasks.",
    "VERSION": AUTOM8_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "autom8_site.openapi.attach_contract_shapes",
    ],
}

# --- rate limits ---------------------------------------------------------------

SILENCED_SYSTEM_CHECKS = [
    # includeSubDomains and preload are opt-in (above), not oversights.
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]

RATE_LIMIT_DEFAULT = env_int("RATE_LIMIT_DEFAULT", 5000, minimum=1)
RATE_LIMIT_LOGIN = env_int("RATE_LIMIT_LOGIN", 10, minimum=1)
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_USE_CACHE = "ratelimit"
# When the rate-limit cache cannot be reached: true keeps the API serving
# (the default limit is skipped, health reports the cache down); token
# issuing always fails closed, so passwords cannot be guessed meanwhile.
RATELIMIT_FAIL_OPEN = env_bool("RATELIMIT_FAIL_OPEN", True)
if not REDIS_URL:
    # django-ratelimit warns about any backend outside its short list; the
    # embedded NodeCache increments atomically (one SQLite transaction) and is
    # shared by the workers of the node. Its E003 (known-broken backends)
    # stays on.
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.W001"]

# --- scheduler -----------------------------------------------------------------

APSCHEDULER_DATETIME_FORMAT = "Y-m-d H:i:s"
SCHEDULER_HEARTBEAT_SECONDS = env_int("SCHEDULER_HEARTBEAT_SECONDS", 5, minimum=1)
SCHEDULER_LEASE_SECONDS = env_int("SCHEDULER_LEASE_SECONDS", 10, minimum=2)
SCHEDULER_MISFIRE_GRACE_SECONDS = env_int(
    "SCHEDULER_MISFIRE_GRACE_SECONDS", 300, minimum=1
)
# A leading seconds field in task schedules (6-field cron), for tests and demos.
SCHEDULER_ALLOW_SECONDS = env_bool("SCHEDULER_ALLOW_SECONDS", False)
SHUTDOWN_GRACE_SECONDS = env_int("SHUTDOWN_GRACE_SECONDS", 60, minimum=0)
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(VAR_DIR / "backups")))
BACKUP_KEEP = env_int("BACKUP_KEEP", 7, minimum=1)
REPORT_DIR = Path(env_str("REPORT_DIR", str(VAR_DIR / "reports")))
TASK_LOG_RETENTION_DAYS = env_int("TASK_LOG_RETENTION_DAYS", 30, minimum=1)
TASK_FALLBACK_LOG = Path(
    env_str("TASK_FALLBACK_LOG", str(VAR_DIR / "task_fallback.jsonl"))
)
TASK_HEARTBEAT_SECONDS = env_int("TASK_HEARTBEAT_SECONDS", 30, minimum=1)
TASK_STALE_SECONDS = env_int("TASK_STALE_SECONDS", 300, minimum=2)
# A run request no scheduler picked up in this time is given up (interrupted)
# rather than run hours late when a scheduler finally starts.
TASK_QUEUE_TIMEOUT_SECONDS = env_int("TASK_QUEUE_TIMEOUT_SECONDS", 3600, minimum=10)
ALERT_EMAILS = env_list("ALERT_EMAILS", [])

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "autom8@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- logging -------------------------------------------------------------------

# Errors and warnings also go to a rotating JSON-lines file, read by
# GET /api/v1/logs/errors and manage.py analyze_logs.
LOG_DIR = Path(env_str("LOG_DIR", str(VAR_DIR / "logs")))
ERROR_LOG_FILE = LOG_DIR / "errors.jsonl"
ERROR_LOG_MAX_BYTES = env_int("ERROR_LOG_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
ERROR_LOG_BACKUPS = env_int("ERROR_LOG_BACKUPS", 5, minimum=1)
# A request slower than this is logged as a warning (and so in the error log).
SLOW_REQUEST_MS = env_int("SLOW_REQUEST_MS", 1000, minimum=1)
# Where every process of the node keeps its metrics (prometheus-client's
# multiprocess mode). prometheus-client reads the variable when it is first
# imported, so it is exported here, before any code can import it.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "metrics"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR

LOG_LEVEL = env_choice(
    "LOG_LEVEL", ("debug", "info", "warning", "error"), "info"
).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "security.logging.RequestIdFilter"},
        "redact_pii": {"()": "security.logging.RedactPIIFilter"},
        "one_line_warning": {"()": "security.logging.OneLineWarningFilter"},
    },
    "formatters": {
        "json": {
            "()": "security.logging.JsonFormatter",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "redact_pii"],
        },
        "error_file": {
            "class": "security.errorlog.PrivateRotatingFileHandler",
            "filename": str(ERROR_LOG_FILE),
            "maxBytes": ERROR_LOG_MAX_BYTES,
            "backupCount": ERROR_LOG_BACKUPS,
            "delay": True,
            "level": "WARNING",
            "formatter": "json",
            "filters": ["request_id", "redact_pii"],
        },
        # One line per request, written by a thread of its own: the response
        # never waits for stderr. Other lines stay in order with the
        # program's own output (commands print their errors to stderr).
        "access": {
            "class": "security.logging.BackgroundHandler",
            "formatter": "json",
            "filters": ["request_id", "redact_pii"],
        },
    },
    "root": {"handlers": ["console", "error_file"], "level": LOG_LEVEL},
    "loggers": {
        "django": {
            "handlers": ["console", "error_file"],
            "level": LOG_LEVEL,
            "propagate": False,
        },
        # Access lines: written by a thread of their own; the warnings among
        # them (5xx, slow requests) also reach the error log.
        "autom8.request": {
            "handlers": ["access", "error_file"],
            "level": LOG_LEVEL,
            "propagate": False,
        },
        # 4xx answers are expected traffic, not warnings.
        "django.request": {
            "handlers": ["console", "error_file"],
            "level": "ERROR",
            "propagate": False,
        },
        # A forged Host header is client error, answered 400: one warning
        # line, not a traceback at ERROR per request.
        "django.security.DisallowedHost": {"filters": ["one_line_warning"]},
        "django.server": {
            "handlers": ["console", "error_file"],
            "level": "WARNING",
            "propagate": False,
        },
        "apscheduler": {
            "handlers": ["console", "error_file"],
            "level": "WARNING",
            "propagate": False,
        },
    },
}
