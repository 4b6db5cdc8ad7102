"""The attack detectors, as critical probes of the staff-only ``security``
component: the round that runs them opens, pages and resolves their incidents
as for any other component, and nothing of them is public
(``hubs.monitoring.probes.STAFF_ONLY_COMPONENTS``).

- ``security.password_spraying`` (control plane): an address failed on
  ``HUBPORT_DETECT_SPRAYING_ACCOUNTS`` (10) distinct accounts in the window;
- ``security.credential_stuffing`` (each hub, the control plane for unknown
  accounts): an account failed from ``HUBPORT_DETECT_STUFFING_ADDRESSES`` (10)
  distinct addresses in the window;
- ``security.token_guessing`` (control plane): ``HUBPORT_DETECT_TOKEN_FAILURES``
  (100) failed bearer tokens in the recent minutes, from any addresses;
- ``security.request_rate`` (each hub and the control plane): requests far
  above the hub's own baseline (``hubs.monitoring.request_rate``).

Each reads cache counters only (``hubs.monitoring.attacks``); its detail has
counts and thresholds, never an address or an account.
"""

from __future__ import annotations

from collections.abc import Callable

from hubs.monitoring.attacks import (
    SPRAYING,
    STUFFING,
    TOKEN_FAILURES,
    detections_count,
    recent_minutes,
    spraying_threshold,
    stuffing_threshold,
    token_failures_threshold,
    window_minutes,
)
from hubs.monitoring.probes import CRITICAL, SECURITY, Check, Probe
from hubs.monitoring.request_rate import request_rate_check


def detections_check(hub_code: str | None, kind: str, what: str, threshold: Callable[[], int]) -> Callable[[], Check]:
    def check() -> Check:
        minutes = recent_minutes()
        found = detections_count(kind=kind, hub_code=hub_code, minutes=minutes)
        shown = what.format(threshold=threshold(), window=window_minutes())
        return Check(ok=found == 0, detail=f"{found} failed sign-ins in {minutes} min {shown} (fails from 1)")

    return check


def token_guessing_check() -> Check:
    minutes, limit = recent_minutes(), token_failures_threshold()
    failed = detections_count(kind=TOKEN_FAILURES, hub_code=None, minutes=minutes)
    return Check(ok=failed < limit, detail=f"{failed} failed bearer tokens in {minutes} min (fails from {limit})")


def security_probes(hub_code: str | None) -> list[Probe]:
    probes = [
        Probe(
            "security.credential_stuffing",
            hub_code,
            SECURITY,
            CRITICAL,
            detections_check(
                hub_code,
                STUFFING,
                "on accounts failing from {threshold}+ addresses in {window} min",
                stuffing_threshold,
            ),
        ),
        Probe("security.request_rate", hub_code, SECURITY, CRITICAL, request_rate_check(hub_code)),
    ]
    if hub_code is None:
        probes += [
            Probe(
                "security.password_spraying",
                None,
                SECURITY,
                CRITICAL,
                detections_check(
                    None,
                    SPRAYING,
                    "from addresses failing on {threshold}+ accounts in {window} min",
                    spraying_threshold,
                ),
            ),
            Probe("security.token_guessing", None, SECURITY, CRITICAL, token_guessing_check),
        ]
    return probes
