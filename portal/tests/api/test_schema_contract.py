"""The schema is the contract (issue 10): Schemathesis runs every operation of
/api/schema/ against the real server (gunicorn with gunicorn.conf.py) with a
bearer token, through its examples, coverage, fuzzing and stateful phases,
with every check on: no 5xx, and no answer whose status, content type, headers
or body the schema does not describe, no schema-valid request refused for a
constraint the schema leaves out, no schema-violating one accepted.

The server runs on the test databases (SQLite files, or PostgreSQL where
DATABASE_URL says so), seeded here through the services with files, folders,
an overwritten file, a deleted one, snapshots and a restore job, so that the
operations reach real data. Cases are deterministic and bounded
(schemathesis.toml, MAX_EXAMPLES): the same run on every machine."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from portal.tokens import api_token_create
from snapshots.models import Snapshot
from snapshots.services import RestoreRequest, file_write, folder_create, node_delete, restore_start, snapshot_create

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = REPO / ".venv" / "bin"
CONFIG = Path(__file__).with_name("schemathesis.toml")
START_DEADLINE_S = 45
# Cases per operation and phase: enough to reach every documented answer of
# every operation, small enough for the whole run to take about two minutes.
MAX_EXAMPLES = 12
SEED = 20261201
PHASES = "examples,coverage,fuzzing,stateful"

pytestmark = [
    pytest.mark.timeout(420),
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.skipif(
        not (VENV_BIN / "gunicorn").exists() or not (VENV_BIN / "schemathesis").exists(),
        reason="runs gunicorn and schemathesis from .venv (make test installs them)",
    ),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(alias: str) -> str:
    """The URL of the test database ``alias`` this test runs on, for the server's settings."""
    database = connections[alias].settings_dict
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{database['NAME']}"
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database.get("PASSWORD") else "")
    return f"postgres://{credentials}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"


def _server_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "HUB_", "DATABASE_", "CELERY_", "CACHE_", "EMAIL_", "HUBPORT_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.test",
        HUBPORT_DATA_DIR=str(data_dir),
        HUBPORT_BIND=f"127.0.0.1:{port}",
        DATABASE_URL=_database_url("default"),
        PYTHONUNBUFFERED="1",
        # Schemathesis sends thousands of requests, wrong tokens among them
        # (ignored_auth): the limits would answer 429 to the rest of the run.
        HUBPORT_API_RATE_USER="1000000/min",
        HUBPORT_API_RATE_ANON="1000000/min",
        HUBPORT_TOKEN_FAILURES_PER_ADDRESS="1000000",
        HUBPORT_WEB_WORKERS="2",
    )
    for code in settings.HUB_CODES:
        env[f"HUB_{code.upper()}_DATABASE_URL"] = _database_url(f"hub_{code}")
        for role in settings.FACILITY_ROLES:
            env[f"HUB_{code.upper()}_{role.upper()}_STORAGE_URL"] = settings.HUB_STORAGE_URLS[f"hub_{code}_{role}"]
    # No CELERY_BROKER_URL or CACHE_URL: the in-memory broker keeps the queued
    # restore jobs away from another test's worker, and each server process
    # counts its own throttles.
    return env


@dataclass
class Seeded:
    tenant: Any
    token: str
    snapshot_ids: list[int]
    version_ids: list[int]
    restore_job_ids: list[int]
    paths: list[str]
    moments: list[str]

    def config_text(self) -> str:
        """schemathesis.toml, plus the seeded ids and paths as dictionaries that
        generation draws from half the time: the operations on one snapshot,
        version or job, and the restores, moves and downloads, then reach real
        ones, not only 404s."""
        dictionaries = {
            "snapshot_ids": self.snapshot_ids,
            "version_ids": self.version_ids,
            "restore_job_ids": self.restore_job_ids,
            "paths": self.paths,
            "moments": self.moments,
        }
        bindings = {
            "path.snapshot_id": "snapshot_ids",
            "path.version_id": "version_ids",
            "path.job_id": "restore_job_ids",
            "query.path": "paths",
            "body.snapshot": "snapshot_ids",
            "body.id": "version_ids",
            "body.from": "paths",
            "body.paths[*]": "paths",
            "body.at": "moments",
        }
        lines = [CONFIG.read_text(), ""]
        for name, values in dictionaries.items():
            lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
        lines.append("[parameters]")
        lines += [f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}' for key, name in bindings.items()]
        return "\n".join(lines) + "\n"


