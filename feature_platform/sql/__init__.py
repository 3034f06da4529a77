"""Local SQL over the offline store: every feature group, its `_latest` view and training sets.

Analysts ask "what features does this user have?" in SQL. `engine` registers the store's Iceberg
tables as lazy polars scans (filters and columns reach the parquet files); `guard` makes sure a
query reads those tables and nothing else: polars' SQL would otherwise read any file or URL
through its table functions.
"""

from feature_platform.sql.engine import LATEST_SUFFIX, latest_live_rows, run_sql, sql_context
from feature_platform.sql.guard import SqlError

__all__ = ["LATEST_SUFFIX", "SqlError", "latest_live_rows", "run_sql", "sql_context"]
