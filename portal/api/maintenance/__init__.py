"""The maintenance endpoint: the maintenance windows of the caller's hub."""
