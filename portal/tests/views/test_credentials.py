"""Settings → Password and Settings → Email address: each change works, is
told to the person by email, ends the other sessions (password) or waits for
the new address to confirm (email); a reset by email tells the person too."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import all_databases
from portal.models import User
from portal.security.notice_emails import SUBJECTS, AccountNotice

pytestmark = [all_databases, pytest.mark.usefixtures("eager_tasks")]
NEW_PASSWORD = "a much longer secret phrase 42"


@pytest.fixture
def owner(make_tenant):
    return make_tenant(hub="de", email="anna@example.test")


@pytest.fixture
def signed_in(client: Client, owner) -> Client:
    assert (
        client.post(reverse("login"), {"email": owner.user.email, "password": owner.user.raw_password}).status_code
        == 302
    )
    return client


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """``with commits():`` runs what the block queued after commit (the emails) at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def mails(kind: AccountNotice) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if message.subject == SUBJECTS[kind]]


def link_in(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://\S+", message.body.split("link", 1)[1])
    assert match, message.body
    return match.group(0)


def test_the_profile_links_to_both_pages(signed_in: Client) -> None:
    html = signed_in.get(reverse("profile")).content.decode()
    assert f'href="{reverse("password_change")}"' in html and f'href="{reverse("email_change")}"' in html


def test_changing_the_password_keeps_this_session_ends_the_others_and_emails(owner, signed_in, commits) -> None:
    other = Client()
    other.post(reverse("login"), {"email": owner.user.email, "password": owner.user.raw_password})
    assert other.get(reverse("profile")).status_code == 200
    with commits():
        response = signed_in.post(
            reverse("password_change"),
            {"old_password": owner.user.raw_password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
            HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        )
    assert response.status_code == 302 and response["Location"] == reverse("profile")
    assert User.objects.get(pk=owner.user.pk).check_password(NEW_PASSWORD)
    assert signed_in.get(reverse("profile")).status_code == 200  # this session stays
    assert other.get(reverse("profile")).status_code == 302  # the other one is signed out
    assert SESSION_KEY not in other.session
    [message] = mails(AccountNotice.PASSWORD_CHANGED)
    assert message.to == ["anna@example.test"]
    assert "Firefox 133 on Linux" in message.body and "was changed" in message.body


def test_a_wrong_current_password_changes_nothing_and_is_slowed_down(owner, signed_in, settings) -> None:
    settings.HUBPORT_SIGN_IN_FAILURES_PER_ACCOUNT_ADDRESS = 3
    data = {"old_password": "not it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    for _ in range(3):
        response = signed_in.post(reverse("password_change"), data)
        assert response.status_code == 200
        assert "That is not your current password." in response.content.decode()
    response = signed_in.post(reverse("password_change"), {**data, "old_password": owner.user.raw_password})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert User.objects.get(pk=owner.user.pk).check_password(owner.user.raw_password)
    assert not mails(AccountNotice.PASSWORD_CHANGED)


@pytest.mark.parametrize(
    ("new", "again", "error"),
    [
        ("short", "short", "too short"),
        ("12345678901234", "12345678901234", "entirely numeric"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two new passwords differ."),
    ],
)
def test_a_weak_or_mistyped_new_password_is_refused(owner, signed_in, new, again, error) -> None:
    response = signed_in.post(
        reverse("password_change"),
        {"old_password": owner.user.raw_password, "new_password1": new, "new_password2": again},
    )
    assert response.status_code == 200 and error in response.content.decode()
    assert User.objects.get(pk=owner.user.pk).check_password(owner.user.raw_password)


def test_a_reset_by_email_tells_the_person(owner, client: Client, commits) -> None:
    client.post(reverse("password_reset"), {"email": owner.user.email})
    [reset] = [m for m in mail.outbox if "password" in m.subject.lower()]
    path = re.search(r"https?://[^/\s]+(/\S+)", reset.body).group(1)  # type: ignore[union-attr]
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    with commits():
        response = client.post(
            form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_complete")
    assert User.objects.get(pk=owner.user.pk).check_password(NEW_PASSWORD)
    [message] = mails(AccountNotice.PASSWORD_CHANGED)
    assert "reset with a link sent by email" in message.body


def test_an_email_change_waits_for_the_new_address_then_tells_the_old(owner, signed_in, commits) -> None:
    with commits():
        response = signed_in.post(
            reverse("email_change"), {"new_email": "Anna.New@Example.test", "password": owner.user.raw_password}
        )
    assert response.status_code == 302
    assert User.objects.get(pk=owner.user.pk).email == "anna@example.test"  # nothing changes yet
    [confirm] = mails(AccountNotice.EMAIL_CHANGE_CONFIRM)
    assert confirm.to == ["anna.new@example.test"]
    path = "/" + link_in(confirm).split("/", 3)[3]
    page = signed_in.get(path)
    assert page.status_code == 200 and "anna.new@example.test" in page.content.decode()
    assert User.objects.get(pk=owner.user.pk).email == "anna@example.test"  # GET changes nothing
    with commits():
        assert signed_in.post(path).status_code == 302
    user = User.objects.get(pk=owner.user.pk)
    assert (user.email, user.username) == ("anna.new@example.test", "anna.new@example.test")
    [told] = mails(AccountNotice.EMAIL_CHANGED)
    assert told.to == ["anna@example.test"] and "anna.new@example.test" in told.body
    # The link works once.
    again = signed_in.post(path)
    assert again.status_code == 400 and "already used" in again.content.decode()
    # The new address signs in; the old one no longer does.
    fresh = Client()
    assert (
        fresh.post(
            reverse("login"), {"email": "anna.new@example.test", "password": owner.user.raw_password}
        ).status_code
        == 302
    )


def test_an_email_change_link_expires_and_belongs_to_one_person(owner, make_tenant, signed_in, commits) -> None:
    with commits():
        signed_in.post(
            reverse("email_change"), {"new_email": "later@example.test", "password": owner.user.raw_password}
        )
    [confirm] = mails(AccountNotice.EMAIL_CHANGE_CONFIRM)
    path = "/" + link_in(confirm).split("/", 3)[3]
    stranger = make_tenant(hub="uk", email="stranger@example.test")
    other = Client()
    other.force_login(stranger.user)
    refused = other.post(path)
    assert refused.status_code == 400 and "another account" in refused.content.decode()
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        expired = signed_in.get(path)
    assert expired.status_code == 400 and "expired" in expired.content.decode()
    tampered = signed_in.get(path[:-3] + "abc/")
    assert tampered.status_code == 400 and "not valid" in tampered.content.decode()
    assert User.objects.get(pk=owner.user.pk).email == "anna@example.test"


def test_an_email_change_refuses_a_taken_address_and_a_wrong_password(owner, make_tenant, signed_in) -> None:
    make_tenant(hub="uk", email="taken@example.test")
    taken = signed_in.post(
        reverse("email_change"), {"new_email": "TAKEN@example.test", "password": owner.user.raw_password}
    )
    assert taken.status_code == 200 and "Another account uses that address." in taken.content.decode()
    wrong = signed_in.post(reverse("email_change"), {"new_email": "free@example.test", "password": "nope"})
    assert wrong.status_code == 200 and "That is not your password." in wrong.content.decode()
    assert not mails(AccountNotice.EMAIL_CHANGE_CONFIRM)
