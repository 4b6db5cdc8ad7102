"""Helpers the tests share that are not fixtures of one package: starting the
real servers (``servers``)."""
