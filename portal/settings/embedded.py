"""The embedded default: everything under one data folder, no servers needed."""

from .base import *  # noqa: F403

# `make run` seeds a demo tenant and a support user with published passwords.
HUBPORT_DEMO_ALLOWED = True
