"""Settings, all read from the environment.

Embedded mode (the default) needs nothing: SQLite in WAL mode, the Huey queue and the
generated keys live in ``FRONTDESK_DATA_DIR`` (``./data``). Scale mode sets
``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (task queue and websocket layer).
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("FRONTDESK_DATA_DIR", "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _kept_secret(env_name: str, filename: str, make) -> str:
    """A secret from the environment, else generated once and kept in the data dir."""
    if value := os.environ.get(env_name):
        return value
    path = DATA_DIR / filename
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def _fernet_key() -> str:
    return Fernet.generate_key().decode()


SECRET_KEY = _kept_secret("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
FRONTDESK_ENCRYPTION_KEY = _kept_secret("FRONTDESK_ENCRYPTION_KEY", "encryption.key", _fernet_key)
DEBUG = _env_bool("FRONTDESK_DEBUG")
BASE_URL = os.environ.get("FRONTDESK_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "FRONTDESK_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver"
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [BASE_URL]

# The channels this install offers: one dotted path per provider package, each exposing
# ``CONNECTORS`` (connectors/registry.py). A new channel is one folder plus one line here;
# ``FRONTDESK_CONNECTORS`` (comma-separated paths) replaces the list for one run.
FRONTDESK_CONNECTORS = [
    "frontdesk.connectors.api",
    "frontdesk.connectors.whatsapp_cloud",
    "frontdesk.connectors.unipile",
    "frontdesk.connectors.email",
]
if os.environ.get("FRONTDESK_CONNECTORS", "").strip():
    FRONTDESK_CONNECTORS = [
        p.strip() for p in os.environ["FRONTDESK_CONNECTORS"].split(",") if p.strip()
    ]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # /api/v1/docs then loads Swagger UI from the app's static files, not a CDN
    "huey.contrib.djhuey",
    "channels",
    "frontdesk.core",
    "frontdesk.workspaces",
    "frontdesk.inbox",
    "frontdesk.crm",
    "frontdesk.web",
    "frontdesk.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "frontdesk.api.middleware.api_json_errors",  # every /api/ answer is JSON, errors too
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "frontdesk.workspaces.middleware.workspace_middleware",
]

ROOT_URLCONF = "frontdesk.urls"
ASGI_APPLICATION = "frontdesk.asgi.application"
WSGI_APPLICATION = "frontdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "OPTIONS": {
            # The apps' templates, then each registered connector's own (its folder's
            # templates/: a connector is registered by FRONTDESK_CONNECTORS, not as an app).
            "loaders": [
                (
                    "django.template.loaders.cached.Loader",
                    [
                        "django.template.loaders.app_directories.Loader",
                        "frontdesk.web.connector_files.Templates",
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "frontdesk.web.context.shell",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------
if os.environ.get("DATABASE_URL"):
    # Connections are kept a minute and checked before each request or task reuses one, so
    # a connection the server dropped (a restart, a failover) is replaced, never answered 500.
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True
        )
    }
    # One test database per test run, so that two runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
else:
    DATABASES = {
        "default": {
            "ENGINE": "frontdesk.core.sqlite",
            "NAME": str(DATA_DIR / "frontdesk.sqlite3"),
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write
                # lock at BEGIN so two writers queue instead of failing mid-transaction.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # HTTP runs on a fixed pool of threads (see asgi.py): keep their connections.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            # Tests use a file too (not shared-cache memory), so locking behaves as in production.
            "TEST": {"NAME": str(DATA_DIR / "test-frontdesk.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- background jobs and websockets ------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY_IMMEDIATE = _env_bool("FRONTDESK_HUEY_IMMEDIATE")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("FRONTDESK_QUEUE_NAME", "frontdesk"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": os.environ.get("FRONTDESK_QUEUE_NAME", "frontdesk"),
            },
        }
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "frontdesk",
        "filename": str(DATA_DIR / "queue.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "frontdesk.realtime.layer.ProcessGroupLayer"}}

# --- people ------------------------------------------------------------------------------
AUTH_USER_MODEL = "workspaces.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # a reset link works for a day, once
# The app's own mail (workspaces.mail): a workspace's Settings > Outgoing mail, else this.
FRONTDESK_SMTP_URL = os.environ.get("FRONTDESK_SMTP_URL", "")
FRONTDESK_MAIL_FROM = os.environ.get("FRONTDESK_MAIL_FROM", "")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = DATA_DIR / "files"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The apps' static files, then each registered connector's own (its folder's static/).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "frontdesk.web.connector_files.StaticFiles",
]
# Serve straight from the apps' static folders: no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- safety ------------------------------------------------------------------------------
_https = BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = int(os.environ.get("FRONTDESK_HSTS_SECONDS", "0"))
FRONTDESK_BEHIND_PROXY = _env_bool("FRONTDESK_BEHIND_PROXY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if FRONTDESK_BEHIND_PROXY else None
# Login throttle (workspaces/throttle.py): this many failed sign-ins within the window for
# one account from one address, from one address (an office behind one address gets more),
# or for one account from all addresses together, and sign-in is refused there until the
# oldest of them leaves the window.
FRONTDESK_LOGIN_WINDOW_MINUTES = int(os.environ.get("FRONTDESK_LOGIN_WINDOW_MINUTES", "15"))
FRONTDESK_LOGIN_MAX_FAILURES_ACCOUNT = int(
    os.environ.get("FRONTDESK_LOGIN_MAX_FAILURES_ACCOUNT", "10")
)
FRONTDESK_LOGIN_MAX_FAILURES_ADDRESS = int(
    os.environ.get("FRONTDESK_LOGIN_MAX_FAILURES_ADDRESS", "50")
)
FRONTDESK_LOGIN_MAX_FAILURES_ACCOUNT_TOTAL = int(
    os.environ.get("FRONTDESK_LOGIN_MAX_FAILURES_ACCOUNT_TOTAL", "100")
)
X_FRAME_OPTIONS = "SAMEORIGIN"
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024

from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "connect-src": [CSP.SELF, "ws:", "wss:"],
    "frame-src": [CSP.SELF],
    "frame-ancestors": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}

# --- limits and providers ----------------------------------------------------------------
FRONTDESK_MAX_ATTACHMENT_BYTES = int(
    os.environ.get("FRONTDESK_MAX_ATTACHMENT_BYTES", str(25 * 1024 * 1024))
)
# Request bodies (frontdesk/core/limits.py): refused with 413 before they are read.
FRONTDESK_MAX_UPLOAD_BYTES = int(
    os.environ.get("FRONTDESK_MAX_UPLOAD_BYTES", str(4 * FRONTDESK_MAX_ATTACHMENT_BYTES))
)
FRONTDESK_MAX_WEBHOOK_BYTES = int(
    os.environ.get("FRONTDESK_MAX_WEBHOOK_BYTES", str(5 * 1024 * 1024))
)
# A CSV file of contacts (crm/actions/contact_import.py): its size and rows.
FRONTDESK_MAX_IMPORT_BYTES = int(os.environ.get("FRONTDESK_MAX_IMPORT_BYTES", str(5 * 1024 * 1024)))
FRONTDESK_MAX_IMPORT_ROWS = int(os.environ.get("FRONTDESK_MAX_IMPORT_ROWS", "20000"))
FRONTDESK_MAX_FORM_BYTES = int(os.environ.get("FRONTDESK_MAX_FORM_BYTES", str(4 * 1024 * 1024)))
FRONTDESK_MAX_TEXT_CHARS = int(os.environ.get("FRONTDESK_MAX_TEXT_CHARS", "200000"))
FRONTDESK_HTTP_THREADS = int(os.environ.get("FRONTDESK_HTTP_THREADS", "16"))
# Threads of their own for provider webhooks (core/http.py WSGIBridge; 0: the pool above).
FRONTDESK_WEBHOOK_THREADS = int(os.environ.get("FRONTDESK_WEBHOOK_THREADS", "2"))
# ``frontdesk run`` serves HTTP from this many processes (one Python process uses one core).
FRONTDESK_WEB_PROCESSES = int(
    os.environ.get("FRONTDESK_WEB_PROCESSES", str(min(os.cpu_count() or 1, 4)))
)
# Seconds for a whole outbound call (connectors/http.py); a file sent or fetched gets longer.
FRONTDESK_HTTP_TIMEOUT = float(os.environ.get("FRONTDESK_HTTP_TIMEOUT", "10"))
FRONTDESK_HTTP_TRANSFER_TIMEOUT = float(os.environ.get("FRONTDESK_HTTP_TRANSFER_TIMEOUT", "120"))
# A connect flow left at the provider (OAuth consent, hosted auth) is forgotten after this.
FRONTDESK_CONNECT_PENDING_MINUTES = int(os.environ.get("FRONTDESK_CONNECT_PENDING_MINUTES", "30"))
# Links from outside (contact pictures) may point at loopback or private addresses: only
# for a closed network (or tests) where such a host is meant to be reached.
FRONTDESK_FETCH_PRIVATE_ADDRESSES = _env_bool("FRONTDESK_FETCH_PRIVATE_ADDRESSES")
# Set by `frontdesk demo`: the sidebar says the clients are simulated.
FRONTDESK_DEMO = _env_bool("FRONTDESK_DEMO")
FRONTDESK_SEND_MAX_ATTEMPTS = int(os.environ.get("FRONTDESK_SEND_MAX_ATTEMPTS", "8"))
FRONTDESK_SEND_BACKOFF_BASE = float(os.environ.get("FRONTDESK_SEND_BACKOFF_BASE", "5"))
FRONTDESK_SEND_LEASE_SECONDS = int(os.environ.get("FRONTDESK_SEND_LEASE_SECONDS", "120"))
# Teamwork: a notification still unread after this long is mailed (one digest per member).
FRONTDESK_NOTIFY_EMAIL_DELAY_SECONDS = int(
    os.environ.get("FRONTDESK_NOTIFY_EMAIL_DELAY_SECONDS", "300")
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "frontdesk": {
            "handlers": ["console"],
            "level": os.environ.get("FRONTDESK_LOG_LEVEL", "INFO"),
        },
        "huey": {"handlers": ["console"], "level": "WARNING"},
        # A 500's traceback: Django sends it only to the (absent) admins' mail when DEBUG is off.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
