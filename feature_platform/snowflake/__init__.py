"""Registering the offline Iceberg tables in Snowflake: validated settings and pure SQL.

The Dagster asset that runs these statements lives in `orchestration`; this package only
decides what SQL to run, so every statement can be tested as an exact string.
"""

from feature_platform.snowflake.column_types import (
    UnsupportedColumn,
    snowflake_type,
    unsupported_columns,
)
from feature_platform.snowflake.group_ddl import (
    grant_statements,
    latest_view_statement,
    register_statements,
)
from feature_platform.snowflake.metadata_paths import relative_metadata_path
from feature_platform.snowflake.naming import table_fqn, view_fqn
from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform.snowflake.setup_ddl import setup_statements

__all__ = [
    "SnowflakeSettings",
    "UnsupportedColumn",
    "grant_statements",
    "latest_view_statement",
    "register_statements",
    "relative_metadata_path",
    "setup_statements",
    "snowflake_type",
    "table_fqn",
    "unsupported_columns",
    "view_fqn",
]
