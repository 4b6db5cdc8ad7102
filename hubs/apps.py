from django.apps import AppConfig


class HubsConfig(AppConfig):
    name = "hubs"
    verbose_name = "Hubs and facilities"

    def ready(self) -> None:
        from hubs.monitoring.hub_probes import hub_probes
        from hubs.monitoring.probes import probe_register

        probe_register(hub_probes, key="hubs")
