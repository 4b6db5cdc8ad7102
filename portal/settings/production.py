"""Production: every secret, database, storage and the broker come from the environment.

A missing variable raises ImproperlyConfigured at start-up, naming it, instead
of falling back to the embedded default, so a half-configured hub never starts
serving. With every variable set, ``manage.py check --deploy --fail-level
WARNING`` reports nothing (portal/tests/test_settings.py proves it). README.md
lists every variable.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import FACILITY_ROLES, HUB_CODES, env

# SECTION: required variables

REQUIRED_VARIABLES: list[str] = [
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    *[f"HUB_{code.upper()}_DATABASE_URL" for code in HUB_CODES],
    *[f"HUB_{code.upper()}_{role.upper()}_STORAGE_URL" for code in HUB_CODES for role in FACILITY_ROLES],
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "HUBPORT_BASE_URL",
    # TOTP keys are encrypted with these; the embedded default derives one from
    # SECRET_KEY, which production must not (portal.security.encryption).
    "HUBPORT_ENCRYPTION_KEYS",
]
_missing = [name for name in REQUIRED_VARIABLES if not env.str(name, default="").strip()]
if _missing:
    raise ImproperlyConfigured(
        "Production settings refuse to start without these environment variables "
        "(README.md, section Production configuration): " + ", ".join(_missing)
    )

# SECTION: core

DEBUG = False
# Nothing makes folders in production: hubs.folders creates these for the embedded default.
HUBPORT_LOCAL_FOLDERS = []
# seed_demo's superuser has a published password: never here.
HUBPORT_DEMO_ALLOWED = False
# Django's own deploy check (security.W009) asks for at least 50 characters
# and 5 distinct ones; refusing here stops the process instead of warning.
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):  # noqa: F405
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be at least 50 random characters "
        '(python -c "import secrets; print(secrets.token_urlsafe(64))").'
    )
# Old keys still accepted for signatures and sessions while a new key rolls out.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

# SECTION: Celery
# Hub workers run inside their hubs, on other machines than the web server:
# a broker that lives in one process's memory or one machine's disk cannot
# reach them.
_broker_scheme = urlsplit(env.str("CELERY_BROKER_URL")).scheme
if _broker_scheme not in {"redis", "rediss", "sentinel", "amqp", "amqps"}:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL uses {_broker_scheme}://, which only the embedded default may use: "
        "give a redis:// or rediss:// URL."
    )

# SECTION: cache
# Throttles count in the cache: every web server must share one, so a cache
# inside one process or on one machine's disk would let each count alone.
_cache_scheme = urlsplit(env.str("CACHE_URL")).scheme
if _cache_scheme not in {"redis", "rediss"}:
    raise ImproperlyConfigured(
        f"CACHE_URL uses {_cache_scheme}://, a cache the web servers would not share: give a redis:// or rediss:// URL."
    )

# SECTION: links
# Emails, calendars and feeds link to HUBPORT_BASE_URL joined to a reversed
# path, so it must be an origin: scheme and host (and port), nothing after.
_base_url = urlsplit(HUBPORT_BASE_URL)
if _base_url.scheme not in {"http", "https"} or not _base_url.hostname or any(_base_url[2:]):
    raise ImproperlyConfigured(
        f"HUBPORT_BASE_URL must be the portal's origin, such as https://portal.example.com: {HUBPORT_BASE_URL!r} "
        "is not (a scheme and a host name, with no path, query or fragment)."
    )

# SECTION: alerts
# Webhook receivers check the signature; sending them unsigned (or signed with
# a guessable key) would let anyone forge an incident.
_webhook_urls = env.list("HUBPORT_ALERT_WEBHOOK_URLS", default=[])
if _webhook_urls and len(env.str("HUBPORT_ALERT_WEBHOOK_SECRET", default="")) < 32:
    raise ImproperlyConfigured(
        "HUBPORT_ALERT_WEBHOOK_URLS is set, so HUBPORT_ALERT_WEBHOOK_SECRET must be at least 32 random characters."
    )
for _url in _webhook_urls:
    if urlsplit(_url).scheme not in {"http", "https"} or not urlsplit(_url).hostname:
        raise ImproperlyConfigured(f"HUBPORT_ALERT_WEBHOOK_URLS: {_url!r} is not an http:// or https:// URL.")

# SECTION: HTTPS and cookies
# TLS ends at the load balancer, which sets X-Forwarded-Proto.

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# One year, the minimum the HSTS preload list accepts.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
