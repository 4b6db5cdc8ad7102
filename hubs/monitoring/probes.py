"""What a probe is, the registry other apps add probes to, and the runner that
bounds each probe by its timeout.

A probe's detail carries ids and numbers only, never a customer's file name;
an exception is reported by its class, never its message (a storage or
database error may quote a key or a row).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from typing import Literal

from django.db import connections

Severity = Literal["critical", "warning"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"

# A probe is a worker's glance, not a job: 10 s is long enough for a remote
# database or a bucket across the hub, short enough that a round of ~15 probes
# a hub stays well inside the minute between rounds.
DEFAULT_TIMEOUT_SECONDS = 10.0

# Components only staff see: their probes and incidents page the duty engineer
# like any other, but never reach the public status page or API, the
# customers' banner or subscribers, and never mark an uptime minute down
# (an attack detected is not the service down; what it breaks, the other
# probes see). A blob lost in every facility (scrub's ``integrity``) is one
# tenant's data, told to that tenant by support, not the hub down for all.
SECURITY = "security"
INTEGRITY = "integrity"
STAFF_ONLY_COMPONENTS = frozenset({SECURITY, INTEGRITY})


def component_is_public(component: str) -> bool:
    return component not in STAFF_ONLY_COMPONENTS


@dataclass(frozen=True)
class Check:
    """What a probe's check found: passed or not, and a short detail (ids only)."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class ProbeOutcome:
    ok: bool
    latency_ms: float
    detail: str


@dataclass(frozen=True)
class Probe:
    name: str
    hub_code: str | None  # None: a control-plane probe
    component: str
    severity: Severity
    check: Callable[[], Check]
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def run(self) -> ProbeOutcome:
        """Run the check in a worker thread, bounded by the timeout. A check that
        raises or outlives its timeout has failed."""
        return probe_execute(self)


ProbeFactory = Callable[[str | None], Iterable[Probe]]

_factories: dict[str, ProbeFactory] = {}
_factories_lock = threading.Lock()


def probe_register(factory: ProbeFactory, *, key: str | None = None) -> ProbeFactory:
    """Add a factory that yields the probes for a hub code (None: the control
    plane). Registering the same key again replaces it, so ``ready()`` running
    twice adds nothing twice."""
    registration_key = key or f"{factory.__module__}.{getattr(factory, '__qualname__', repr(factory))}"
    with _factories_lock:
        _factories[registration_key] = factory
    return factory


def probe_unregister(key: str) -> None:
    with _factories_lock:
        _factories.pop(key, None)


def probes_for(hub_code: str | None) -> list[Probe]:
    """Every registered probe of a hub (or of the control plane, for None)."""
    with _factories_lock:
        factories = list(_factories.items())
    probes: list[Probe] = []
    for key, factory in factories:
        try:
            probes.extend(factory(hub_code))
        except Exception as exc:  # noqa: BLE001 - one app's broken factory must not silence the others' probes
            probes.append(_factory_failed_probe(key, hub_code, exc))
    # A control round may carry probes that speak for a hub (a hub's workers
    # are pinged from the control plane), so a name is unique per hub it names.
    keys = [(probe.hub_code or "", probe.name) for probe in probes]
    duplicated = {key for key in keys if keys.count(key) > 1}
    if duplicated:
        raise ValueError(f"Probe names must be unique per hub: {sorted(duplicated)}")
    return probes


def _factory_failed_probe(key: str, hub_code: str | None, exc: Exception) -> Probe:
    found = Check(ok=False, detail=f"probe factory {key} raised {type(exc).__name__}")
    return Probe(f"registry.{key}", hub_code, "monitoring", CRITICAL, lambda: found)


def _check_in_thread(check: Callable[[], Check]) -> Check:
    try:
        return check()
    finally:
        # The thread's own database connections: closed, or each round would
        # leave one per probe open until the thread is collected.
        connections.close_all()


def probe_execute(probe: Probe) -> ProbeOutcome:
    started = time.perf_counter()
    # One thread per probe, not shared: a check stuck past its timeout keeps its
    # thread, and must not hold up the probes after it. A daemon thread: nor may
    # it hold up the end of the process (probes_run, the drill's verify stage);
    # an executor's threads are joined when the interpreter exits.
    future: Future[Check] = Future()

    def run_check() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(_check_in_thread(probe.check))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller, which judges it
            future.set_exception(exc)

    threading.Thread(target=run_check, name=f"probe-{probe.name}", daemon=True).start()
    try:
        found = future.result(timeout=probe.timeout_seconds)
    except FutureTimeoutError:
        latency_ms = (time.perf_counter() - started) * 1000
        return ProbeOutcome(ok=False, latency_ms=latency_ms, detail=f"timed out after {probe.timeout_seconds:g} s")
    except Exception as exc:  # noqa: BLE001 - any failure of a check is the probe failing
        latency_ms = (time.perf_counter() - started) * 1000
        return ProbeOutcome(ok=False, latency_ms=latency_ms, detail=f"raised {type(exc).__name__}")
    latency_ms = (time.perf_counter() - started) * 1000
    return ProbeOutcome(ok=found.ok, latency_ms=latency_ms, detail=found.detail)
