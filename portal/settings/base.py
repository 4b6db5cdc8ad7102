"""Settings shared by every environment.

Everything is read from the environment (django-environ). With no environment
at all this is the *embedded default*: SQLite files and storage folders under
one data directory (``var/`` or ``$HUBPORT_DATA_DIR``) and a Celery broker that
needs no server. ``portal.settings.production`` refuses to start without its
secrets; nothing here has a production secret as a default.
"""

from __future__ import annotations

from pathlib import Path

import environ

from hubs.db.sides import hub_database_with_standby
from portal.security.encryption import development_key, keys_check

# SECTION: paths and environment

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# Importing the settings creates no folder (see HUBPORT_LOCAL_FOLDERS below).
DATA_DIR = Path(env.str("HUBPORT_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()

# SECTION: hubs
# The seven hub codes are fixed: database aliases (hub_<code>), Celery queues
# (hub.<code>) and storage aliases (hub_<code>_<facility>) are built from them.
# The Hub rows themselves are seeded by a data migration in the hubs app.
HUB_CODES: tuple[str, ...] = ("uk", "de", "us", "ae", "hk", "au", "nz")
FACILITY_ROLES: tuple[str, ...] = ("primary", "alternate")

# SECTION: core

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="embedded-default-insecure-key-not-for-production")
# Off everywhere unless asked for (DJANGO_DEBUG=true, for development): a debug
# 404 lists every URL pattern and a debug 500 shows settings and local values.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.apps.HubportAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    # Hubport's own devices (portal.models) replace these two, whose keys and
    # codes were plaintext; they stay installed only because migration portal
    # 0003 reads their historical models to move the rows. Their tables are empty.
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "csp",
    "hubs",
    "portal",
    "snapshots",
]

# django-prometheus's two middlewares wrap every other one, so its request
# figures count whatever they answer (maintenance refusals included).
MIDDLEWARE = [
    # Prometheus's request figures span everything (its After middleware is last).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Outermost of ours: it times the whole answer and sees every 500 the layers below made.
    "portal.middleware.web_stats.WebStatsMiddleware",
    # Next: every later step (throttles, sign-in counting, logs) sees the
    # client's address as decided from HUBPORT_TRUSTED_PROXIES.
    "portal.middleware.client_address.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Every answer carries the Content-Security-Policy below, the refusals of
    # the middlewares after this one included.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # The person's session list: each session seen at most once a minute.
    "portal.middleware.sessions.UserSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.tenant.TenantMiddleware",
    "portal.middleware.time_zone.DisplayZoneMiddleware",
    "portal.middleware.two_factor.TwoFactorEnforcementMiddleware",
    "portal.middleware.maintenance.MaintenanceModeMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# Messages can name customer files; by default big ones go to the session (control DB), here to a signed cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.tenant_context",
                "portal.context_processors.incident_banner",
            ],
        },
    },
]

# SECTION: Content-Security-Policy (django-csp)
# Only our own origin, and nothing inline: no script element without src, no style
# element, no style or on* attribute on any page (portal/tests/test_csp.py greps the
# templates; the browser test listens for violations). Dynamic widths are
# classes (static/css/fill.css), behaviour is in static/js/. The API docs page
# alone adds data: images (Swagger UI's icons), in portal/api/urls.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# SECTION: databases
# `default` is the control plane. Each hub has its own data-plane database,
# alias hub_<code>. The router (hubs.routing) keeps each app on its plane.


def _sqlite(name: str) -> str:
    return f"sqlite:///{DATA_DIR / name}"


DATABASES = {"default": env.db_url("DATABASE_URL", default=_sqlite("control.sqlite3"))}
for _code in HUB_CODES:
    DATABASES[f"hub_{_code}"] = env.db_url(f"HUB_{_code.upper()}_DATABASE_URL", default=_sqlite(f"hub_{_code}.sqlite3"))
    # A hub may name a PostgreSQL streaming-replication standby in its alternate
    # facility (docs/failover.md). Its alias then uses the failover engine, which
    # connects to whichever side serves the hub now (hubs.db).
    _standby_url = env.str(f"HUB_{_code.upper()}_STANDBY_DATABASE_URL", default="")
    if _standby_url:
        DATABASES[f"hub_{_code}"] = hub_database_with_standby(
            hub_code=_code, primary=DATABASES[f"hub_{_code}"], standby=env.db_url_config(_standby_url)
        )

