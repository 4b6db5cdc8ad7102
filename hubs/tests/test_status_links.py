"""The signed links of status subscriptions: any change to a token is refused
as a domain error (never another exception), and the two kinds never pass
for each other."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubs.errors import StatusLinkInvalid
from hubs.status_links import (
    ConfirmationRequest,
    confirmation_read,
    confirmation_token,
    unsubscribe_read,
    unsubscribe_token,
)

REQUEST = ConfirmationRequest(subscription_id=7, email="a@example.test", hub_codes=("de", "uk"), all_hubs=False)
TOKEN = confirmation_token(REQUEST)
LEAVE = unsubscribe_token(subscription_id=7, email="a@example.test")
ALPHABET = string.ascii_letters + string.digits + "-_:"


def test_tokens_read_back_what_they_carry():
    assert confirmation_read(TOKEN) == REQUEST
    assert unsubscribe_read(LEAVE) == (7, "a@example.test")


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.sampled_from(ALPHABET))
def test_any_changed_character_is_refused(position: int, replacement: str):
    for token, read in ((TOKEN, confirmation_read), (LEAVE, unsubscribe_read)):
        index = position % len(token)
        if token[index] == replacement:
            continue
        changed = token[:index] + replacement + token[index + 1 :]
        with pytest.raises(StatusLinkInvalid):
            read(changed)


def test_one_kind_of_link_is_not_the_other():
    with pytest.raises(StatusLinkInvalid):
        confirmation_read(LEAVE)
    with pytest.raises(StatusLinkInvalid):
        unsubscribe_read(TOKEN)
