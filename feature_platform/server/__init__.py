"""The HTTP feature server: Feast's feature-server protocol on the store, without Dagster."""
