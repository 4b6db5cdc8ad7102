"""The public status endpoint: every hub's status, uptime and components, the incidents and the maintenance."""