for _alias, _db in DATABASES.items():
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server, the worker and beat read while one writes;
        # a 20 s busy timeout rides out the other processes' short write locks.
        _db.setdefault("OPTIONS", {}).update(
            {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
        # In tests each SQLite database is its own in-memory database.
        _db.setdefault("TEST", {})
        # Kept open across requests (each server thread keeps its own): opening
        # one and running its PRAGMAs was about a tenth of a small request. A
        # file does not drop a connection, so no health check.
        _db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=600))
    else:
        _db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
        _db.setdefault("CONN_HEALTH_CHECKS", True)

# A process reads which side serves a hub at most this often (hubs.db.sides):
# every process uses a failed-over hub's new database within this many seconds
# of the failover's commit, at its next query outside a transaction.
HUBPORT_FAILOVER_SIDE_CACHE_SECONDS = env.float("HUBPORT_FAILOVER_SIDE_CACHE_SECONDS", default=5.0)
# The same for a hub's facilities (which serves, which can take writes), read
# by every upload and download (hubs.storage.hub_facilities).
HUBPORT_FACILITY_CACHE_SECONDS = env.float("HUBPORT_FACILITY_CACHE_SECONDS", default=5.0)
# Running maintenance windows, asked by every tenant request
# (portal.middleware.maintenance): read at most this often per process.
HUBPORT_MAINTENANCE_CACHE_SECONDS = env.float("HUBPORT_MAINTENANCE_CACHE_SECONDS", default=5.0)
# Each process adds its requests to the shared per-minute web counters at most
# this often (hubs.monitoring.web_stats).
HUBPORT_WEB_STATS_FLUSH_SECONDS = env.float("HUBPORT_WEB_STATS_FLUSH_SECONDS", default=1.0)
# pg_promote(true, N): how long a promotion may take before the failover gives up.
HUBPORT_FAILOVER_PROMOTE_SECONDS = env.int("HUBPORT_FAILOVER_PROMOTE_SECONDS", default=60)

