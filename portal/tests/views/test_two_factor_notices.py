"""Every change of two-factor settings, and every sign-in with a backup code,
emails the person (ASVS V6): the real pages, a real worker, a real SMTP server.
Nothing is sent for a change that was refused."""

from __future__ import annotations

from email.message import Message

import pytest
from django.test import Client
from django.urls import reverse

from hubs.tests.alerting import smtp_receiver  # noqa: F401 - a fixture
from portal.models import AuthenticatorDevice
from portal.security.notice_emails import SUBJECTS, AccountNotice
from portal.tests.views.test_two_factor import PASSWORD, code_for, is_signed_in, password_step

SUBJECT = SUBJECTS[AccountNotice.TWO_FACTOR_CHANGED]
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


class TwoFactorNotices:
    """Reads the two-factor emails in the order they arrive (other kinds are passed over)."""

    def __init__(self, receiver) -> None:
        self.receiver = receiver
        self.read = 0

    def next(self) -> str:
        while True:
            notices = [m for m in self.receiver.messages if m["Subject"] == SUBJECT]
            if len(notices) > self.read:
                self.read += 1
                return body_of(notices[self.read - 1])
            assert self.receiver.arrived.acquire(timeout=60), "no email reached the SMTP server"


@pytest.mark.worker
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_each_two_factor_change_emails_the_person(celery_worker, smtp_receiver, make_tenant):  # noqa: F811
    owner = make_tenant(password=PASSWORD).user
    notices = TwoFactorNotices(smtp_receiver)
    client = Client(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="198.51.100.7")
    password_step(client, owner)
    assert is_signed_in(client)

    client.get(reverse("two_factor_setup"))
    pending = AuthenticatorDevice.objects.get(user=owner, confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"device_id": pending.pk, "code": code_for(pending)})
    assert response["Location"] == reverse("two_factor_backup_codes")
    codes = client.get(reverse("two_factor_backup_codes")).context["codes"]
    body = notices.next()
    assert "changed: an authenticator app was added, and 10 backup codes were made." in body
    assert "Address: 198.51.100.7" in body and "Device:  Firefox 133 on Linux" in body
    assert smtp_receiver.messages[-1]["To"] == owner.email

    assert client.post(reverse("two_factor_backup_codes")).status_code == 302
    new_codes = client.get(reverse("two_factor_backup_codes")).context["codes"]
    assert set(new_codes).isdisjoint(codes)
    assert "10 new backup codes were made; the earlier ones no longer work" in notices.next()

    client.post(reverse("logout"))
    password_step(client, owner)
    assert client.post(reverse("login_code"), {"code": new_codes[0]}).status_code == 302
    body = notices.next()
    assert "a backup code was used to sign in (9 left)" in body and "Address: 198.51.100.7" in body

    # A refused removal (wrong password) changes nothing and sends nothing.
    refused = client.post(reverse("two_factor_remove"), {"device_id": pending.pk, "password": "wrong"})
    assert refused.status_code == 200
    assert client.post(reverse("two_factor_remove"), {"device_id": pending.pk, "password": PASSWORD}).status_code == 302
    body = notices.next()
    assert "the authenticator app and the backup codes were removed" in body
    assert [m["Subject"] for m in smtp_receiver.messages].count(SUBJECT) == 4, "one email per change, no more"
