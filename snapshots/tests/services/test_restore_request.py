"""Restore requests: everything that can be refused is refused before anything starts."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import all_databases
from snapshots import services
from snapshots.errors import NotFound, OutsideRetention, RestoreRefused
from snapshots.models import RestoreJob
from snapshots.services import RestoreRequest

pytestmark = all_databases


def write(made, path, content: bytes):
    return services.file_write(
        tenant=made.tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=made.user
    )


def test_bad_restore_requests_are_refused_and_start_nothing(make_tenant):
    made, other = make_tenant(), make_tenant()
    write(made, "/a.txt", b"a")
    foreign = services.snapshot_create(tenant=other.tenant, acting_user=other.user)
    mine = services.snapshot_create(tenant=made.tenant, acting_user=made.user)
    refusals = [
        ({"snapshot_id": foreign.pk}, NotFound),
        ({"snapshot_id": 999_999}, NotFound),
        ({"at": timezone.now() - timedelta(days=29)}, OutsideRetention),
        ({"at": timezone.now() + timedelta(days=1)}, OutsideRetention),
        ({"snapshot_id": mine.pk, "paths": ["/never-existed"]}, NotFound),
        ({"snapshot_id": mine.pk, "paths": ["/a.txt"], "target": "/a.txt/inside"}, RestoreRefused),
        ({"snapshot_id": mine.pk, "target": "/a.txt"}, RestoreRefused),
        ({"snapshot_id": mine.pk, "conflict": "explode"}, RestoreRefused),
        ({"snapshot_id": mine.pk, "at": timezone.now()}, RestoreRefused),
    ]
    for kwargs, error in refusals:
        with pytest.raises(error):
            services.restore_start(tenant=made.tenant, acting_user=made.user, request=RestoreRequest(**kwargs))
    assert RestoreJob.objects.for_tenant(made.tenant).count() == 0


def test_a_moment_before_the_account_existed_is_refused(make_tenant):
    made = make_tenant()
    with pytest.raises(OutsideRetention, match="did not exist yet"):
        services.restore_preview(tenant=made.tenant, request=RestoreRequest(at=timezone.now() - timedelta(days=2)))
