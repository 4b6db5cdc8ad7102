"""Every model change has its migration: ``makemigrations --check --dry-run``
exits with status 1 (SystemExit) when one is missing. .ci/run runs the same
command on the embedded default."""

from io import StringIO

from django.core.management import call_command

from conftest import all_databases


@all_databases
def test_no_model_change_is_without_its_migration():
    out = StringIO()

    call_command("makemigrations", check=True, dry_run=True, stdout=out)

    assert "No changes detected" in out.getvalue()
