"""The fault suite's installation: one for this package's tests, on the
backend the environment names (see stack.py), with its web server and worker
started once and restarted by the scenarios that kill them. Package scope: it
is gone before other tests marked ``faults`` run, so its worker never takes
their messages from a broker they share (Redis in CI)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.tests.faults.stack import HUB_CODES, VENV_BIN, Stack

SKIP_PREFIXES = ("DJANGO_", "HUB_", "DATABASE_", "CELERY_", "CACHE_", "EMAIL_", "HUBPORT_")


def _stack_env(data_dir: str) -> tuple[dict[str, str], str]:
    outer = os.environ
    env = {name: value for name, value in outer.items() if not name.startswith(SKIP_PREFIXES)}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings.embedded", HUBPORT_DATA_DIR=data_dir, PYTHONUNBUFFERED="1")
    if not outer.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return env, "sqlite"
    env["DATABASE_URL"] = outer["DATABASE_URL"] + "_flt"
    for code in HUB_CODES:
        name = f"HUB_{code.upper()}_DATABASE_URL"
        env[name] = outer[name] + "_flt"
    for name in ("CELERY_BROKER_URL", "CACHE_URL"):
        if outer.get(name):
            env[name] = outer[name]
    return env, "postgresql"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """This package's tests first, after pytest-django's own ordering (which
    puts tests without a database last): the installation below is gone by the
    time another test marked ``faults`` starts the in-process test worker,
    which would otherwise consume this installation's messages from a Redis
    broker they share (CI's database 13) with the test databases' settings."""
    here = Path(__file__).resolve().parent
    ours = [item for item in items if here in item.path.resolve().parents]
    items[:] = ours + [item for item in items if here not in item.path.resolve().parents]


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (VENV_BIN / "gunicorn").exists() or not (VENV_BIN / "celery").exists():
        pytest.skip("the fault suite runs gunicorn and celery from the virtualenv (make test makes it)")
    base = tmp_path_factory.mktemp("faults")
    env, backend = _stack_env(str(base / "data"))
    running = Stack(base=base, env=env, backend=backend)
    running.install()
    try:
        running.web_start()
        running.worker_start()
        yield running
    finally:
        running.web_stop()
        running.worker_stop()
        running.uninstall()


@pytest.fixture
def web(stack: Stack) -> Stack:
    """The stack with its web server answering (a scenario before may have killed it)."""
    if stack.web is None or stack.web.poll() is not None:
        stack.web_start()
    return stack
