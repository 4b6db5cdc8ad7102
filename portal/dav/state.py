"""Locks and dead properties where every gunicorn worker and thread sees them.

WsgiDAV keeps both in a dict behind an in-process read-write lock. Here the
dict lives in Django's cache (Redis in production, the file cache in the
embedded setup: both shared by every process) and the lock is a cache mutex
around loading and storing it: each operation reads the table, changes it and
writes it back while holding the mutex. Locks and dead properties are few
(a client holds a lock for an edit; litmus sets a handful of properties), so
one table each is enough; the tables carry paths, never bytes, and are never
logged.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.cache import cache
from wsgidav.lock_man.lock_storage import LockStorageDict
from wsgidav.prop_man.property_manager import PropertyManager

# A holder that died keeps the mutex at most this long; an operation takes milliseconds.
MUTEX_SECONDS = 10
MUTEX_POLL_SECONDS = 0.005


class MutexTimeout(RuntimeError):
    pass


class CachedTable:
    """A reentrant stand-in for WsgiDAV's ReadWriteLock that loads the owner's
    ``_dict`` from the cache on the outermost acquire and stores it on the
    outermost release."""

    def __init__(self, owner: Any, key: str) -> None:
        self.owner = owner
        self.key = key
        self.mutex_key = f"{key}:mutex"
        self._thread_lock = threading.RLock()
        self._local = threading.local()

    def acquire_read(self, timeout: float | None = None) -> None:
        self._acquire()

    def acquire_write(self, timeout: float | None = None) -> None:
        self._acquire()

    def _acquire(self) -> None:
        self._thread_lock.acquire()
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            deadline = time.monotonic() + MUTEX_SECONDS
            while not cache.add(self.mutex_key, 1, timeout=MUTEX_SECONDS):
                if time.monotonic() > deadline:
                    self._thread_lock.release()
                    raise MutexTimeout(self.mutex_key)
                time.sleep(MUTEX_POLL_SECONDS)  # another process holds the table for a moment
            self.owner._dict = cache.get(self.key) or {}
        self._local.depth = depth + 1

    def release(self) -> None:
        self._local.depth -= 1
        if self._local.depth == 0:
            try:
                cache.set(self.key, self.owner._dict, timeout=None)
            finally:
                cache.delete(self.mutex_key)
        self._thread_lock.release()


class SharedLockStorage(LockStorageDict):
    """WsgiDAV's lock storage with its table in the cache."""

    def __init__(self, key: str = "hubport:dav:locks") -> None:
        super().__init__()
        self._lock = CachedTable(self, key)

    def open(self) -> None:
        self._dict: dict[str, Any] = {}

    def close(self) -> None:
        pass

    def clear(self) -> None:
        self._lock.acquire_write()
        try:
            self._dict = {}
        finally:
            self._lock.release()


class SharedPropertyManager(PropertyManager):
    """WsgiDAV's dead-property store with its table in the cache."""

    def __init__(self, key: str = "hubport:dav:properties") -> None:
        super().__init__()
        self._dict: dict[str, Any] = {}
        self._loaded = True
        self._lock = CachedTable(self, key)

    def _lazy_open(self) -> None:
        self._loaded = True

    def _sync(self) -> None:
        pass

    def _close(self) -> None:
        pass
