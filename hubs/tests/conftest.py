"""Fixtures of the hubs tests: a frozen clock, tasks run at once, and the
people who are told about maintenance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hubs.models import Membership
from hubs.tests.alerting import duty, smtp_receiver, webhook_receiver  # noqa: F401 - fixtures
from hubs.tests.windows import frozen, person  # noqa: F401 - frozen is a fixture


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Tasks queued after commit run at once, in this thread; a retry runs again at once
    (eager retries work only when errors do not propagate; tests check the rows)."""
    from celery import current_app as app

    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def people(make_tenant) -> dict[str, Any]:
    """uk: an owner who also administers an ae tenant, an admin and a plain member;
    ae: an owner; us (not in the window): an owner."""
    uk = make_tenant(hub="uk", email="owner@uk.test")
    ae = make_tenant(hub="ae", email="owner@ae.test")
    us = make_tenant(hub="us", email="owner@us.test")
    admin, member = person("admin@uk.test"), person("member@uk.test")
    Membership.objects.create(user=admin, tenant=uk.tenant, role=Membership.Role.ADMIN)
    Membership.objects.create(user=member, tenant=uk.tenant, role=Membership.Role.MEMBER)
    Membership.objects.create(user=uk.user, tenant=ae.tenant, role=Membership.Role.ADMIN)
    return {"uk_owner": uk.user, "uk_admin": admin, "uk_member": member, "ae_owner": ae.user, "us_owner": us.user}
