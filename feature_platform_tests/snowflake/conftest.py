"""Fixtures of the Snowflake tests."""

from __future__ import annotations

import pytest

from feature_platform.snowflake.settings import SnowflakeSettings
from feature_platform_tests.snowflake.builders import make_settings


@pytest.fixture
def settings() -> SnowflakeSettings:
    """Object-store settings with the admin-only role ARN, as most tests need."""
    return make_settings()
