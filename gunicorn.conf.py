"""gunicorn's settings, the same for `make run` (bin/run-embedded) and for
production: `gunicorn -c gunicorn.conf.py portal.wsgi:application`.

Threads (gthread) because uploads and downloads stream for as long as the
client takes: a worker process holds many of them at once, each a thread
waiting on its socket, where a sync worker would hold one. gunicorn itself
refuses the request-smuggling shapes (two Content-Length headers, Content-Length
together with chunked Transfer-Encoding) with 400 before Django sees them, and
never reads a body the application did not ask for into memory.

Environment: HUBPORT_BIND (default 127.0.0.1:$HUBPORT_PORT, port 8000),
HUBPORT_WEB_WORKERS (processes, default 2), HUBPORT_WEB_THREADS (threads per
process, default 8), HUBPORT_TRUSTED_PROXIES (comma-separated addresses of
the TLS proxies in front, whose X-Forwarded-Proto is believed; default
loopback only).
"""

from __future__ import annotations

import os

import gunicorn.util

bind = [os.environ.get("HUBPORT_BIND") or f"127.0.0.1:{os.environ.get('HUBPORT_PORT', '8000')}"]
workers = int(os.environ.get("HUBPORT_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("HUBPORT_WEB_THREADS", "8"))
# A worker silent this long (a thread pool wedged) is restarted; a slow upload
# is not silence: the worker's other threads and its heartbeat keep going.
timeout = 60
graceful_timeout = 20
keepalive = 5
# Request line and headers bounded as gunicorn's defaults, said out loud.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
forwarded_allow_ips = os.environ.get("HUBPORT_TRUSTED_PROXIES", "127.0.0.1,::1")
# Applications are imported in each worker after the fork: a database
# connection is never shared between processes.
preload_app = False

# One access line per request, with the time taken; the path passes the same
# filter as every other log line, which withholds customers' file names.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"withhold_customer_names": {"()": "portal.log_filters.WithholdCustomerNames"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["withhold_customer_names"],
            "stream": "ext://sys.stdout",
        }
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}


def post_worker_init(worker):  # type: ignore[no-untyped-def]  # gunicorn's signature
    """Each worker, once the application is loaded and before it serves: the
    temporary files of uploads and copies that a killed server left behind are
    removed from the spool and every folder facility (snapshots.blobs
    ``temporaries_sweep``). Uploads in flight in the other workers keep theirs:
    a temporary in use is locked by its process. A facility that cannot be
    swept is logged and left to the hourly sweep; the worker serves anyway."""
    import logging

    from django.conf import settings

    from snapshots.blobs import temporaries_sweep

    log = logging.getLogger("gunicorn.error")
    for code in settings.HUB_CODES:
        try:
            removed = temporaries_sweep(hub_code=code)
        except Exception as exc:  # noqa: BLE001  # a broken facility must not keep the server down
            log.warning("Sweeping the temporaries of hub %s failed: %s", code, type(exc).__name__)
            continue
        if removed:
            log.info("Removed %s temporary files left behind in hub %s", removed, code)


def _write_problem(sock, status, reason, message):  # type: ignore[no-untyped-def]  # gunicorn's signature
    """gunicorn's own refusals (400, 414, 431) as application/problem+json, as
    the API documents them, instead of its HTML page (portal.server_errors);
    its message is left out, for it can quote the request line. Imported when
    first needed, in a worker, where the application is loaded."""
    try:
        from portal.server_errors import server_problem_bytes

        response = server_problem_bytes(status, reason)
    except Exception:  # noqa: BLE001  # never let the error path fail: gunicorn's own page then
        _write_html(sock, status, reason, message)
        return
    gunicorn.util.write_nonblock(sock, response)


_write_html = gunicorn.util.write_error
gunicorn.util.write_error = _write_problem
