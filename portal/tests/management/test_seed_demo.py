from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conftest import all_databases
from hubs.models import Tenant
from portal.management.commands.seed_demo import DEMO_EMAIL, DEMO_FILES, DEMO_PASSWORD
from portal.models import User
from snapshots import selectors

pytestmark = all_databases


def test_seed_demo_makes_a_demo_tenant_with_files_and_is_safe_to_run_twice():
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)

    tenant = Tenant.objects.get(slug="demo")
    assert tenant.hub_id == "uk"
    tree = selectors.tree_as_of(tenant=tenant)
    assert set(DEMO_FILES) <= set(tree)
    assert Tenant.objects.count() == 1
    for output in (first.getvalue(), second.getvalue()):
        assert DEMO_EMAIL in output and DEMO_PASSWORD in output and "otpauth://totp/" in output
        assert "http://127.0.0.1:8000/" in output


def test_seed_demo_refuses_settings_that_do_not_allow_a_published_password(settings):
    settings.HUBPORT_DEMO_ALLOWED = False

    with pytest.raises(CommandError, match="HUBPORT_DEMO_ALLOWED is off"):
        call_command("seed_demo", stdout=StringIO())

    assert not User.objects.exists() and not Tenant.objects.exists()
