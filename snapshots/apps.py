from django.apps import AppConfig


class SnapshotsConfig(AppConfig):
    name = "snapshots"
    verbose_name = "Versioned store"

    def ready(self) -> None:
        # The store answers what hubs announce (docs/architecture.md: a lower
        # layer calls up through a registration, never an import).
        from hubs.monitoring.probes import probe_register
        from hubs.signals import facility_became_available
        from hubs.storage_backlog import storage_backlog_register
        from snapshots.monitoring import store_probes
        from snapshots.replication import replication_backlog
        from snapshots.tasks import replication_repair_on_facility_return

        facility_became_available.connect(
            replication_repair_on_facility_return, dispatch_uid="snapshots.replication_repair"
        )
        probe_register(store_probes, key="snapshots")

        def backlog(hub_code: str) -> tuple[int, int]:
            waiting = replication_backlog(hub_code=hub_code)
            return waiting.blobs, waiting.bytes

        storage_backlog_register(backlog)
