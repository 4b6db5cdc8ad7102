"""The search endpoint: names (and paths) in the live tree or in Recently deleted."""
