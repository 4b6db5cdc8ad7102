"""Locks and dead properties where every gunicorn worker and thread sees them.

WsgiDAV keeps both in a dict behind an in-process read-write lock. Here the
dict lives in Django's cache (Redis in production, the file cache in the
embedded setup: both shared by every process) and the lock is a mutex
(Redis's atomic add; a file lock beside the file cache) around loading and
storing it: each operation reads the table, changes it and writes it back
while holding the mutex. Locks and dead properties are few
(a client holds a lock for an edit; litmus sets a handful of properties), so
one table each is enough; the tables carry paths, never bytes, and are never
logged.
"""

from __future__ import annotations

import fcntl
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

from django.core.cache import cache
from django.core.cache.backends.filebased import FileBasedCache
from wsgidav.lock_man.lock_storage import LockStorageDict
from wsgidav.prop_man.property_manager import PropertyManager

# A holder that died keeps the mutex at most this long; an operation takes milliseconds.
MUTEX_SECONDS = 10
MUTEX_POLL_SECONDS = 0.005


class MutexTimeout(RuntimeError):
    pass


# Each WebDAV request on a thread is one epoch: a table read once in it is not
# read from the cache again until the next request (a PROPFIND of 10,000 entries
# asks for every entry's locks and properties), and a write always reloads it
# under the mutex first.
_requests = threading.local()


def request_begins() -> None:
    _requests.epoch = getattr(_requests, "epoch", 0) + 1


def _epoch() -> int:
    return getattr(_requests, "epoch", 0)


class CachedTable:
    """A reentrant stand-in for WsgiDAV's ReadWriteLock over a table kept in the
    cache. Reads use the process's copy when the table's version in the cache is
    the one loaded (checked once per request and thread); a write takes the
    mutex, reloads the table, and on the outermost release stores it with a new
    version."""

    def __init__(self, owner: Any, key: str) -> None:
        self.owner = owner
        self.key = key
        self.mutex_key = f"{key}:mutex"
        self.version_key = f"{key}:version"
        self._thread_lock = threading.RLock()
        self._local = threading.local()
        self._file: IO[bytes] | None = None  # the file lock's handle, while held (under _thread_lock)
        self._mutex_held = False
        self._loaded_version: str | None = None
        self._checked: tuple[int, int] | None = None  # (thread id, epoch) the version was last checked in

    def acquire_read(self, timeout: float | None = None) -> None:
        self._thread_lock.acquire()
        depth = getattr(self._local, "depth", 0)
        if depth == 0 and not self._mutex_held:
            now = (threading.get_ident(), _epoch())
            if self._checked != now:
                version = cache.get(self.version_key)
                if version is None or version != self._loaded_version:
                    self.owner._dict = cache.get(self.key) or {}
                    self._loaded_version = version
                self._checked = now
        self._local.depth = depth + 1

    def acquire_write(self, timeout: float | None = None) -> None:
        self._thread_lock.acquire()
        depth = getattr(self._local, "depth", 0)
        if not self._mutex_held:
            try:
                self._mutex_take()
            except BaseException:
                self._thread_lock.release()
                raise
            self._mutex_held = True
            self.owner._dict = cache.get(self.key) or {}
        self._local.depth = depth + 1

    def release(self) -> None:
        self._local.depth -= 1
        if self._local.depth == 0 and self._mutex_held:
            try:
                version = uuid.uuid4().hex
                cache.set(self.key, self.owner._dict, timeout=None)
                cache.set(self.version_key, version, timeout=None)
                self._loaded_version = version
                self._checked = (threading.get_ident(), _epoch())
            finally:
                self._mutex_held = False
                self._mutex_give()
        self._thread_lock.release()

    def _mutex_take(self) -> None:
        if isinstance(cache, FileBasedCache):
            # The file cache's add() is a check then a write, not atomic between
            # processes: an advisory lock on a file beside its entries is.
            folder = Path(cache._dir)  # type: ignore[attr-defined]  # private; not in django-stubs
            self._file = open(folder / f"{self.key.replace(':', '-')}.lock", "a+b")  # noqa: SIM115 - held until release
            fcntl.flock(self._file, fcntl.LOCK_EX)
            return
        deadline = time.monotonic() + MUTEX_SECONDS
        while not cache.add(self.mutex_key, 1, timeout=MUTEX_SECONDS):
            if time.monotonic() > deadline:
                raise MutexTimeout(self.mutex_key)
            time.sleep(MUTEX_POLL_SECONDS)  # another process holds the table for a moment

    def _mutex_give(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
            return
        cache.delete(self.mutex_key)


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
