"""The embedded default's folders are made where they are needed: by
``manage.py migrate_all`` (make run's first step), bin/run-embedded and the
start of a Celery worker or beat, never by importing the settings
(portal/tests/test_settings.py checks that), and none in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery.signals import beat_init, worker_init
from django.core.management import call_command

from hubs.folders import local_folders, local_folders_create


@pytest.fixture
def embedded_folders(tmp_path, settings) -> list[Path]:
    """The settings of an embedded default in tmp_path/data, with its filesystem broker."""
    data, broker = tmp_path / "data", tmp_path / "data" / "broker"
    settings.HUBPORT_LOCAL_FOLDERS = [str(data), str(data / "staticfiles")]
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(broker / "out"),
        "data_folder_out": str(broker / "out"),
        "processed_folder": str(broker / "processed"),
        "control_folder": str(broker / "control"),
        "store_processed": False,
    }
    folders = [data, data / "staticfiles", broker / "out", broker / "processed", broker / "control"]
    assert not any(folder.exists() for folder in folders)
    return folders


def test_the_folders_are_the_listed_ones_and_the_filesystem_brokers(embedded_folders, settings):
    assert local_folders() == embedded_folders
    assert local_folders_create() == embedded_folders
    assert all(folder.is_dir() for folder in embedded_folders)
    assert local_folders_create() == embedded_folders, "again: nothing changes"

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    assert local_folders() == embedded_folders[:2]
    settings.HUBPORT_LOCAL_FOLDERS = []
    assert local_folders() == [], "production's settings: nothing to make"


class AnotherAppsWorker:
    """A sender Celery's Django fixup takes for another app's worker, so it leaves
    this process's database connections and signals alone."""

    app = object()


@pytest.mark.parametrize("signal", [worker_init, beat_init], ids=["worker", "beat"])
def test_a_starting_celery_worker_or_beat_makes_them(embedded_folders, signal):
    signal.send(sender=AnotherAppsWorker())

    assert all(folder.is_dir() for folder in embedded_folders)


def test_migrate_all_makes_them_before_migrating(embedded_folders, settings, monkeypatch):
    migrated = []

    def migrate(name, **options):
        assert all(folder.is_dir() for folder in embedded_folders), "the SQLite files need the data folder"
        migrated.append(options["database"])

    monkeypatch.setattr("hubs.management.commands.migrate_all.call_command", migrate)

    call_command("migrate_all", verbosity=0)

    assert migrated == list(settings.DATABASES)
