"""The Iceberg offline store: schemas from specs, validated frames, atomic window writes, scans.

Nothing here imports Dagster: the orchestration layer calls these functions, and so can any
script or notebook.
"""
