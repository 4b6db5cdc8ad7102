"""A whole Hubport of its own for the fault suite: databases, storage folders,
a broker, the real web server (gunicorn with gunicorn.conf.py) and a real
Celery worker process, each started, stopped and killed for real.

Two backends, chosen by the environment the suite runs in:

- the embedded default (no ``DATABASE_URL``): SQLite files, the filesystem
  broker and the file cache, all in a data folder of the suite's own;
- PostgreSQL and Redis (``DATABASE_URL`` names PostgreSQL): a control and a
  hub database per hub named after the ones the environment gives, with
  ``_flt`` appended (dropped and made again), and ``CELERY_BROKER_URL`` /
  ``CACHE_URL`` as given (the caller flushes that Redis database).

The suite never connects to these databases itself: every look inside the
store is a subprocess with the stack's environment (``Stack.python``), as an
operator's shell would be.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from portal.testing.servers import REPO, VENV_BIN, free_port, gunicorn_start, process_kill, process_start, process_stop

HUB_CODES = ("uk", "de", "us", "ae", "hk", "au", "nz")
START_DEADLINE_S = 60


def wait_until(condition: Callable[[], Any], *, seconds: float, what: str, every: float = 0.2) -> Any:
    """Poll ``condition`` until it returns something true, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(every)  # polling another process for a condition, with a deadline


def _postgres_names(url: str) -> tuple[str, str]:
    """(server URL on the maintenance database, database name) of a PostgreSQL URL."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


@dataclass
class Stack:
    """One Hubport installation, its processes and the tenants made in it."""

    base: Path
    env: dict[str, str]
    backend: str
    port: int = field(default_factory=free_port)
    web: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    web_logs: list[Path] = field(default_factory=list)
    queues: str = ""

    @property
    def data_dir(self) -> Path:
        return Path(self.env["HUBPORT_DATA_DIR"])

    def facility(self, hub: str, role: str) -> Path:
        return self.data_dir / "storage" / hub / role

    # --- commands in the stack's environment ----------------------------------

    def manage(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"manage.py {args[0]} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def python(self, code: str, *, timeout: float = 120, **values: Any) -> Any:
        """Run ``code`` in a Django process of the stack; ``values`` arrive as the
        dict ``args``, and what the code assigns to ``result`` comes back (JSON)."""
        script = "import json, sys, django\ndjango.setup()\nargs = json.loads(sys.stdin.read())\nresult = None\n"
        script += textwrap.dedent(code)
        script += "\nprint('@@RESULT@@' + json.dumps(result, default=str))\n"
        completed = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(values),
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if completed.returncode != 0:
            raise AssertionError(f"stack python failed:\n{completed.stdout}\n{completed.stderr}")
        marker = completed.stdout.rsplit("@@RESULT@@", 1)[1]
        return json.loads(marker)

    def popen_python(self, code: str, log: Path, **values: Any) -> subprocess.Popen[bytes]:
        script = "import json, sys, django\ndjango.setup()\nargs = json.loads(sys.argv[1])\n" + textwrap.dedent(code)
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-c", script, json.dumps(values)],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    # --- set-up -------------------------------------------------------------------

    def install(self) -> None:
        if self.backend == "postgresql":
            self._postgres_databases_recreate()
        self.manage("migrate_all", "--verbosity", "0", timeout=300)
        self.queues = self.python("from portal.celery import all_queue_names\nresult = ','.join(all_queue_names())")

    def _postgres_databases_recreate(self) -> None:
        import psycopg

        server, _ = _postgres_names(self.env["DATABASE_URL"])
        names = [_postgres_names(self.env[name])[1] for name in self._database_variables()]
        with psycopg.connect(server, autocommit=True) as connection:
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                connection.execute(f'CREATE DATABASE "{name}"')

    def uninstall(self) -> None:
        if self.backend != "postgresql":
            return
        import psycopg

        server, _ = _postgres_names(self.env["DATABASE_URL"])
        with psycopg.connect(server, autocommit=True) as connection:
            for name in self._database_variables():
                connection.execute(f'DROP DATABASE IF EXISTS "{_postgres_names(self.env[name])[1]}" WITH (FORCE)')

    @staticmethod
    def _database_variables() -> list[str]:
        return ["DATABASE_URL", *(f"HUB_{code.upper()}_DATABASE_URL" for code in HUB_CODES)]

    def tenant(self, name: str, *, hub: str = "uk") -> Tenant:
        return self.tenants([name], hub=hub)[0]

    def tenants(self, names: list[str], *, hub: str = "uk") -> list[Tenant]:
        """Tenants made by the services ``create_tenant`` and ``create_api_token``
        call, in one process; each with its owner's API token."""
        made = self.python(
            """
            from portal.services.tenants import tenant_create
            from portal.tokens import api_token_create
            result = []
            for name in args["names"]:
                signup = tenant_create(
                    name=f"Faults {name}", hub_code=args["hub"], owner_email=f"owner-{name}@faults.test",
                    owner_password="x" * 16,
                )
                _, raw = api_token_create(user=signup.user, tenant=signup.tenant, name="faults", expires_at=None)
                result.append([signup.tenant.pk, raw])
            """,
            names=names,
            hub=hub,
        )
        return [Tenant(stack=self, id=tenant_id, hub=hub, token=token) for tenant_id, token in made]

    # --- processes ----------------------------------------------------------------

    def web_start(self) -> None:
        """gunicorn as ``make run`` and production start it, on the stack's port."""
        assert self.web is None or self.web.poll() is not None, "the web server is already running"
        log = self.base / f"web-{len(self.web_logs)}.log"
        self.web_logs.append(log)
        env = {**self.env, "HUBPORT_BIND": f"127.0.0.1:{self.port}"}
        self.web = gunicorn_start(env=env, log=log)

        def answers() -> bool:
            assert self.web is not None and self.web.poll() is None, log.read_text(errors="replace")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/api/v1/status/")
                return connection.getresponse().status < 500
            except OSError:
                return False

        wait_until(answers, seconds=START_DEADLINE_S, what="the web server answering")

    def web_kill(self) -> None:
        """SIGKILL to the master and its workers at once, as a power cut would."""
        assert self.web is not None
        process_kill(self.web)

    def web_stop(self) -> None:
        if self.web is not None:
            process_stop(self.web)

    def worker_start(self) -> None:
        """A Celery worker on every queue, as bin/run-embedded starts it."""
        assert self.worker is None or self.worker.poll() is not None
        log = self.base / "worker.log"
        command = [str(VENV_BIN / "celery"), "-A", "portal", "worker", "-Q", self.queues, "--concurrency", "2"]
        command += ["--loglevel", "INFO", "--without-mingle", "--without-gossip"]
        self.worker = process_start(command, env=self.env, log=log)
        wait_until(lambda: " ready." in log.read_text(errors="replace"), seconds=START_DEADLINE_S, what="worker ready")

    def worker_stop(self) -> None:
        if self.worker is not None:
            process_stop(self.worker)

    def server_errors(self) -> list[str]:
        """Access-log lines of 5xx answers and tracebacks, in every web server log."""
        lines = []
        for log in self.web_logs:
            for line in log.read_text(errors="replace").splitlines():
                if '" 5' in line or "Traceback" in line or " ERROR " in line:
                    lines.append(line)
        return lines


