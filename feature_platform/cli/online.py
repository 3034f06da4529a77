"""`feature-platform online`: the values an inference service would read, from the shell.

Typing keys on a command line makes every value text; each is converted to its key's type
(an int64 user id) before the read, so a shell user gets what a service passing typed keys gets.
"""

from __future__ import annotations

import argparse
import json

from feature_platform.errors import InvalidRequestError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    online = commands.add_parser(
        "online", help="read the latest feature values of entities from the online store"
    )
    online.add_argument(
        "--features", required=True, help="comma-separated '<group>:<feature>' references"
    )
    online.add_argument(
        "--entity",
        action="append",
        required=True,
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="one entity's join keys (repeat for more entities), e.g. user_id=u001",
    )
    online.set_defaults(handler=online_features)


def online_features(args: argparse.Namespace) -> int:
    import polars as pl

    from feature_platform.dtypes import polars_dtype
    from feature_platform.store import FeatureStore

    store = FeatureStore.from_env()
    references = [reference.strip() for reference in args.features.split(",") if reference]
    rows = [_entity(text) for text in args.entity]
    key_types: dict[str, pl.DataType] = {}
    for reference in references:
        group = store.get_feature_group(reference.split(":", 1)[0])
        for key in group.join_keys:
            key_types[key] = polars_dtype(group.entity.key_dtype(key))
    typed = [
        {key: _typed(key, value, key_types.get(key)) for key, value in row.items()} for row in rows
    ]
    values = store.get_online_features_dict(references, typed)
    print(json.dumps(values, indent=2, default=str))
    return 0


def _entity(text: str) -> dict[str, str]:
    """``user_id=u001,article_id=a7`` as a mapping; a malformed pair is a clear error."""
    row = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidRequestError(
                f"--entity {text!r}: expected KEY=VALUE pairs separated by commas, e.g. "
                "user_id=u001"
            )
        row[key.strip()] = value.strip()
    return row


def _typed(key: str, value: str, dtype: object) -> object:
    """The key's value in its own type: integers for integer keys, text otherwise."""
    import polars as pl

    if isinstance(dtype, pl.DataType) and dtype.is_integer():
        try:
            return int(value)
        except ValueError as exc:
            raise InvalidRequestError(f"--entity {key}={value!r}: {key} is an integer key") from exc
    return value
