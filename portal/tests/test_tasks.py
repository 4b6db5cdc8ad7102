"""Tasks run through a real Celery worker and land on their hub's queue."""

import pytest

from conftest import all_databases, unprovision
from portal.tasks import tenant_provision_task
from snapshots.models import TenantClock

pytestmark = [all_databases, pytest.mark.worker]


def test_provisioning_task_runs_on_the_tenants_hub_queue(make_tenant, celery_worker):
    tenant = make_tenant(hub="au").tenant
    unprovision(tenant)

    result = tenant_provision_task.apply_async(kwargs={"tenant_id": tenant.pk})
    outcome = celery_worker.wait_for(result.id)

    assert outcome["state"] == "SUCCESS", outcome
    assert outcome["queue"] == "hub.au"
    assert TenantClock.objects.for_tenant(tenant).count() == 1
    tenant.refresh_from_db()
    assert tenant.provisioned_at is not None


def test_task_for_a_missing_tenant_finishes_quietly(celery_worker):
    result = tenant_provision_task.apply_async(kwargs={"tenant_id": 999_999})
    assert celery_worker.wait_for(result.id)["state"] == "SUCCESS"


def test_router_sends_hub_tasks_to_their_hub_and_everything_else_to_control(make_tenant):
    from celery import shared_task

    from portal.celery import route_task
    from snapshots.tasks import sweep_temporaries_task

    tenant = make_tenant(hub="ae").tenant

    @shared_task(name="tests.control_task_with_ids")
    def control_task_with_ids(*, tenant_id: int, hub_code: str) -> None: ...

    assert route_task("x", (), {"tenant_id": tenant.pk}, {}, task=tenant_provision_task) == {"queue": "hub.ae"}
    assert route_task("x", (), {"hub_code": "hk"}, {}, task=sweep_temporaries_task) == {"queue": "hub.hk"}
    assert route_task("x", (), {"tenant_id": tenant.pk, "hub_code": "hk"}, {}, task=control_task_with_ids) == {
        "queue": "control"
    }
    with pytest.raises(ValueError, match="needs a tenant_id= or hub_code="):
        route_task("x", (), {}, {}, task=sweep_temporaries_task)
