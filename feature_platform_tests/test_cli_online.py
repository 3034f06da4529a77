"""`feature-platform online`: the latest values of entities, with keys typed from the shell."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from feature_platform import Entity, Feature, FeatureGroup, FeatureStore
from feature_platform.cli import main

SCORES = FeatureGroup(
    name="user_scores",
    entity=Entity("user", ["user_id"], key_dtypes={"user_id": "int64"}),
    features=[Feature("score", "float64"), Feature("tier", "string")],
    start="2026-11-01",
    online=True,
)


@pytest.fixture
def online_home(store: FeatureStore, monkeypatch: pytest.MonkeyPatch) -> Path:
    store.apply(SCORES)
    now = dt.datetime.now(dt.UTC)
    store.write(
        "user_scores",
        pl.DataFrame(
            {
                "user_id": [7, 8],
                "event_time": [now, now],
                "score": [0.5, 0.75],
                "tier": ["gold", "silver"],
            }
        ),
        to="online",
    )
    monkeypatch.setenv("FEATURE_PLATFORM_HOME", str(store.config.home))
    return store.config.home


def test_integer_keys_typed_on_the_command_line_read_their_values(
    online_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = "user_scores:score,user_scores:tier"
    assert main(["online", "--features", features, "--entity", "user_id=8"]) == 0
    assert (
        main(["online", "--features", features, "--entity", "user_id=7", "--entity", "user_id=9"])
        == 0
    )
    out = capsys.readouterr().out
    first, second = (json.loads(part) for part in out.replace("}\n{", "}\0{").split("\0"))
    assert first == {"user_id": [8], "score": [0.75], "tier": ["silver"]}
    assert second == {"user_id": [7, 9], "score": [0.5, None], "tier": ["gold", None]}


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        ("user_id", "expected KEY=VALUE pairs"),
        ("user_id=abc", "user_id is an integer key"),
        ("=7", "expected KEY=VALUE pairs"),
    ],
)
def test_malformed_entities_are_named(
    online_home: Path, capsys: pytest.CaptureFixture[str], entity: str, message: str
) -> None:
    assert main(["online", "--features", "user_scores:score", "--entity", entity]) == 2
    assert message in capsys.readouterr().err
