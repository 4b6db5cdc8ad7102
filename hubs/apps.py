from django.apps import AppConfig


class HubsConfig(AppConfig):
    name = "hubs"
    verbose_name = "Hubs and facilities"

    def ready(self) -> None:
        from hubs.monitoring.hub_probes import hub_probes
        from hubs.monitoring.probes import probe_register

        probe_register(hub_probes, key="hubs")

        from hubs.monitoring.security_probes import security_probes

        probe_register(security_probes, key="hubs.security")

        # The alert services queue their deliveries after commit through the
        # task module's sender; registered here, so they never import it.
        from hubs.services.alerts import alert_sender_register
        from hubs.tasks import alert_deliveries_send

        alert_sender_register(alert_deliveries_send)
