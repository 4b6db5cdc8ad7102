"""Fixtures the portal's tests borrow from the hubs' tests: tasks run at once,
a duty rota with its escalation policy, a real webhook receiver and a real
SMTP server on loopback."""

from hubs.tests.alerting import duty, smtp_receiver, webhook_receiver  # noqa: F401 - fixtures
from hubs.tests.conftest import eager_tasks  # noqa: F401 - a fixture
