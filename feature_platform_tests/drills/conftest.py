"""The drills' pool of spawned worker processes, shared by the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from feature_platform_tests.drills.pool import Pool


@pytest.fixture(scope="session")
def pool() -> Iterator[Pool]:
    pool = Pool()
    try:
        yield pool
    finally:
        pool.close()
