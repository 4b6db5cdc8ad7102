"""Fixtures the portal's tests borrow from the hubs' tests: tasks run at once,
a duty rota with its escalation policy, and a real webhook receiver on loopback."""

from hubs.tests.alerting import duty, webhook_receiver  # noqa: F401 - fixtures
from hubs.tests.conftest import eager_tasks  # noqa: F401 - a fixture
