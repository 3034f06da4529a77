"""`read(..., keep_expired=True)`: values past the ttl come back with their event time, so a
feature server can tell an expired value (Feast's OUTSIDE_MAX_AGE) from a missing one."""

from __future__ import annotations

import datetime as dt

from feature_platform.online_store import OnlineStore
from feature_platform_tests.online_store.builders import T0, keys_frame, profile_group, write_frame


def test_expired_values_are_kept_on_request_and_only_then(online_store: OnlineStore) -> None:
    group = profile_group(ttl=dt.timedelta(hours=1))
    online_store.ensure_table(group)
    online_store.write(group, write_frame(group, [{"user_id": "old", "event_time": T0, "size": 7}]))
    request = keys_frame(group, ("old",), ("nobody",))
    later = T0 + dt.timedelta(days=3)
    kept = online_store.read(group, request, ["size"], now=later, keep_expired=True)
    assert kept.rows() == [("old", T0, 7), ("nobody", None, None)]
    dropped = online_store.read(group, request, ["size"], now=later)
    assert dropped.rows() == [("old", None, None), ("nobody", None, None)]
