"""Former home of the Snowflake DDL, now split into `naming`, `group_ddl`, `setup_ddl` and
`metadata_paths`.

Kept only for the two names the command line still imports from here while the CLI is being
restructured elsewhere; delete this module once the CLI imports them from their new homes.
"""

from feature_platform.snowflake.naming import table_fqn
from feature_platform.snowflake.setup_ddl import setup_statements

__all__ = ["setup_statements", "table_fqn"]
