"""
Settings for Newsroom, in one module.

Everything that differs between a laptop and production comes from an
environment variable with a safe local default; README.md lists them all.
Production secrets have no usable default: with DJANGO_DEBUG off the
development secret key is refused.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as corsheaders_default_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable, refusing anything ambiguous."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    normalized = value.strip().lower()
    if normalized in {"1", "true", "yes", "on"}:
        return True
    if normalized in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a yes/no value; use one of 1, 0, true, false."
    )


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated environment variable."""
    value = os.environ.get(name, "")
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items or default


DEBUG = env_bool("DJANGO_DEBUG", True)

DEVELOPMENT_SECRET_KEY = "django-insecure-newsroom-development-key-not-for-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if not DEBUG and (
    len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY.startswith("django-insecure-")
):
    # The same test as `check --deploy`, made a refusal: signed preview links,
    # sessions and password resets are only as safe as this key.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a long random value when DJANGO_DEBUG "
        "is off (at least 50 characters, not the development key); make one with "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS must list the site's host names when DJANGO_DEBUG "
        "is off (for example news.example.com)."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "reversion",
    "csp",
    "axes",
    "articles",
]

MIDDLEWARE = [
    # One structured line per request, timed around everything below it.
    "newsroom.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Anonymous readers' pages, feeds and API answers from the shared cache.
    "articles.cache.PublicCacheMiddleware",
    # Inside the page cache, so a cached page keeps the policy it was made with.
    "articles.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Every write request keeps one revision of what it saved (who, when).
    "articles.middleware.RevisionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a locked-out login into the lockout page (django-axes asks to be last).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "newsroom.urls"

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
                "articles.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "newsroom.wsgi.application"
ASGI_APPLICATION = "newsroom.asgi.application"


# Database: a SQLite file by default, PostgreSQL (or anything dj-database-url
# understands) when DATABASE_URL is set.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "600")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers share the file: WAL lets readers run beside a
    # writer, the timeout makes a writer wait for the lock instead of failing
    # at once, and IMMEDIATE transactions take the write lock up front so two
    # transactions never deadlock upgrading from a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA busy_timeout=20000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The controlled tag vocabulary (and later the editorial roles) ship here.
FIXTURE_DIRS = [BASE_DIR / "fixtures"]


# Cache: this process's memory by default, Redis when REDIS_URL is set so that
# several app servers share one cache.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "newsroom",
            # A Redis that stops answering fails fast instead of hanging
            # every request (the page cache then serves uncached).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "newsroom",
        }
    }