DATABASE_ROUTERS = ["hubs.routing.PlaneRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# SECTION: storages
# One storage per hub facility, alias hub_<code>_<role>. A facility is a folder
# under DATA_DIR/storage/<code>/<role>/ in the embedded default, or any URL
# that hubs.storage understands (file:///path, s3://bucket?...).

STORAGES: dict[str, dict] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
HUB_STORAGE_URLS: dict[str, str] = {}
for _code in HUB_CODES:
    for _role in FACILITY_ROLES:
        HUB_STORAGE_URLS[f"hub_{_code}_{_role}"] = env.str(
            f"HUB_{_code.upper()}_{_role.upper()}_STORAGE_URL",
            default=f"file://{DATA_DIR / 'storage' / _code / _role}",
        )

MEDIA_ROOT = DATA_DIR / "media"

# SECTION: the versioned store

HUBPORT_MAX_FILE_BYTES = env.int("HUBPORT_MAX_FILE_BYTES", default=20 * 1024**3)
HUBPORT_DEFAULT_QUOTA_BYTES = env.int("HUBPORT_DEFAULT_QUOTA_BYTES", default=1024**4)
# Many items at once: one request moves, deletes or restores at most this many
# items (one transaction); a zip download holds at most this many bytes.
HUBPORT_BULK_MAX_ITEMS = env.int("HUBPORT_BULK_MAX_ITEMS", default=5000)
HUBPORT_ZIP_MAX_BYTES = env.int("HUBPORT_ZIP_MAX_BYTES", default=20 * 1024**3)
# One bulk upload (POST /api/v1/files/bulk) carries at most HUBPORT_BULK_MAX_ITEMS
# members and this many bytes of file content: a batch is one transaction, and
# 4 GiB keeps its temporary copies well inside a facility's free space.
HUBPORT_BULK_UPLOAD_MAX_BYTES = env.int("HUBPORT_BULK_UPLOAD_MAX_BYTES", default=4 * 1024**3)
SNAPSHOT_RETENTION_DAYS = env.int("SNAPSHOT_RETENTION_DAYS", default=28)
# Blobs no longer referenced are kept this long after their last upload claimed
# them, so an upload in flight never loses its bytes to the collector.
BLOB_GRACE_HOURS = env.int("BLOB_GRACE_HOURS", default=24)
# 2,000 items a batch: on SQLite one batch commits in about 0.3 s, so a killed
# worker loses at most that much work, and progress moves visibly.
RESTORE_BATCH_ITEMS = env.int("HUBPORT_RESTORE_BATCH_ITEMS", default=2000)
# A restore of at most this many files (named one by one, no folder) runs in the
# request that starts it, through the same run, job row and lease as the
# worker's, and is finished when the answer comes back: a one-file restore took
# 25-50 ms of work after up to a second in the queue. Larger restores queue.
RESTORE_INLINE_MAX_FILES = env.int("HUBPORT_RESTORE_INLINE_MAX_FILES", default=100)
# A running restore holds its job by a lease that a thread of the run renews
# every 10 s; one not renewed for 30 s (three beats) belongs to a dead worker,
# and the stall check, every 20 s, queues the job again: a killed worker's
# restore resumes 30-50 s after it died, on any broker.
RESTORE_HEARTBEAT_SECONDS = env.float("HUBPORT_RESTORE_HEARTBEAT_SECONDS", default=10.0)
RESTORE_STALLED_SECONDS = env.float("HUBPORT_RESTORE_STALLED_SECONDS", default=30.0)
RESTORE_STALL_CHECK_SECONDS = env.float("HUBPORT_RESTORE_STALL_CHECK_SECONDS", default=20.0)
# Scrub: every copy of every blob re-read and re-hashed, a full pass of each hub
# every HUBPORT_SCRUB_INTERVAL_DAYS (counted from the last pass's start), in
# slices of HUBPORT_SCRUB_SLICE_SECONDS on the hub's queue (beat queues one every
# 5 minutes; 240 s stays far inside the 15-minute soft time limit and leaves the
# worker a minute in five for other work). Reads are bounded to
# HUBPORT_SCRUB_MIB_S: 20 MiB/s is a tenth of one spinning disk's sequential
# rate, so customers never feel it, and still reads 9 TiB a week (four
# minutes in five, both copies counted); a hub holding more must raise it or the interval. The cursor
# is saved every HUBPORT_SCRUB_BATCH_BLOBS blobs: a killed worker repeats at most that many.
HUBPORT_SCRUB_INTERVAL_DAYS = env.float("HUBPORT_SCRUB_INTERVAL_DAYS", default=7.0)
HUBPORT_SCRUB_MIB_S = env.float("HUBPORT_SCRUB_MIB_S", default=20.0)
HUBPORT_SCRUB_SLICE_SECONDS = env.float("HUBPORT_SCRUB_SLICE_SECONDS", default=240.0)
HUBPORT_SCRUB_BATCH_BLOBS = env.int("HUBPORT_SCRUB_BATCH_BLOBS", default=500)
# Blob bytes are flushed to disk before the row that references them commits.
# Monitoring: the replication backlog probe warns above this many waiting blobs.
HUBPORT_PROBE_REPLICATION_BACKLOG_BLOBS = env.int("HUBPORT_PROBE_REPLICATION_BACKLOG_BLOBS", default=1000)
# workers.round_trip: a ping on hub.<code> answered within 20 s (a busy worker
# finishes a restore batch, ~0.3 s, or a probe round, ~1 s, well inside it).
HUBPORT_PROBE_WORKER_WAIT_SECONDS = env.float("HUBPORT_PROBE_WORKER_WAIT_SECONDS", default=20.0)
# file_transaction: the restore job must have finished this long after it was
# queued (the check reads the previous round's job, so it rarely waits at all).
HUBPORT_PROBE_FILE_TRANSACTION_SECONDS = env.float("HUBPORT_PROBE_FILE_TRANSACTION_SECONDS", default=45.0)
# snapshots.expiry_lag: expiry runs daily; a version row past its retention by
# more than two days means two runs were missed.
HUBPORT_PROBE_EXPIRY_GRACE_HOURS = env.int("HUBPORT_PROBE_EXPIRY_GRACE_HOURS", default=48)
# web.error_rate and web.latency_p95 over the last 5 minutes, judged only from
# 20 requests up (two errors in a quiet hour are not an outage).
HUBPORT_PROBE_WEB_WINDOW_MINUTES = env.int("HUBPORT_PROBE_WEB_WINDOW_MINUTES", default=5)
HUBPORT_PROBE_WEB_MIN_REQUESTS = env.int("HUBPORT_PROBE_WEB_MIN_REQUESTS", default=20)
HUBPORT_PROBE_WEB_ERROR_RATE = env.float("HUBPORT_PROBE_WEB_ERROR_RATE", default=0.05)
HUBPORT_PROBE_WEB_P95_MS = env.float("HUBPORT_PROBE_WEB_P95_MS", default=2000.0)
# security.failed_sign_ins: more than 50 failed sign-ins in 15 minutes.
HUBPORT_PROBE_FAILED_SIGN_INS = env.int("HUBPORT_PROBE_FAILED_SIGN_INS", default=50)
HUBPORT_PROBE_FAILED_SIGN_INS_MINUTES = env.int("HUBPORT_PROBE_FAILED_SIGN_INS_MINUTES", default=15)
# /metrics answers loopback, or this bearer token (empty: loopback only).
HUBPORT_METRICS_TOKEN = env.str("HUBPORT_METRICS_TOKEN", default="")
HUBPORT_BLOB_FSYNC = env.bool("HUBPORT_BLOB_FSYNC", default=True)

# SECTION: links
# Absolute links in emails, calendars and feeds are this origin joined to a
# reversed path (hubs.links.absolute_url). The embedded default derives it from
# the port bin/run-embedded serves on; production requires it.
HUBPORT_BASE_URL = env.str(
    "HUBPORT_BASE_URL", default=f"http://127.0.0.1:{env.str('HUBPORT_PORT', default='') or '8000'}"
).rstrip("/")

# SECTION: alerts (the duty engineer)
# An incident pages step 1 of the default escalation policy at once (email) and
# tells every webhook; an unacknowledged incident moves to the next step after
# the step's wait, this many minutes when the step names none.
HUBPORT_ALERT_ESCALATE_AFTER_MINUTES = env.int("HUBPORT_ALERT_ESCALATE_AFTER_MINUTES", default=15)
# Receivers of incident.opened/acknowledged/escalated/resolved as a JSON POST
# (comma-separated), each signed "X-Hubport-Signature: sha256=<hex>", an
# HMAC-SHA256 of the exact body with the secret below. Production requires the
# secret when any URL is set.
HUBPORT_ALERT_WEBHOOK_URLS = env.list("HUBPORT_ALERT_WEBHOOK_URLS", default=[])
HUBPORT_ALERT_WEBHOOK_SECRET = env.str("HUBPORT_ALERT_WEBHOOK_SECRET", default="")
# A receiver that does not answer within this many seconds has failed (retried with backoff).
HUBPORT_ALERT_WEBHOOK_TIMEOUT_SECONDS = env.int("HUBPORT_ALERT_WEBHOOK_TIMEOUT_SECONDS", default=10)
# How long an alert email's signed acknowledge link works.
HUBPORT_ALERT_ACK_LINK_HOURS = env.int("HUBPORT_ALERT_ACK_LINK_HOURS", default=24)

# SECTION: maintenance windows
# A window must start at least this long after it is announced (the promise: 5 days).
MAINTENANCE_NOTICE_HOURS = env.int("MAINTENANCE_NOTICE_HOURS", default=120)

# SECTION: static files

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"

# SECTION: authentication

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTH_USER_MODEL = "portal.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
OTP_TOTP_ISSUER = "Hubport"
# Staff who can view devices in the admin must not see other people's TOTP keys.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# django-otp's own throttle counts wrong codes per device, so anyone who knows
# the password could lock the owner's device for everybody. Off: wrong codes
# are counted per account and address instead (portal.security.attempts).
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# SECTION: secrets at rest (portal.security.encryption)
# TOTP keys and backup-code hashing keys are encrypted with these Fernet keys,
# newest first: the first encrypts, any of them decrypts, so a key can rotate
# (README.md, "Rotating the encryption keys"). Production requires the
# variable; without it (the embedded default and the tests, for development
# only) one key is derived from SECRET_KEY. A malformed key stops start-up.
HUBPORT_ENCRYPTION_KEYS = keys_check(env.list("HUBPORT_ENCRYPTION_KEYS", default=[]) or [development_key(SECRET_KEY)])

# SECTION: attacks slowed (portal.security)
# X-Forwarded-For is believed only from these proxies (CIDRs, comma-separated).
HUBPORT_TRUSTED_PROXIES = env.list("HUBPORT_TRUSTED_PROXIES", default=[])
# Failed sign-ins in a rolling window start a slow-down (429 with Retry-After,
# 30 s, 1, 5, then 15 min per further failure), never a lock: 5 of one account
# from one address, or 20 from one address across any accounts, in 15 minutes.
HUBPORT_SIGN_IN_WINDOW_MINUTES = env.int("HUBPORT_SIGN_IN_WINDOW_MINUTES", default=15)
HUBPORT_SIGN_IN_FAILURES_PER_ACCOUNT_ADDRESS = env.int("HUBPORT_SIGN_IN_FAILURES_PER_ACCOUNT_ADDRESS", default=5)
HUBPORT_SIGN_IN_FAILURES_PER_ADDRESS = env.int("HUBPORT_SIGN_IN_FAILURES_PER_ADDRESS", default=20)
HUBPORT_CODE_FAILURES_PER_ACCOUNT_ADDRESS = env.int("HUBPORT_CODE_FAILURES_PER_ACCOUNT_ADDRESS", default=5)
# Failed bearer-token authentications from one address in a minute, then 429.
HUBPORT_TOKEN_FAILURES_PER_ADDRESS = env.int("HUBPORT_TOKEN_FAILURES_PER_ADDRESS", default=20)
# Requests, not failures, in a rolling hour: password resets per email (known
# or not) and per address, signups per address; over them, 429 until the
# oldest leaves the window.
HUBPORT_PASSWORD_RESETS_PER_EMAIL = env.int("HUBPORT_PASSWORD_RESETS_PER_EMAIL", default=5)
HUBPORT_PASSWORD_RESETS_PER_ADDRESS = env.int("HUBPORT_PASSWORD_RESETS_PER_ADDRESS", default=20)
HUBPORT_PASSWORD_RESET_WINDOW_MINUTES = env.int("HUBPORT_PASSWORD_RESET_WINDOW_MINUTES", default=60)
HUBPORT_SIGNUPS_PER_ADDRESS = env.int("HUBPORT_SIGNUPS_PER_ADDRESS", default=10)
HUBPORT_SIGNUP_WINDOW_MINUTES = env.int("HUBPORT_SIGNUP_WINDOW_MINUTES", default=60)
# NIST SP 800-63B's high threshold: from this many consecutive failures of one
# account (any addresses), the right password sends a one-time link, valid
# HUBPORT_SIGN_IN_LINK_MINUTES, that finishes the sign-in (portal.security.sign_in_link).
HUBPORT_SIGN_IN_ACCOUNT_LINK_THRESHOLD = env.int("HUBPORT_SIGN_IN_ACCOUNT_LINK_THRESHOLD", default=100)
HUBPORT_SIGN_IN_LINK_MINUTES = env.int("HUBPORT_SIGN_IN_LINK_MINUTES", default=15)
# Attacks detected (hubs.monitoring.attacks, security_probes): critical probes of
# the staff-only security component, paging the duty engineer.
HUBPORT_DETECT_WINDOW_MINUTES = env.int("HUBPORT_DETECT_WINDOW_MINUTES", default=15)
HUBPORT_DETECT_RECENT_MINUTES = env.int("HUBPORT_DETECT_RECENT_MINUTES", default=5)
HUBPORT_DETECT_SPRAYING_ACCOUNTS = env.int("HUBPORT_DETECT_SPRAYING_ACCOUNTS", default=10)
HUBPORT_DETECT_STUFFING_ADDRESSES = env.int("HUBPORT_DETECT_STUFFING_ADDRESSES", default=10)
HUBPORT_DETECT_TOKEN_FAILURES = env.int("HUBPORT_DETECT_TOKEN_FAILURES", default=100)
HUBPORT_DETECT_DOS_FACTOR = env.float("HUBPORT_DETECT_DOS_FACTOR", default=10.0)
HUBPORT_DETECT_DOS_MIN_RATE = env.float("HUBPORT_DETECT_DOS_MIN_RATE", default=60.0)
HUBPORT_DETECT_DOS_LEARN_MINUTES = env.int("HUBPORT_DETECT_DOS_LEARN_MINUTES", default=60)
HUBPORT_DETECT_DOS_BASELINE_MINUTES = env.int("HUBPORT_DETECT_DOS_BASELINE_MINUTES", default=60)

# SECTION: sign-in history and sessions (portal.services.sign_ins, .sessions)
# Each person's sign-in attempts are kept this many days; a new device or
# network is judged against their successful sign-ins in the same span.
HUBPORT_SIGN_IN_HISTORY_DAYS = env.int("HUBPORT_SIGN_IN_HISTORY_DAYS", default=90)
# This many wrong two-factor codes after the right password, within the window
# and since the person's last sign-in, email them (once a window).
HUBPORT_WRONG_CODES_NOTICE_AFTER = env.int("HUBPORT_WRONG_CODES_NOTICE_AFTER", default=3)
HUBPORT_WRONG_CODES_WINDOW_MINUTES = env.int("HUBPORT_WRONG_CODES_WINDOW_MINUTES", default=15)

# SECTION: internationalisation

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# SECTION: email

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hubport <noreply@hubport.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

# SECTION: cache
# DRF's throttles count requests in the cache, so every process must see the
# same one: in the embedded default a folder under the data directory, which
# the web server, the worker and beat of `make run` share (Django creates it on
# first write); production requires Redis. CACHE_URL takes django-environ's
# forms: redis://host:6379/1, filecache:///path, locmemcache://.

CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{DATA_DIR / 'cache'}")}

# SECTION: Celery
# Queues: `control` for notifications, probe scheduling and roll-ups, and one
# `hub.<code>` per hub for that hub's data-plane work (portal.celery routes).
# The embedded default uses kombu's filesystem transport: no server, and still
# a real worker and beat in their own processes.

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu waits a second between looks at empty folders by default, which
        # a ping through eight queues pays up to eight times; a tenth of a
        # second costs a directory listing, and no server.
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged message (acks_late) to another worker once
    # it is this old, whether or not its worker is alive; so it must outlast
    # the longest task (the expiry's 6 h time limit) and the longest countdown,
    # or a slow task would run twice. A dead worker's restore does not wait for
    # it: the restore stall check resumes it within a minute.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7 * 3600}
CELERY_TASK_ALWAYS_EAGER = False
# Workers log through LOGGING above, whose filter withholds customers' file names.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = 15 * 60
CELERY_TASK_TIME_LIMIT = 16 * 60
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# Every job is fanned out per hub, so each runs on a worker inside its hub.
for _code in HUB_CODES:
    _hub = {"hub_code": _code}
    CELERY_BEAT_SCHEDULE[f"sweep-temporaries-{_code}"] = {
        "task": "snapshots.tasks.sweep_temporaries_task",
        "schedule": 3600.0,
        "kwargs": _hub,
    }
    CELERY_BEAT_SCHEDULE[f"scheduled-snapshots-{_code}"] = {
        "task": "snapshots.tasks.take_scheduled_snapshots_task",
        "schedule": 15 * 60.0,
        "kwargs": _hub,
    }
    CELERY_BEAT_SCHEDULE[f"resume-stalled-restores-{_code}"] = {
        "task": "snapshots.tasks.resume_stalled_restores_task",
        "schedule": RESTORE_STALL_CHECK_SECONDS,
        "kwargs": _hub,
    }
    # Blobs that missed their second facility: copied within minutes.
    CELERY_BEAT_SCHEDULE[f"replication-repair-{_code}"] = {
        "task": "snapshots.tasks.replication_repair_task",
        "schedule": 5 * 60.0,
        "kwargs": _hub,
    }
    # Scrub: a slice of the hub's scheduled pass (HUBPORT_SCRUB_* above).
    CELERY_BEAT_SCHEDULE[f"scrub-{_code}"] = {
        "task": "snapshots.tasks.scrub_slice_task",
        "schedule": 5 * 60.0,
        "kwargs": _hub,
    }
    CELERY_BEAT_SCHEDULE[f"expiry-{_code}"] = {
        "task": "snapshots.tasks.expiry_task",
        "schedule": 24 * 3600.0,
        "kwargs": _hub,
    }
    # The hub database's planner statistics (snapshots.statistics), hourly.
    CELERY_BEAT_SCHEDULE[f"statistics-{_code}"] = {
        "task": "snapshots.tasks.hub_statistics_task",
        "schedule": 3600.0,
        "kwargs": _hub,
    }
    # Monitoring: a round of the hub's probes every minute, on the hub's queue.
    CELERY_BEAT_SCHEDULE[f"probe-round-{_code}"] = {
        "task": "hubs.tasks.probe_round_task",
        "schedule": 60.0,
        "kwargs": _hub,
    }

# Maintenance windows change state on time and send their notices: every
# minute, on the control queue (a window is announced to the minute).
CELERY_BEAT_SCHEDULE["maintenance-advance"] = {
    "task": "hubs.tasks.maintenance_advance_task",
    "schedule": 60.0,
}
# Alerts: unacknowledged incidents escalate, lost alert deliveries are queued
# again; every minute, on the control queue.
CELERY_BEAT_SCHEDULE["alerts-advance"] = {"task": "hubs.tasks.alerts_advance_task", "schedule": 60.0}
# Monitoring on the control queue: the control plane's probes and beat's own
# heartbeat every minute (its probe fails after two silent minutes), and the
# expiry of raw probe results (kept 48 hours) every hour. The heartbeat comes
# first: beat's first tick sends both, and the round should see it.
CELERY_BEAT_SCHEDULE["scheduler-heartbeat"] = {"task": "hubs.tasks.scheduler_heartbeat_task", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["probe-round-control"] = {"task": "hubs.tasks.control_probe_round_task", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["probe-results-expire"] = {"task": "hubs.tasks.probe_results_expire_task", "schedule": 3600.0}
# The status page and GET /api/v1/status/ reuse the uptime figures this long
# (seconds): a year of seven hubs is counted from some 3,000 rows.
HUBPORT_STATUS_CACHE_SECONDS = env.int("HUBPORT_STATUS_CACHE_SECONDS", default=60)
# Uptime's minutes and flips are kept 400 days; a day's rows go in one pass a day.
CELERY_BEAT_SCHEDULE["uptime-expire"] = {"task": "hubs.tasks.uptime_expire_task", "schedule": 24 * 3600.0}
# Status emails to subscribers whose task was lost are queued again (they are
# queued after commit, so only a lost broker message leaves one behind).
CELERY_BEAT_SCHEDULE["status-deliveries-requeue"] = {
    "task": "hubs.tasks.status_deliveries_requeue_task",
    "schedule": 300.0,
}
# Sign-in events past HUBPORT_SIGN_IN_HISTORY_DAYS, and the session list's rows
# of sessions that expired, go every hour, in batches (control queue).
CELERY_BEAT_SCHEDULE["sign-in-history-expire"] = {
    "task": "portal.tasks.sign_in_history_expire_task",
    "schedule": 3600.0,
}

# SECTION: local folders
# The folders the embedded default keeps its state in; the filesystem broker's
# come from CELERY_BROKER_TRANSPORT_OPTIONS. Importing the settings creates none
# of them: hubs.folders.local_folders_create() does, in manage.py migrate_all,
# bin/run-embedded and at the start of a Celery worker or beat. Production
# empties the list (its folders are the deployment's to make).
HUBPORT_LOCAL_FOLDERS: list[str] = [str(DATA_DIR), str(STATIC_ROOT)]

# SECTION: demo data
# manage.py seed_demo makes a superuser whose password is published (README.md):
# only the embedded default and the tests allow it.
HUBPORT_DEMO_ALLOWED = False

# SECTION: REST API

REST_FRAMEWORK = {
    # A Bearer token first: a bad one is refused, never mistaken for the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.BearerTokenAuthentication",
        "portal.api.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.HubportAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.problem_exception_handler",
    # REMOTE_ADDR is the client as ClientAddressMiddleware decided it; DRF must
    # not read X-Forwarded-For on its own (its default believes anyone's).
    "NUM_PROXIES": 0,
    # Fixed windows counted with incr (portal.api.throttling says why).
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.api.throttling.AnonWindowRateThrottle",
        "portal.api.throttling.UserWindowRateThrottle",
    ],
    # Generous enough for a sync script listing a 10,000-file folder page by
    # page; an abusive client is slowed down, and the monitoring's request-rate
    # probe sees it either way.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("HUBPORT_API_RATE_ANON", default="600/min"),
        "user": env.str("HUBPORT_API_RATE_USER", default="6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hubport API",
    "DESCRIPTION": (
        "Times are ISO 8601 with their UTC offset (2026-11-24T19:42:00+09:00; Z for UTC), in your time zone: "
        "the one chosen in your profile, else your hub's (GET /api/v1/me/ names it). A moment you send must "
        "carry its offset too. Sizes are integers in bytes; where a size is named in units, they are binary "
        "(1 GiB is 1,073,741,824 bytes)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Snapshots and files both have a "kind": each enum gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "NodeKindEnum": "snapshots.models.Node.Kind",
        "SnapshotKindEnum": "snapshots.models.Snapshot.Kind",
        "IncidentStateEnum": "hubs.models.Incident.State",
        "IngestOutcomeEnum": "snapshots.services.ingest.OUTCOMES",
        # The status page's name, kept now that a second "status" (the bulk upload's outcomes) exists.
        "StatusEnum": "portal.api.status.serializers.HUB_STATES",
    },
}

# SECTION: logging
# Log lines carry ids, never file names or content (residency rule).

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"withhold_customer_names": {"()": "portal.log_filters.WithholdCustomerNames"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["withhold_customer_names"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own defaults give "django" a console handler of its own (when
    # DEBUG is on) and "django.server" another: both would print request lines
    # past the filter. Configuring the loggers here removes those handlers, so
    # every record reaches the root's filtered console and nothing else.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}

# SECTION: WebDAV (/dav/, portal.dav)
# .snapshots is listed in a PROPFIND of the workspace's root only when this is
# on: clients that walk every folder would otherwise download the history.
# It is always reachable by its name.
HUBPORT_DAV_SHOW_SNAPSHOTS = env.bool("HUBPORT_DAV_SHOW_SNAPSHOTS", default=False)
