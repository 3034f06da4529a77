"""The one place a Snowflake connection is configured: typed settings and the resource they make.

Reading sources (`SnowflakeSource`), registering tables (the Dagster asset, the command line)
all reach the same account, so they share these settings and the variables they come from:

=======================  ==================================================
``SNOWFLAKE_ACCOUNT``    account identifier (required)
``SNOWFLAKE_USER``       login name (required)
``SNOWFLAKE_PASSWORD``   its password
``SNOWFLAKE_ROLE``       role the session uses
``SNOWFLAKE_WAREHOUSE``  warehouse that runs the queries
``SNOWFLAKE_DATABASE``   default database of the session
``SNOWFLAKE_SCHEMA``     default schema of the session
=======================  ==================================================

The connection itself is dagster-snowflake's `SnowflakeResource`, imported only when one is
built: importing the Snowflake client costs seconds, which processes that never connect (code
locations without Snowflake, the UI) should not pay.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from feature_platform.errors import ConfigurationError

if TYPE_CHECKING:
    from dagster_snowflake import SnowflakeResource

ENV_PREFIX: Final = "SNOWFLAKE_"
_REQUIRED: Final = ("account", "user")


def env_name(setting: str) -> str:
    """The environment variable of a connection setting (``account`` -> ``SNOWFLAKE_ACCOUNT``)."""
    return ENV_PREFIX + setting.upper()


@dataclass(frozen=True)
class SnowflakeConnectionSettings:
    """Who connects to which Snowflake account, and with which session defaults.

    Args:
        account: Account identifier, e.g. ``myorg-myaccount``.
        user: Login name.
        password: Its password; kept out of the repr.
        role: Role the session uses; the user's default when None.
        warehouse: Warehouse that runs the queries; the user's default when None.
        database: Default database of the session.
        schema: Default schema of the session.
    """

    account: str
    user: str
    password: str | None = field(default=None, repr=False)
    role: str | None = None
    warehouse: str | None = None
    database: str | None = None
    schema: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SnowflakeConnectionSettings:
        """Read the ``SNOWFLAKE_*`` variables (see the module docstring).

        Raises:
            ConfigurationError: ``SNOWFLAKE_ACCOUNT`` or ``SNOWFLAKE_USER`` is not set.
        """
        env = os.environ if environ is None else environ
        missing = [env_name(name) for name in _REQUIRED if not env.get(env_name(name))]
        if missing:
            raise ConfigurationError(
                f"Snowflake is not configured: set {', '.join(missing)} (and SNOWFLAKE_PASSWORD, "
                "SNOWFLAKE_ROLE, SNOWFLAKE_WAREHOUSE as needed)"
            )
        return cls(
            account=env[env_name("account")],
            user=env[env_name("user")],
            password=env.get(env_name("password")),
            role=env.get(env_name("role")),
            warehouse=env.get(env_name("warehouse")),
            database=env.get(env_name("database")),
            schema=env.get(env_name("schema")),
        )

    def resource(self) -> SnowflakeResource:
        """dagster-snowflake's resource for these settings; ``.get_connection()`` connects."""
        from dagster_snowflake import SnowflakeResource

        return SnowflakeResource(
            account=self.account,
            user=self.user,
            password=self.password,
            role=self.role,
            warehouse=self.warehouse,
            database=self.database,
            schema=self.schema,
        )


def snowflake_resource_from_env(environ: Mapping[str, str] | None = None) -> SnowflakeResource:
    """A `SnowflakeResource` from the ``SNOWFLAKE_*`` variables (see the module docstring).

    Raises:
        ConfigurationError: ``SNOWFLAKE_ACCOUNT`` or ``SNOWFLAKE_USER`` is not set.
    """
    return SnowflakeConnectionSettings.from_env(environ).resource()
