"""The history endpoints: snapshots, the schedule, file versions and restores."""
