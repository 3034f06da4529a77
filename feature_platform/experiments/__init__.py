"""Experiments: feature windows written to Iceberg branches, compared, promoted or discarded.

The writes and reads live in the store (``experiment=`` on `FeatureStore.write_window`, `read`,
`get_historical_features`, `apply`); this package works on whole experiments across groups.
"""