@dataclass
class Tenant:
    """A tenant of the stack and the REST API as its token holder sees it."""

    stack: Stack
    id: int
    hub: str
    token: str

    def request(
        self, method: str, url: str, body: bytes | None = None, *, timeout: float = 60, **headers: str
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=timeout)
        try:
            connection.request(method, url, body=body, headers={"Authorization": f"Bearer {self.token}", **headers})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def json(self, method: str, url: str, payload: object) -> tuple[int, Any]:
        status, body = self.request(method, url, json.dumps(payload).encode(), **{"Content-Type": "application/json"})
        return status, json.loads(body) if body else None

    def upload(self, path: str, content: bytes) -> tuple[int, Any]:
        status, body = self.request(
            "PUT",
            f"/api/v1/files/content?{urlencode({'path': path})}",
            content,
            **{"Content-Type": "application/octet-stream"},
        )
        return status, json.loads(body) if body else None

    def download(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", f"/api/v1/files/content?{urlencode({'path': path})}")

    def delete(self, path: str) -> int:
        return self.request("DELETE", f"/api/v1/files/?{urlencode({'path': path})}")[0]

    def move(self, source: str, target: str) -> tuple[int, Any]:
        return self.json("POST", "/api/v1/files/move", {"from": source, "to": target})

    def trash_restore(self, path: str) -> tuple[int, Any]:
        return self.json("POST", "/api/v1/trash/restore", {"path": path})

    def listing(self, folder: str = "/") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        query: dict[str, str] = {"path": folder}
        while True:
            status, body = self.request("GET", f"/api/v1/files/?{urlencode(query)}")
            assert status == 200, body[:300]
            page = json.loads(body)
            items += page["items"]
            if not page.get("next_cursor"):
                return items
            query["cursor"] = page["next_cursor"]
