"""The thin Dagster layer: assets, resources, jobs and schedules built from the specs.

Asset bodies are a few lines that call the library; everything they compute lives in the
Dagster-free modules beside this package.
"""