# Sign-in: django-axes counts failed logins and locks out an account, and
# separately an address, after NEWSROOM_LOGIN_FAILURE_LIMIT failures in a row
# for NEWSROOM_LOGIN_LOCKOUT_MINUTES; a successful login clears the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("NEWSROOM_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(
    minutes=int(os.environ.get("NEWSROOM_LOGIN_LOCKOUT_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# A success clears that account's failures only: axes' own handler would
# also clear every failure from the address, letting anyone with an account
# guess another's password without end.
AXES_HANDLER = "newsroom.signin.AccountResetHandler"
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
AXES_CLIENT_IP_CALLABLE = "newsroom.proxies.client_ip"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


# Editors' sessions end after NEWSROOM_SESSION_IDLE_HOURS without a request
# (each request moves the end), and when the password changes.
SESSION_COOKIE_AGE = int(os.environ.get("NEWSROOM_SESSION_IDLE_HOURS", "12")) * 3600
SESSION_SAVE_EVERY_REQUEST = True


# HTTPS and the browser's own defences. DJANGO_HTTPS (on whenever
# DJANGO_DEBUG is off) sends plain-HTTP requests to HTTPS, marks cookies
# Secure and turns on HSTS; behind a proxy or load balancer that ends TLS,
# NEWSROOM_PROXY_COUNT says how many there are, so that X-Forwarded-Proto and
# X-Forwarded-For are believed from them and from nothing else.
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
NEWSROOM_PROXY_COUNT = int(os.environ.get("NEWSROOM_PROXY_COUNT", "0"))
if NEWSROOM_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = (
    int(os.environ.get("DJANGO_HSTS_SECONDS", 365 * 24 * 3600)) if HTTPS else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
# /healthz answers the load balancer's plain-HTTP probe instead of redirecting.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Other sites a reader follows a link to learn the publication, not the page.
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts, styles and fonts only from
# this site's own static files, nothing inline. JSON-LD is data a browser
# never runs; its hash is listed anyway (articles/middleware.py), so only that
# exact block would pass if a browser ever did.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Story bodies may show pictures from other HTTPS sites; Swagger UI's
        # and the admin's icons are data: URLs (an image never runs script).
        "img-src": ["'self'", "https:", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        **({"upgrade-insecure-requests": True} if HTTPS else {}),
    },
}


LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True


# Static files: collected into STATIC_ROOT and served by WhiteNoise with
# compressed, content-hashed names so they can be cached forever.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}


# The JSON API (articles/viewsets.py). Anyone may read what is public;
# editors write with a token (or their admin session).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["articles.permissions.EditorsWrite"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "articles.pagination.TimeCursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["articles.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "articles.throttling.AnonymousRateThrottle",
        "articles.throttling.SignedInRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("NEWSROOM_API_ANON_RATE", "600/minute"),
        "user": os.environ.get("NEWSROOM_API_USER_RATE", "1200/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "articles.viewsets.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
    "URL_FORMAT_OVERRIDE": None,
}
# A client that sends more than this many bytes in one request body is
# refused (413) before anything parses it, and one that sends more than this
# many parameters (in the query string too) gets a 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

SPECTACULAR_SETTINGS = {
    "TITLE": "Newsroom API",
    "DESCRIPTION": (
        "Public stories, headlines and topics as JSON, with filters, cursor "
        "pagination, conditional requests and a change feed for keeping a "
        "mirror in sync; and a write API for editors (token authentication)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # 3.1 says "this or null" as JSON Schema does; 3.0's nullable does not
    # combine with a reference.
    "OAS_VERSION": "3.1.0",
}

# Cross-origin reads of the public API from any web page; no credentials.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "Retry-After"]
# Let other sites revalidate what they read (304s), as well as read it.
CORS_ALLOW_HEADERS = [
    *corsheaders_default_headers,
    "if-none-match",
    "if-modified-since",
]


# Logs go to standard error. NEWSROOM_LOG_FORMAT=json (the default when
# DJANGO_DEBUG is off) writes one JSON object a line for a log collector;
# "plain" is for people. newsroom/request_log.py logs one line per request.
LOG_FORMAT = os.environ.get("NEWSROOM_LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(
        f"NEWSROOM_LOG_FORMAT={LOG_FORMAT!r} is not a log format; use json or plain."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
        "json": {
            "()": "newsroom.request_log.JsonFormatter",
            "format": "{levelname}{name}{message}",
            "style": "{",
        },
    },
    "filters": {"secrets": {"()": "newsroom.request_log.RedactSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's own access lines would repeat newsroom.request's.
        "django.server": {"level": "WARNING"},
        # django-axes announces itself at every start; its lockouts are warnings.
        "axes.apps": {"level": "WARNING"},
        "newsroom.request": {
            "level": os.environ.get("NEWSROOM_REQUEST_LOG_LEVEL", "INFO"),
        },
    },
}


# Newsroom's own settings.
NEWSROOM_SITE_NAME = os.environ.get("NEWSROOM_SITE_NAME", "Newsroom")
# The publication's own domain, for ids that must not change with the host a
# request came to (feed entry ids): by default the first allowed host.
NEWSROOM_SITE_DOMAIN = os.environ.get("NEWSROOM_SITE_DOMAIN") or next(
    (host.lstrip(".").strip("[]") for host in ALLOWED_HOSTS if "*" not in host),
    "localhost",
)
# How long (seconds) shared caches and browsers may keep public pages and
# feeds before revalidating; also bounds how late a scheduled story can show.
NEWSROOM_CACHE_MAX_AGE = int(os.environ.get("NEWSROOM_CACHE_MAX_AGE", "60"))
# The server's own cache of public responses (articles/cache.py). It needs a
# cache every app server shares, so it is on by default only with Redis.
NEWSROOM_PAGE_CACHE = env_bool("NEWSROOM_PAGE_CACHE", bool(REDIS_URL))
# Serve the benchmark's ceiling views under /bench/ (bench/README.md): only
# ever for a benchmark run.
NEWSROOM_BENCHMARK = env_bool("NEWSROOM_BENCHMARK", False)
# How long (seconds) a secret preview link to an unpublished story works.
NEWSROOM_PREVIEW_MAX_AGE = int(os.environ.get("NEWSROOM_PREVIEW_MAX_AGE", 48 * 60 * 60))
# The largest seed document the importer reads; anything bigger is refused
# before it is read into memory.
NEWSROOM_SEED_MAX_BYTES = int(os.environ.get("NEWSROOM_SEED_MAX_BYTES", 1024 * 1024))
