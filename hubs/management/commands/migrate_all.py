from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from hubs.folders import local_folders_create


class Command(BaseCommand):
    help = "Migrate the control database and every hub database (creating the embedded default's folders first)."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        # The SQLite files, the broker and collectstatic of the embedded default
        # need their folders; in production there are none to make.
        for folder in local_folders_create():
            if verbosity > 1:
                self.stdout.write(f"Folder {folder}")
        for alias in settings.DATABASES:
            if verbosity:
                self.stdout.write(f"Migrating {alias}")
            call_command("migrate", database=alias, interactive=False, verbosity=max(verbosity - 1, 0))
