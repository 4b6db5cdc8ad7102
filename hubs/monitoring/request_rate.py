"""A hub's request rate against its own baseline: the denial-of-service detector.

The baseline is an exponentially weighted mean of the hub's requests per
minute, learnt from the web tier's per-minute counters
(``hubs.monitoring.web_stats``) by the ``security.request_rate`` probe itself:
each run folds in the whole minutes it has not seen yet (up to the 15 the
counters keep; older gaps are skipped, not read as quiet) and keeps the
result in the cache for a week. Its time constant is
``HUBPORT_DETECT_DOS_BASELINE_MINUTES`` (60): each minute weighs 1/60, the
first minutes their plain mean.

The rule (``rate_judged``): once ``HUBPORT_DETECT_DOS_LEARN_MINUTES`` (60) are
learnt, the probe fails when the busiest of the last two minutes (the one
under way included) is over ``HUBPORT_DETECT_DOS_FACTOR`` (10) times the
baseline, or that factor times ``HUBPORT_DETECT_DOS_MIN_RATE`` (60 a minute)
if the baseline is lower, so a quiet hub's first busy hour is not an attack.
The judged minutes are folded in only on later runs, and a minute over the
rule weighs a hundredth: an hour of flood does not teach the detector that floods
are normal, while a lasting real rise is learnt within a working day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from hubs.monitoring.minute_counters import CONTROL, KEPT_SECONDS, minute_of
from hubs.monitoring.probes import Check
from hubs.monitoring.web_stats import web_stats_read

BASELINE_KEPT_SECONDS = 7 * 24 * 3600
FOLD_BACK_MINUTES = KEPT_SECONDS // 60 - 1
JUDGED_MINUTES = 2
ANOMALY_WEIGHT = 0.01


@dataclass(frozen=True)
class RateRule:
    factor: float
    floor: float
    learn_minutes: int
    baseline_minutes: int

    @classmethod
    def from_settings(cls) -> RateRule:
        return cls(
            factor=float(getattr(settings, "HUBPORT_DETECT_DOS_FACTOR", 10.0)),
            floor=float(getattr(settings, "HUBPORT_DETECT_DOS_MIN_RATE", 60.0)),
            learn_minutes=int(getattr(settings, "HUBPORT_DETECT_DOS_LEARN_MINUTES", 60)),
            baseline_minutes=int(getattr(settings, "HUBPORT_DETECT_DOS_BASELINE_MINUTES", 60)),
        )

    def limit(self, baseline: Baseline) -> float:
        return self.factor * max(baseline.rate, self.floor)


@dataclass(frozen=True)
class Baseline:
    rate: float = 0.0  # requests a minute
    minutes: int = 0  # minutes learnt
    last_minute: int | None = None  # the last minute folded in (minutes since the epoch)


def rate_judged(*, rate: float, baseline: Baseline, rule: RateRule) -> bool:
    """Whether ``rate`` (requests in a minute) is an attack on this baseline."""
    return baseline.minutes >= rule.learn_minutes and rate > rule.limit(baseline)


def baseline_fold(baseline: Baseline, rates: Iterable[float], *, rule: RateRule) -> Baseline:
    """The baseline with further minutes' rates folded in, oldest first."""
    for rate in rates:
        weight = max(1.0 / max(rule.baseline_minutes, 1), 1.0 / (baseline.minutes + 1))
        if rate_judged(rate=rate, baseline=baseline, rule=rule):
            weight *= ANOMALY_WEIGHT
        baseline = replace(baseline, rate=baseline.rate + weight * (rate - baseline.rate), minutes=baseline.minutes + 1)
    return baseline


def _key(hub_code: str | None) -> str:
    return f"hubport:security.request_rate:{hub_code or CONTROL}:baseline"


def _requests_in(hub_code: str | None, minute: int) -> int:
    return web_stats_read(hub_code=hub_code, minutes=1, moment=_moment(minute)).requests


def _moment(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC) + timedelta(seconds=1)


def baseline_advance(*, hub_code: str | None, now: datetime | None = None, rule: RateRule | None = None) -> Baseline:
    """Fold every whole minute before the judged ones that is not folded yet
    (within the counters' reach) and keep the result."""
    rule = rule or RateRule.from_settings()
    current = minute_of(now)
    stored = cache.get(_key(hub_code))
    baseline = stored if isinstance(stored, Baseline) else Baseline()
    last_to_fold = current - JUDGED_MINUTES
    first = current - FOLD_BACK_MINUTES
    if baseline.last_minute is not None:
        first = max(first, baseline.last_minute + 1)
    if first <= last_to_fold:
        baseline = baseline_fold(
            baseline, (_requests_in(hub_code, minute) for minute in range(first, last_to_fold + 1)), rule=rule
        )
        baseline = replace(baseline, last_minute=last_to_fold)
        cache.set(_key(hub_code), baseline, timeout=BASELINE_KEPT_SECONDS)
    return baseline


def request_rate_check(hub_code: str | None) -> Callable[[], Check]:
    def check() -> Check:
        rule = RateRule.from_settings()
        now = timezone.now()
        baseline = baseline_advance(hub_code=hub_code, now=now, rule=rule)
        current = minute_of(now)
        rate = max(_requests_in(hub_code, minute) for minute in range(current - JUDGED_MINUTES + 1, current + 1))
        detail = (
            f"{rate} requests in the busiest of the last {JUDGED_MINUTES} minutes; baseline "
            f"{baseline.rate:.1f} a minute over {baseline.minutes} min learnt (fails above {rule.limit(baseline):g})"
        )
        if baseline.minutes < rule.learn_minutes:
            return Check(ok=True, detail=f"{detail}; still learning")
        return Check(ok=not rate_judged(rate=rate, baseline=baseline, rule=rule), detail=detail)

    return check
