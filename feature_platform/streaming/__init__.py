"""The streaming path: pushed rows to the online store at once, to the offline table in batches."""
