"""Settings for the test suite: the embedded default (or the PostgreSQL/Redis
URLs .ci/run exports), with an in-memory broker and cache unless
CELERY_BROKER_URL and CACHE_URL say otherwise, fast password hashing and the
locmem email backend."""

from .base import *  # noqa: F403
from .base import DATA_DIR, DATABASES, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HUBPORT_DEMO_ALLOWED = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
if CELERY_BROKER_URL.startswith("memory://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
if not env.str("CACHE_URL", default=""):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# SQLite test databases are files, not shared-cache memory, so a real Celery
# worker thread and a live server thread see the same data without the
# "table is locked" errors of shared-cache mode.
for _alias, _db in DATABASES.items():
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        _db["TEST"] = {"NAME": str(DATA_DIR / f"test_{_alias}.sqlite3")}

# Tests freeze the clock: figures cached by the minute would outlive the rows
# one test wrote and another test reads.
HUBPORT_STATUS_CACHE_SECONDS = 0
# Tests mark facilities unavailable with a plain UPDATE and expect the next
# upload to see it; the tests that count a request's queries set it back.
HUBPORT_FACILITY_CACHE_SECONDS = 0
HUBPORT_MAINTENANCE_CACHE_SECONDS = 0
# Tests read the web counters right after the requests they count.
HUBPORT_WEB_STATS_FLUSH_SECONDS = 0
# Without a worker, the probes that wait for one give up in seconds, so a
# test's round stays short; tests with the real worker allow more.
HUBPORT_PROBE_WORKER_WAIT_SECONDS = 2.0
HUBPORT_PROBE_FILE_TRANSACTION_SECONDS = 3.0
