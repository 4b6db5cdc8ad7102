"""WebDAV at /dav/ (RFC 4918 class 1 and 2), through WsgiDAV's provider interface.

``app`` is the WSGI edge (credentials, maintenance, Django's request signals),
``auth`` checks app passwords and bearer tokens, ``resources`` maps the live
tree onto the store's services and selectors, ``history`` serves every
snapshot as a read-only folder under ``.snapshots``, ``state`` keeps locks and
dead properties where every gunicorn worker sees them.
"""
