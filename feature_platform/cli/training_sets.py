"""`feature-platform training-set`: a point-in-time training set written to a file.

Its imports are made inside the handler, so that building the parser costs nothing and only the
command itself pays for the store.
"""

from __future__ import annotations

import argparse
import json

from feature_platform.errors import ConfigurationError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    training = commands.add_parser(
        "training-set",
        help="join features point-in-time onto label rows and write the training set",
    )
    training.add_argument(
        "--entities", required=True, help="label rows: a .parquet, .csv or .json file"
    )
    training.add_argument(
        "--features", required=True, help="comma-separated '<group>:<feature>' references"
    )
    training.add_argument(
        "--out", required=True, help="output file: .parquet, .csv or .json (by extension)"
    )
    training.add_argument("--timestamp-column", default="event_timestamp")
    training.add_argument(
        "--full-feature-names", action="store_true", help="name columns '<group>__<feature>'"
    )
    training.add_argument(
        "--as-of",
        default=None,
        help="read the tables as of an ISO timestamp, or a JSON object of snapshot ids per "
        "group (as printed by an earlier run) to rebuild a training set exactly",
    )
    training.set_defaults(handler=training_set)


def training_set(args: argparse.Namespace) -> int:
    from feature_platform.store import FeatureStore
    from feature_platform.training.io import read_table_file, write_table_file

    store = FeatureStore.from_env()
    features = [f.strip() for f in args.features.split(",") if f.strip()]
    as_of: dict[str, int | str] | str | None = args.as_of
    if args.as_of and args.as_of.lstrip().startswith("{"):
        try:
            as_of = json.loads(args.as_of)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"--as-of {args.as_of!r} is not JSON; give a timestamp or the object printed by "
                "an earlier run, e.g. '{\"user_engagement\": 123}'"
            ) from exc
    built = store.build_training_set(
        read_table_file(args.entities, args.timestamp_column),
        features,
        full_feature_names=args.full_feature_names,
        timestamp_column=args.timestamp_column,
        as_of=as_of,
    )
    write_table_file(built.frame, args.out)
    print(
        json.dumps(
            {
                "rows": built.frame.height,
                "columns": built.frame.columns,
                "out": str(args.out),
                "as_of": built.snapshot_ids,
            },
            indent=2,
        )
    )
    return 0
