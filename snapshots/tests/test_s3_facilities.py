"""A hub whose facilities are S3 buckets, through django-storages and boto3
over HTTP to an S3-compatible server on loopback (moto's server mode): the
store's object-storage path writes, reads, verifies and collects blobs there."""

from __future__ import annotations

import hashlib
import io
import socket
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from conftest import all_databases
from hubs.storage import facility_storage
from snapshots import expiry, selectors, services
from snapshots.blobs import blob_bytes_present, blob_open
from snapshots.models import Blob, NodeVersion
from snapshots.services import RestoreRequest

pytestmark = all_databases
KEYS = {"access_key": "hubport-test", "secret_key": "hubport-test-secret", "region_name": "eu-west-2"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_hub(s3_endpoint, settings) -> dict[str, str]:
    """Hub de's two facilities as two buckets."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
        region_name=KEYS["region_name"],
    )
    buckets = {}
    for role in ("primary", "alternate"):
        bucket = f"hubport-de-{role}-{id(settings) % 100000}"
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": KEYS["region_name"]})
        buckets[role] = bucket
        query = "&".join(f"{k}={v}" for k, v in {"endpoint_url": s3_endpoint, **KEYS}.items())
        settings.HUB_STORAGE_URLS = {**settings.HUB_STORAGE_URLS, f"hub_de_{role}": f"s3://{bucket}/blobs?{query}"}
    facility_storage.cache_clear()
    buckets["client"] = client  # type: ignore[assignment]
    return buckets


def keys_in(s3_hub, role: str) -> list[str]:
    listing = s3_hub["client"].list_objects_v2(Bucket=s3_hub[role])
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_blobs_go_to_both_buckets_and_come_back(make_tenant, s3_hub):
    made = make_tenant(hub="de")
    content = b"quarterly figures " * 1000
    version = services.file_write(
        tenant=made.tenant, path="/q.txt", stream=io.BytesIO(content), content_length=len(content), acting_user=None
    )
    sha = hashlib.sha256(content).hexdigest()
    for role in ("primary", "alternate"):
        keys = keys_in(s3_hub, role)
        assert len(keys) == 1 and sha in keys[0] and keys[0].startswith(f"blobs/t{made.tenant.pk}/")
        assert "q.txt" not in keys[0]
    assert version.blob.needs_replication is False
    with blob_open(tenant=made.tenant, blob=version.blob) as handle:
        assert handle.read() == content
    assert blob_bytes_present(tenant=made.tenant, blob=version.blob)


def test_restore_and_collection_work_on_buckets(make_tenant, s3_hub, settings):
    made = make_tenant(hub="de")
    services.file_write(tenant=made.tenant, path="/a.txt", stream=io.BytesIO(b"a"), content_length=1, acting_user=None)
    snapshot = services.snapshot_create(tenant=made.tenant)
    services.node_delete(tenant=made.tenant, path="/a.txt", acting_user=None)
    job = services.restore_start(
        tenant=made.tenant, acting_user=made.user, request=RestoreRequest(snapshot_id=snapshot.pk)
    )
    assert services.restore_run(tenant=made.tenant, job_id=job.pk).restored == 1
    assert "/a.txt" in selectors.tree_as_of(tenant=made.tenant)

    services.node_purge(tenant=made.tenant, path="/a.txt", acting_user=None, reason="test")
    assert keys_in(s3_hub, "primary") == [] and keys_in(s3_hub, "alternate") == []

    settings.BLOB_GRACE_HOURS = 0
    services.file_write(tenant=made.tenant, path="/b.txt", stream=io.BytesIO(b"b"), content_length=1, acting_user=None)
    NodeVersion.objects.for_tenant(made.tenant).filter(blob__isnull=False).delete()  # its history expired
    assert expiry.blobs_collect(hub_code="de")[0] == 1
    assert Blob.objects.for_tenant(made.tenant).count() == 0
    assert keys_in(s3_hub, "primary") == [] and keys_in(s3_hub, "alternate") == []


def test_scrub_replaces_a_corrupt_object_of_the_same_size_and_restores_a_deleted_one(make_tenant, s3_hub):
    from snapshots.scrub import scrub_pass

    made = make_tenant(hub="de")
    content = b"board minutes " * 100
    version = services.file_write(
        tenant=made.tenant, path="/m.txt", stream=io.BytesIO(content), content_length=len(content), acting_user=None
    )
    [key] = keys_in(s3_hub, "primary")
    client = s3_hub["client"]
    client.put_object(Bucket=s3_hub["primary"], Key=key, Body=b"x" * len(content))  # same size, wrong bytes
    client.delete_object(Bucket=s3_hub["alternate"], Key=key)
    assert keys_in(s3_hub, "alternate") == []
    # Both bad: lost, nothing spread.
    assert scrub_pass(hub_code="de", tenant_id=made.tenant.pk).lost == 1
    client.put_object(Bucket=s3_hub["alternate"], Key=key, Body=content)  # a good copy comes back
    result = scrub_pass(hub_code="de", tenant_id=made.tenant.pk)
    assert (result.lost, result.repaired) == (0, 1)
    assert keys_in(s3_hub, "primary") == [key], "replaced under its own key, not saved under another name"
    assert client.get_object(Bucket=s3_hub["primary"], Key=key)["Body"].read() == content
    assert hashlib.sha256(content).hexdigest() == version.blob.sha256
