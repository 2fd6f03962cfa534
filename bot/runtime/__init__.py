"""The process around the app: signals, the lease on the database, pruning, the drain."""
