"""Monitoring, first part: probes, their registry and how one is run.

``probes`` holds the registry and the bounded runner; ``hub_probes`` the
probes hubs itself knows how to make (databases, facilities, broker,
scheduler, notices); ``heartbeat`` the scheduler's dead man's switch. Apps
above hubs add their own probes with ``probe_register`` in their
``AppConfig.ready`` (snapshots: hub database write, replication, restores).
"""
