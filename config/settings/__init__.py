"""Clearhouse settings: one module, every knob an environment variable (see README)."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.settings.logging import build_logging

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-only-key"  # DEBUG only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "core.apps.ClearhouseAdminConfig",  # the admin site, as the operations console
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_structlog",
    "axes",
    "core",
    "ledger",
    "trading",
    "risk",
    "settlement",
]

# Browser-only layers (core.browser_middleware) step aside for the partner API's operations.
MIDDLEWARE = [
    "core.middleware.TraceIdMiddleware",
    "core.browser_middleware.RequestLogMiddleware",  # django-structlog
    "core.middleware.ApiRequestLogMiddleware",  # its lean twin for /api/v<N>/
    "core.middleware.ApiErrorEnvelopeMiddleware",
    "core.middleware.ApiDeprecationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.browser_middleware.WhiteNoiseMiddleware",  # static files (admin, Swagger UI)
    "core.browser_middleware.SessionMiddleware",
    "core.middleware.CommonMiddleware",
    "core.browser_middleware.CsrfViewMiddleware",
    "core.browser_middleware.AuthenticationMiddleware",
    "core.browser_middleware.MessageMiddleware",
    "core.browser_middleware.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # every path: the token endpoint's lockout
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "core.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
            ],
        },
    },
]

# --- Database: PostgreSQL from DATABASE_URL, else the embedded SQLite file ---------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, whose per-request health check polls the socket instead of
        # running SELECT 1 (a round trip per request).
        DATABASES["default"]["ENGINE"] = "core.postgresql"
        # Bind parameters on the server and prepare statements the ledger runs thousands of
        # times, instead of parsing and planning each anew. Behind PgBouncer in transaction
        # mode this needs max_prepared_statements (1.21+), or DB_PREPARE_THRESHOLD=0 to stop.
        threshold = env.int("DB_PREPARE_THRESHOLD", default=5)
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=threshold or None
        )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # Writers take the lock up front: no "database is locked" on upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
    # SQLite cannot make NULL owners (house accounts) collide in a unique constraint; on the
    # embedded default, account_open's own check keeps house account codes unique.
    SILENCED_SYSTEM_CHECKS = ["models.W047"]

# --- Cache (token store, throttles, velocity counters): Redis from REDIS_URL, else memory -
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",  # Django's, one client per pool
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="clearhouse"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery: broker from CELERY_BROKER_URL or REDIS_URL; eager when there is none ----------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is run again: tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "core.scheduler:ConsoleScheduler"  # keeps staff edits to the schedule
CELERY_BEAT_SCHEDULE = {
    "idempotency-keys-purge": {
        "task": "core.tasks.idempotency_keys_purge",
        "schedule": timedelta(hours=1),
    },
    "ledger-pending-expire": {"task": "ledger.tasks.ledger_pending_expire", "schedule": 30.0},
    "ledger-hold-events-deliver": {
        "task": "ledger.tasks.ledger_hold_events_deliver",
        "schedule": 30.0,
    },
    "ledger-check": {"task": "ledger.tasks.ledger_check", "schedule": timedelta(minutes=10)},
    "ledger-verify": {"task": "ledger.tasks.ledger_verify", "schedule": timedelta(hours=1)},
    "trading-holds-release": {"task": "trading.tasks.trading_holds_release", "schedule": 30.0},
    # Closes the open batch once its cutoff (SETTLEMENT_CUTOFF, business time) has passed.
    "settlement-close": {"task": "settlement.tasks.settlement_close_due", "schedule": 60.0},
    "settlement-advance": {
        "task": "settlement.tasks.settlement_batches_advance",
        "schedule": timedelta(minutes=5),
    },
    "risk-trades-score": {"task": "risk.tasks.risk_trades_score", "schedule": 30.0},
}
DJANGO_STRUCTLOG_CELERY_ENABLED = True

# --- Trading ------------------------------------------------------------------------------
# Accepted-but-unbooked orders per instrument past which order entry answers 503.
TRADING_MAX_UNMATCHED = env.int("TRADING_MAX_UNMATCHED", default=5000)
# A matcher whose heartbeat is older than this is "silent": its instrument refuses orders.
TRADING_MATCHER_SILENT_SECONDS = env.int("TRADING_MATCHER_SILENT_SECONDS", default=5)
# Embedded default: with no broker, order entry matches inline before the POST returns.
TRADING_MATCH_INLINE = env.bool("TRADING_MATCH_INLINE", default=CELERY_TASK_ALWAYS_EAGER)

# --- Settlement ---------------------------------------------------------------------------
# When the day's batch closes (business time, HH:MM); trades after it go to the next day's.
SETTLEMENT_CUTOFF = env.str("SETTLEMENT_CUTOFF", default="18:00")
# A pause between partners while a batch settles (leaves the database to the day's trading).
SETTLEMENT_PARTNER_PAUSE_MS = env.int("SETTLEMENT_PARTNER_PAUSE_MS", default=0)
# Reconciliation tolerances: how far a bank line may differ from its ledger transfer.
SETTLEMENT_MATCH_AMOUNT_TOLERANCE = env.int("SETTLEMENT_MATCH_AMOUNT_TOLERANCE", default=100)
SETTLEMENT_MATCH_DATE_TOLERANCE_DAYS = env.int("SETTLEMENT_MATCH_DATE_TOLERANCE_DAYS", default=2)

# --- Time ---------------------------------------------------------------------------------
USE_TZ = True
TIME_ZONE = "UTC"
BUSINESS_TIME_ZONE = env.str("BUSINESS_TIME_ZONE", default=env.str("TIME_ZONE", default="UTC"))
LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["config.formats"]  # one date-time style across the console, with its zone
USE_I18N = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Security -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out credentials
    "django.contrib.auth.backends.ModelBackend",
]
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Login brute-force protection (token endpoint and admin login): django-axes.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"  # 429 + Retry-After; envelope on /api/

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "ALLOWED_VERSIONS": ["v1", "v2"],
    "DEFAULT_VERSION": "v1",
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.api.authentication.PartnerJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.IsPartnerUser"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.PartnerRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.negotiation.JSONOnlyNegotiation",
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The client address is REMOTE_ADDR, as for django-axes: a client-sent X-Forwarded-For
    # must not give it a fresh throttle bucket per request.
    "NUM_PROXIES": 0,
}
# Requests per audience; read on each request so tests and operators can change them.
API_THROTTLE_RATES = {
    "partner": env.str("THROTTLE_PARTNER", default="6000/min"),
    "auth": env.str("THROTTLE_AUTH", default="30/min"),
}
API_PAGE_SIZE = 50
# A full batch (1,000 transfers, each with up to 8 KB of metadata) fits; beyond is a 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
API_MAX_PAGE_SIZE = 500
# Versions still served but on their way out, e.g. DEPRECATED_API_VERSIONS=v1=2027-06-30
API_DEPRECATED_VERSIONS = env.dict("DEPRECATED_API_VERSIONS", default={})
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
# A key left "in progress" longer than this (its worker died) may be taken over by a retry.
IDEMPOTENCY_STALE_AFTER = timedelta(minutes=5)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_SECONDS", default=300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_SECONDS", default=86400)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": False,  # rotation revokes the old jti in the token store
    "UPDATE_LAST_LOGIN": True,
    "CHECK_REVOKE_TOKEN": False,  # a password change moves the session epoch (core/signals)
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Clearhouse partner API",
    "DESCRIPTION": "Ledger, trading and settlement for partner systems. Amounts are decimal "
    "strings; every error has the body {code, message, details, trace_id}.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "ENUM_NAME_OVERRIDES": {},
    # core.api.converters: an id in a path is a UUID in any case, as in a body.
    "PATH_CONVERTER_OVERRIDES": {
        "api_uuid": {
            "type": "string",
            "format": "uuid",
            "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
            "[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        }
    },
}

# --- Demo data and logging ----------------------------------------------------------------
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = build_logging(log_format=LOG_FORMAT, level=LOG_LEVEL)
