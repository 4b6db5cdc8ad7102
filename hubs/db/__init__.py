"""A hub's database and its standby: which side serves the hub now
(``sides``), the engine that connects each process to that side
(``failover``), and the replication state read on either side
(``replication``). docs/failover.md is the operator's page."""
