"""Iceberg table maintenance that pyiceberg 0.12 lacks: compaction, snapshot expiry with file
deletion, and orphan-file removal. Plain functions over a pyiceberg `Table`; no Dagster here."""
