"""The embedded default: everything under one data folder, no servers needed."""

from .base import *  # noqa: F403
