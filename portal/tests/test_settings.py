"""Production settings: clean under Django's deploy checks when fully configured,
and refusing to start, naming the variable, when something is missing.

Each case runs ``manage.py`` in a subprocess, because settings are read once per
process. ``check`` opens no database connection, so the PostgreSQL and Redis URLs
point at a closed port on purpose: the test needs no server.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "HUB_", "DATABASE_", "CELERY_", "CACHE_", "EMAIL_"))
    }
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "HUBPORT_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "portal.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
        "DATABASE_URL": "postgres://hubport:pw@127.0.0.1:9/hubport_control",
        "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
        "CACHE_URL": "redis://127.0.0.1:9/1",
        "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587",
        "DEFAULT_FROM_EMAIL": "Hubport <noreply@portal.example.com>",
        "HUBPORT_BASE_URL": "https://portal.example.com",
        "HUBPORT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOG_LEVEL": "WARNING",
    }
    for code in settings.HUB_CODES:
        env[f"HUB_{code.upper()}_DATABASE_URL"] = f"postgres://hubport:pw@127.0.0.1:9/hubport_{code}"
        env[f"HUB_{code.upper()}_PRIMARY_STORAGE_URL"] = f"s3://hubport-{code}-primary?region_name=eu-west-2"
        env[f"HUB_{code.upper()}_ALTERNATE_STORAGE_URL"] = f"file://{tmp_path / 'storage' / code / 'alternate'}"
    return env


REQUIRED_IN_PRODUCTION = [
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    *[f"HUB_{code.upper()}_DATABASE_URL" for code in settings.HUB_CODES],
    *[
        f"HUB_{code.upper()}_{role.upper()}_STORAGE_URL"
        for code in settings.HUB_CODES
        for role in settings.FACILITY_ROLES
    ],
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "HUBPORT_BASE_URL",
    "HUBPORT_ENCRYPTION_KEYS",
]


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_reports_nothing_with_every_production_variable_set(production_env):
    result = _manage(production_env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr and "?: (" not in result.stderr, result.stderr


def test_production_settings_use_the_environment(production_env):
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['hub_au']['ENGINE'], s.DATABASES['hub_au']['NAME'], "
        "s.HUB_STORAGE_URLS['hub_au_primary'], s.CELERY_BROKER_URL, s.EMAIL_HOST, "
        "s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'])"
    )
    result = _manage(production_env, "shell", "--no-imports", "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "django.db.backends.postgresql",
        "hubport_au",
        "s3://hubport-au-primary?region_name=eu-west-2",
        "redis://127.0.0.1:9/0",
        "smtp.example.com",
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:9/1",
    ]


@pytest.mark.parametrize(
    "variable",
    [
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "HUB_NZ_DATABASE_URL",
        "HUB_DE_ALTERNATE_STORAGE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "HUBPORT_BASE_URL",
        "HUBPORT_ENCRYPTION_KEYS",
    ],
)
def test_a_missing_variable_stops_start_up_and_is_named(production_env, variable):
    del production_env[variable]

    result = _manage(production_env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_with_none_set_every_required_variable_is_named(production_env):
    for name in REQUIRED_IN_PRODUCTION:
        del production_env[name]

    result = _manage(production_env, "check")

    assert result.returncode != 0
    named = result.stderr.splitlines()[-1].rsplit(": ", 1)[1].split(", ")
    assert named == REQUIRED_IN_PRODUCTION


@pytest.mark.parametrize(
    "base_url", ["portal.example.com", "ftp://portal.example.com", "https://portal.example.com/portal", "https://"]
)
def test_a_base_url_that_is_not_an_origin_stops_start_up(production_env, base_url):
    production_env["HUBPORT_BASE_URL"] = base_url

    result = _manage(production_env, "check")

    assert result.returncode != 0
    assert "HUBPORT_BASE_URL must be the portal's origin" in result.stderr


def test_seed_demo_refuses_to_run_on_production_settings(production_env):
    """Its superuser's password is published; the refusal comes before any database is opened."""
    result = _manage(production_env, "seed_demo")

    assert result.returncode != 0
    assert "HUBPORT_DEMO_ALLOWED is off" in result.stderr
    assert "superuser whose password is published" in result.stderr
    assert "OperationalError" not in result.stderr


def test_a_short_secret_key_stops_start_up(production_env):
    production_env["DJANGO_SECRET_KEY"] = "too-short"

    result = _manage(production_env, "check")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be at least 50" in result.stderr


def test_a_broker_without_a_server_is_refused_in_production(production_env):
    production_env["CELERY_BROKER_URL"] = "filesystem://"

    result = _manage(production_env, "check")

    assert result.returncode != 0
    assert "CELERY_BROKER_URL uses filesystem://" in result.stderr


@pytest.mark.parametrize("cache_url", ["locmemcache://", "filecache:///var/cache/hubport"])
def test_a_cache_the_web_servers_would_not_share_is_refused_in_production(production_env, cache_url):
    production_env["CACHE_URL"] = cache_url

    result = _manage(production_env, "check")

    assert result.returncode != 0
    assert f"CACHE_URL uses {cache_url.split(':')[0]}://" in result.stderr


