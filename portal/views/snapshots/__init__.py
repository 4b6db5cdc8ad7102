"""Pages of the tenant's history, one module per feature: snapshots (listing:
list, schedule, take one; browse: one read only, download from it), restoring
from a snapshot or a moment (restore: options, dry run preview, confirm),
restore jobs (jobs: live progress, cancel), the versions of one file
(versions), and the storage page that shows what history holds (storage).
``source`` holds what they share: the hub's time and where a page reads from.

Every view validates its input with a form, calls the store's services and
selectors with ``request.tenant``, and renders. Times are shown, and typed
moments read, in the hub's own time zone, and always say which zone that is.
Another tenant's snapshot, job or version answers 404 exactly like an id
never used; a refused restore is a message, never a 500.
"""
