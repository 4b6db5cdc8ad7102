"""The folders the embedded default keeps its state in, made where they are needed.

Importing the settings creates nothing. ``manage.py migrate_all`` (the first
step of ``make run``), ``bin/run-embedded`` and the start of a Celery worker or
beat (``portal.celery``) call ``local_folders_create()``: the data folder, the
collectstatic folder and, with the filesystem broker, its folders. In
production ``HUBPORT_LOCAL_FOLDERS`` is empty and the broker is a server, so it
creates nothing.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

# kombu's filesystem transport writes to these and creates none of them but the last.
FILESYSTEM_BROKER_FOLDER_OPTIONS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def local_folders() -> list[Path]:
    folders = [Path(folder) for folder in settings.HUBPORT_LOCAL_FOLDERS]
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders += [Path(options[name]) for name in FILESYSTEM_BROKER_FOLDER_OPTIONS if options.get(name)]
    return list(dict.fromkeys(folders))


def local_folders_create() -> list[Path]:
    """Create the folders (idempotent) and return them."""
    folders = local_folders()
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders
