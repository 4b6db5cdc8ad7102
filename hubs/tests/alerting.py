"""What the alert tests share: a real HTTP webhook receiver on loopback, a real
SMTP server (aiosmtpd), a duty rota with its policy, and an incident opened
the way the probes open one (two failed rounds)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from hubs.models import EscalationPolicy, EscalationStep, Incident, OnCallRota, RotaParticipant
from hubs.services.incidents import Observation, incidents_observe
from hubs.tests.test_tasks import RecordingHandler, free_port
from hubs.tests.windows import person

# Monday 30 November 2026, 12:00 UTC (13:00 in Frankfurt).
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SECRET = "test-webhook-secret-of-at-least-32-characters"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    def signature_valid(self, secret: str = SECRET) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("X-Hubport-Signature", ""))


@dataclass
class WebhookReceiver:
    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to give first, then 204
    # Released once per accepted POST, so a test waits on a worker's webhook without sleeping.
    arrived: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    @property
    def events(self) -> list[str]:
        return [item.payload["event"] for item in self.received]


@pytest.fixture
def webhook_receiver(settings) -> Iterator[WebhookReceiver]:
    """A real HTTP server on loopback, configured as the only webhook URL."""
    receiver = WebhookReceiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                status = receiver.answers.pop(0) if receiver.answers else 204
                if status < 300:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if status < 300:
                receiver.arrived.release()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/hubport"
    settings.HUBPORT_ALERT_WEBHOOK_URLS = [receiver.url]
    settings.HUBPORT_ALERT_WEBHOOK_SECRET = SECRET
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class SignallingHandler(RecordingHandler):
    """RecordingHandler that also signals each message, so a test waits on it (no sleeping)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Semaphore(0)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        answer = await super().handle_DATA(server, session, envelope)
        if answer.startswith("250"):
            self.arrived.release()
        return answer


@pytest.fixture
def smtp_receiver(settings) -> Iterator[SignallingHandler]:
    handler = SignallingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield handler
    finally:
        controller.stop()


@dataclass
class Duty:
    rota: OnCallRota
    policy: EscalationPolicy
    first: Any  # on call (rota step)
    second: Any  # step 2: a named staff user


@pytest.fixture
def duty(db) -> Duty:
    """A default rota (first@ on call) and a default policy: 1) the rota's on-call,
    2) second@ directly; repeated once more (repeat_limit 1)."""
    first, second = person("first@ops.test"), person("second@ops.test")
    for user in (first, second):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    rota = OnCallRota.objects.create(name="Ops", is_default=True, starts_at=T0 - timedelta(days=1))
    RotaParticipant.objects.create(rota=rota, user=first, position=0)
    policy = EscalationPolicy.objects.create(name="Ops policy", is_default=True, repeat_limit=1)
    EscalationStep.objects.create(policy=policy, position=0, rota=rota)
    EscalationStep.objects.create(policy=policy, position=1, user=second)
    return Duty(rota=rota, policy=policy, first=first, second=second)


def failing(hub: str = "de", name: str = "primary_rt", at: datetime = T0, ok: bool = False) -> Observation:
    return Observation(
        hub_code=hub,
        name=name,
        component="storage.primary",
        severity="critical",
        ok=ok,
        detail="" if ok else "put/get/delete round trip timed out after 5 s (facility 3)",
        at=at,
    )


def open_incident(hub: str = "de", at: datetime = T0) -> Incident:
    """Two failed rounds a minute apart, as the probes report them; the second opens the incident."""
    incidents_observe(observations=[failing(hub, at=at - timedelta(minutes=1))], now=at - timedelta(minutes=1))
    result = incidents_observe(observations=[failing(hub, at=at)], now=at)
    [incident] = result.opened
    return incident


def recover(hub: str = "de", at: datetime = T0) -> None:
    """Two good rounds: the automatic incident resolves on the second."""
    for minute in (0, 1):
        moment = at + timedelta(minutes=minute)
        incidents_observe(observations=[failing(hub, at=moment, ok=True)], now=moment)
