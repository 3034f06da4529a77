"""The DynamoDB online store: one on-demand table per feature group.

`store` holds the reads and conditional writes, `tables` creates and verifies the tables,
`items` converts rows to items and back, `settings` validates how to reach DynamoDB, and
`errors` turns botocore's failures into domain errors.
"""

from feature_platform.online_store.dynamodb.settings import DynamoDBSettings
from feature_platform.online_store.dynamodb.store import DynamoDBOnlineStore

__all__ = ["DynamoDBOnlineStore", "DynamoDBSettings"]