def test_webhook_urls_without_a_long_secret_stop_start_up(production_env):
    production_env["HUBPORT_ALERT_WEBHOOK_URLS"] = "https://hooks.example.com/hubport"
    production_env["HUBPORT_ALERT_WEBHOOK_SECRET"] = "short"
    result = _manage(production_env, "check")
    assert result.returncode != 0
    assert "HUBPORT_ALERT_WEBHOOK_SECRET must be at least 32" in result.stderr

    production_env["HUBPORT_ALERT_WEBHOOK_SECRET"] = "x" * 40
    production_env["HUBPORT_ALERT_WEBHOOK_URLS"] = "file:///etc/passwd"
    result = _manage(production_env, "check")
    assert result.returncode != 0
    assert "is not an http:// or https:// URL" in result.stderr


# SECTION: the embedded default


def _embedded_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "HUB_", "DATABASE_", "CELERY_", "EMAIL_", "CACHE_", "HUBPORT_"))
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "portal.settings.embedded",
        "HUBPORT_DATA_DIR": str(tmp_path / "data"),
        **variables,
    }


def _python(env: dict[str, str], code: str) -> str:
    """What ``code`` prints in a fresh process, after django.setup() (``s`` is the settings)."""
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings as s; {code}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _setting(env: dict[str, str], expression: str) -> str:
    return _python(env, f"print({expression})")


def test_the_embedded_base_url_follows_the_port_unless_set(tmp_path):
    assert _setting(_embedded_env(tmp_path), "s.HUBPORT_BASE_URL") == "http://127.0.0.1:8000"
    assert _setting(_embedded_env(tmp_path, HUBPORT_PORT="8123"), "s.HUBPORT_BASE_URL") == "http://127.0.0.1:8123"
    explicit = _embedded_env(tmp_path, HUBPORT_PORT="8123", HUBPORT_BASE_URL="https://files.example.com/")
    assert _setting(explicit, "s.HUBPORT_BASE_URL") == "https://files.example.com"


def test_the_embedded_cache_is_one_every_process_shares(tmp_path):
    """DRF's throttles count in the cache: the web server's processes must all see the same counts."""
    env = _embedded_env(tmp_path)
    cache = "s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION']"
    assert _setting(env, cache).split() == [
        "django.core.cache.backends.filebased.FileBasedCache",
        str(tmp_path / "data" / "cache"),
    ]

    _python(env, "from django.core.cache import cache; cache.set('shared', 'written by one process', 60)")

    assert _python(env, "from django.core.cache import cache; print(cache.get('shared'))") == "written by one process"


def test_the_tests_use_an_in_memory_cache_unless_cache_url_is_set(tmp_path):
    env = {**_embedded_env(tmp_path), "DJANGO_SETTINGS_MODULE": "portal.settings.test"}
    backend = "s.CACHES['default']['BACKEND']"
    assert _setting(env, backend) == "django.core.cache.backends.locmem.LocMemCache"
    with_redis = {**env, "CACHE_URL": "redis://127.0.0.1:9/14"}
    assert _setting(with_redis, f"{backend}, s.CACHES['default']['LOCATION']").split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:9/14",
    ]


# SECTION: no side effects at import


@pytest.mark.parametrize("module", ["embedded", "test", "production"])
def test_importing_the_settings_creates_no_folder(production_env, tmp_path, module):
    """Folders are made where they are needed (hubs.folders), never by reading the settings."""
    env = production_env if module == "production" else _embedded_env(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = f"portal.settings.{module}"
    data_dir = Path(env["HUBPORT_DATA_DIR"])
    before = sorted(tmp_path.rglob("*"))

    _python(env, "print(s.DATA_DIR, s.STATIC_ROOT, s.CACHES, s.CELERY_BROKER_TRANSPORT_OPTIONS)")

    assert not data_dir.exists()
    assert sorted(tmp_path.rglob("*")) == before


def test_the_embedded_default_allows_the_demo(tmp_path):
    assert _setting(_embedded_env(tmp_path), "s.HUBPORT_DEMO_ALLOWED") == "True"


@pytest.mark.parametrize("keys", ["not-a-key", "{good},too-short", "{good}, "])
def test_malformed_encryption_keys_stop_start_up_and_say_which(production_env, keys):
    good = Fernet.generate_key().decode()
    production_env["HUBPORT_ENCRYPTION_KEYS"] = keys.format(good=good)

    result = _manage(production_env, "check")

    if keys.endswith(", "):
        # A trailing comma is not a second key: the one good key is enough.
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0
    last = result.stderr.splitlines()[-1]
    assert "ImproperlyConfigured" in last and "HUBPORT_ENCRYPTION_KEYS: key " in last
    assert "is not a Fernet key" in last
    assert "not-a-key" not in last and "too-short" not in last, "the key material itself is never printed"
