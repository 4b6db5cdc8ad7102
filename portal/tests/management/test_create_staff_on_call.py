"""manage.py create_staff --on-call: a small install has a duty engineer at once."""

from __future__ import annotations

from io import StringIO

import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from conftest import all_databases
from hubs.models import EscalationPolicy, OnCallRota, RotaParticipant
from hubs.services.oncall import on_call_user_id
from hubs.tests.alerting import T0, open_incident

pytestmark = all_databases

PASSWORD = "a-long-staff-passphrase-42"


def create_staff(email: str, *flags: str) -> None:
    call_command("create_staff", "--email", email, "--password", PASSWORD, *flags, stdout=StringIO(), stderr=StringIO())


def test_the_new_staff_member_is_on_call_now_and_is_paged(eager_tasks, django_capture_on_commit_callbacks):
    create_staff("duty@ops.test", "--on-call")
    rota = OnCallRota.objects.get(is_default=True)
    policy = EscalationPolicy.objects.get(is_default=True)
    assert list(policy.steps.values_list("rota_id", flat=True)) == [rota.pk]
    [participant] = RotaParticipant.objects.filter(rota=rota)
    assert participant.user.email == "duty@ops.test" and participant.user.is_staff
    assert on_call_user_id(rota=rota, at=timezone.now()) == participant.user_id

    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        open_incident()
    assert [message.to for message in mail.outbox] == [["duty@ops.test"]]


def test_again_it_changes_nothing_and_without_the_flag_nobody_joins(db):
    create_staff("duty@ops.test", "--on-call")
    create_staff("duty@ops.test", "--on-call")
    create_staff("second@ops.test")
    assert OnCallRota.objects.count() == EscalationPolicy.objects.count() == 1
    assert list(RotaParticipant.objects.values_list("user__email", "position")) == [("duty@ops.test", 0)]
    create_staff("second@ops.test", "--on-call")
    assert list(RotaParticipant.objects.values_list("user__email", "position")) == [
        ("duty@ops.test", 0),
        ("second@ops.test", 1),
    ]
