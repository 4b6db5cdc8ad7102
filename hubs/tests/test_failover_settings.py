"""HUB_<CODE>_STANDBY_DATABASE_URL: the alias keeps both sides' settings and uses
the failover engine; a standby that cannot be one is refused when the settings load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import environ
import pytest

from hubs.db.sides import FAILOVER_ENGINE, hub_database_with_standby, side_settings

ROOT = Path(__file__).resolve().parents[2]


def parsed(url: str) -> dict:
    return environ.Env.db_url_config(url)


def test_the_alias_keeps_both_sides_and_uses_the_failover_engine():
    alias = hub_database_with_standby(
        hub_code="uk",
        primary=parsed("postgres://hubport:secret@db1.example:5432/hubport_uk"),
        standby=parsed("postgres://hubport:other@db2.example:5433/hubport_uk"),
    )
    assert alias["ENGINE"] == FAILOVER_ENGINE and alias["HUB_CODE"] == "uk"
    assert (alias["HOST"], alias["PORT"], alias["PASSWORD"]) == ("db1.example", 5432, "secret")
    standby = side_settings(alias, "alternate")
    assert (standby["NAME"], standby["HOST"], standby["PORT"], standby["PASSWORD"]) == (
        "hubport_uk",
        "db2.example",
        5433,
        "other",
    )
    assert side_settings(alias, "primary") is alias


@pytest.mark.parametrize(
    ("primary", "standby", "message"),
    [
        ("sqlite:////tmp/hub_uk.sqlite3", "postgres://h/hubport_uk", "needs a PostgreSQL primary and standby"),
        ("postgres://h1/hubport_uk", "postgres://h2/other_name", "holds the primary's databases"),
    ],
)
def test_a_standby_that_cannot_be_one_is_refused(primary, standby, message):
    with pytest.raises(ValueError, match=message):
        hub_database_with_standby(hub_code="uk", primary=parsed(primary), standby=parsed(standby))


def test_the_settings_read_the_standby_url_from_the_environment(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.endswith("DATABASE_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.embedded",
            "HUBPORT_DATA_DIR": str(tmp_path),
            "HUB_DE_DATABASE_URL": "postgres://hubport@127.0.0.1:5999/hubport_de",
            "HUB_DE_STANDBY_DATABASE_URL": "postgres://hubport@127.0.0.1:5998/hubport_de",
        }
    )
    code = (
        "from django.conf import settings as s; d = s.DATABASES; "
        "print(d['hub_de']['ENGINE'], d['hub_de']['PORT'], d['hub_de']['STANDBY']['PORT'], d['hub_uk']['ENGINE'])"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["hubs.db.failover", "5999", "5998", "django.db.backends.sqlite3"]
