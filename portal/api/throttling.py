"""The API's rate limits (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES, "anon" and
"user") counted in fixed windows: one counter per client and window, added to
with the cache's incr. DRF's own throttles keep a list of every request's time
per client and write it whole on every request: at 6,000 requests a minute
that is a pickled list of up to 6,000 floats rewritten each time, and in the
embedded default's file cache a read, a write and a scan of the cache folder
(together about a sixth of a small request). A fixed window lets a client
send up to twice its rate across a window's edge; the rates are generous
limits against abuse, not quotas."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class WindowRateThrottle(SimpleRateThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        allowed, seconds = self.parse_rate(self.rate)
        assert allowed is not None and seconds is not None  # a rate was configured
        self.now = self.timer()
        window = int(self.now // seconds)
        self.window_ends = (window + 1) * seconds
        key = f"{self.key}:w{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:
            # The window's first request; losing the race to another process's add means it exists.
            count = 1 if self.cache.add(key, 1, timeout=seconds * 2) else self.cache.incr(key)
        return bool(count <= allowed)

    def wait(self) -> float | None:
        return max(self.window_ends - self.now, 1.0)


class AnonWindowRateThrottle(WindowRateThrottle, AnonRateThrottle):
    pass


class UserWindowRateThrottle(WindowRateThrottle, UserRateThrottle):
    pass