def _seed(make_tenant: Any) -> Seeded:
    """A workspace with a history, and a token for its owner."""
    signup = make_tenant(hub="uk", name="Contract Ltd")
    tenant, owner = signup.tenant, signup.user

    def write(path: str, content: bytes) -> int:
        return file_write(
            tenant=tenant, path=path, stream=io.BytesIO(content), content_length=len(content), acting_user=owner
        ).pk

    folder_create(tenant=tenant, path="/Reports", acting_user=owner)
    versions = [write("/Reports/q1.txt", b"first quarter"), write("/Reports/q2.txt", b"second quarter")]
    versions.append(write("/notes.md", b"# notes"))
    first = snapshot_create(tenant=tenant, acting_user=owner, label="before changes")
    versions.append(write("/Reports/q1.txt", b"first quarter, corrected"))
    node_delete(tenant=tenant, path="/Reports/q2.txt", acting_user=owner)
    folder_create(tenant=tenant, path="/Archive/2025", acting_user=owner)
    second = snapshot_create(tenant=tenant, acting_user=owner, label="after changes")
    job = restore_start(
        tenant=tenant,
        request=RestoreRequest(snapshot_id=first.pk, paths=("/Reports/q2.txt",), target=None, conflict="rename"),
        acting_user=owner,
    )
    return Seeded(
        tenant=tenant,
        token=api_token_create(user=owner, tenant=tenant, name="contract")[1],
        snapshot_ids=[first.pk, second.pk],
        version_ids=versions,
        restore_job_ids=[job.pk],
        paths=["/", "/Reports", "/Reports/q1.txt", "/Reports/q2.txt", "/notes.md", "/Archive/2025"],
        # Within the retention, and the ends of the calendar in the zones furthest from UTC.
        moments=[
            first.taken_at.isoformat(),
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-23:59",
        ],
    )


@pytest.fixture
def contract_server(make_tenant, tmp_path) -> Iterator[tuple[str, Seeded, Path]]:
    seeded = _seed(make_tenant)
    port = _free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "portal.wsgi:application"],
            cwd=REPO,
            env=_server_env(tmp_path / "server-data", port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/api/schema/?format=json", timeout=10) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.25)  # polling a process that is starting, not synchronising threads
        yield base_url, seeded, log_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _body_text(content: Any) -> str:
    if isinstance(content, dict) and "$base64" in content:
        return base64.b64decode(content["$base64"]).decode("utf-8", "replace")
    return str(content)


def failures_summary(events: list[dict[str, Any]]) -> list[str]:
    """One line per distinct failure (operation, check, status): what a reader
    needs to find the cause, without the megabytes of the full output."""
    lines: dict[tuple[Any, ...], str] = {}
    for event in events:
        scenario = event.get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario["recorder"]
        for case_id, checks in recorder.get("checks", {}).items():
            interaction = recorder.get("interactions", {}).get(case_id) or {}
            request, response = interaction.get("request") or {}, interaction.get("response") or {}
            for check in checks:
                if check["status"] != "failure":
                    continue
                key = (recorder["label"], check["name"], response.get("status_code"))
                if key in lines:
                    continue
                info = check.get("failure_info") or {}
                failure = info.get("failure", info)
                lines[key] = (
                    f"{recorder['label']} [{scenario['phase']}] {check['name']}: {response.get('status_code')} "
                    f"{(response.get('headers') or {}).get('content-type')} "
                    f"{str(failure.get('message', '')).splitlines()[:3]} "
                    f"request {request.get('method')} {str(request.get('uri'))[:200]} "
                    f"body {_body_text(request.get('body'))[:200]!r} "
                    f"answer {_body_text(response.get('content'))[:240]!r}"
                )
    return list(lines.values())


def test_every_operation_keeps_the_schema(contract_server, tmp_path):
    base_url, seeded, log_path = contract_server
    report = tmp_path / "events.ndjson"
    config = tmp_path / "schemathesis.toml"
    config.write_text(seeded.config_text())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [
        str(VENV_BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/api/schema/?format=json",
        "--header",
        f"Authorization: Bearer {seeded.token}",
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    started = time.monotonic()
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=360, check=False)
    elapsed = time.monotonic() - started
    output = run.stdout.decode(errors="replace")
    print(output[-4000:])  # schemathesis' summary: shown with -s, or when the test fails
    assert report.exists(), f"schemathesis exited {run.returncode}:\n{output[-3000:]}\n{run.stderr.decode()[-3000:]}"
    events = _events(report)
    failures = failures_summary(events)
    server_errors = [line for line in log_path.read_text(errors="replace").splitlines() if "Traceback" in line]
    assert run.returncode == 0 and not failures, (
        f"schemathesis exited {run.returncode} after {elapsed:.0f} s with {len(failures)} distinct failures:\n"
        + "\n".join(failures)
        + f"\n\nsummary:\n{output[-3000:]}\nstderr:\n{run.stderr.decode(errors='replace')[-2000:]}"
        + f"\nserver tracebacks: {len(server_errors)}"
    )
    loaded = next(event["LoadingFinished"] for event in events if "LoadingFinished" in event)
    operations = loaded["statistic"]["operations"]
    assert operations["selected"] == operations["total"] >= 26, operations
    phases = {
        event["PhaseFinished"]["phase"]["name"]: event["PhaseFinished"]["status"]
        for event in events
        if "PhaseFinished" in event
    }
    # Coverage, fuzzing and stateful ran and passed ("stateful" proves the
    # links between operations were followed); the schema has no examples to run.
    assert phases["examples"] in ("success", "skip"), phases
    assert [phases[phase] for phase in ("coverage", "fuzzing", "stateful")] == ["success"] * 3, phases
    # The server wrote to the databases this test reads: the run took snapshots of its own.
    assert Snapshot.objects.for_tenant(seeded.tenant).count() > len(seeded.snapshot_ids)
