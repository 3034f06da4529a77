"""Reading label files and writing training sets in the formats people pass around.

The format follows the file extension; anything else is refused with the list of formats, since
a silently mis-parsed label file would make a wrong training set.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from feature_platform.errors import ConfigurationError

FORMATS = (".parquet", ".csv", ".json")


def read_table_file(path: str | os.PathLike[str], timestamp_column: str) -> pl.DataFrame:
    """A parquet, CSV or JSON (array of records) file as polars.

    CSV and JSON carry no types, so a text `timestamp_column` is parsed as ISO 8601: with an
    offset it is an instant; without one it stays naive and is refused by the join.
    """
    source = Path(path)
    if not source.exists():
        raise ConfigurationError(f"label file {source} does not exist")
    suffix = _suffix(source)
    if suffix == ".parquet":
        frame = pl.read_parquet(source)
    elif suffix == ".csv":
        frame = pl.read_csv(source)
    else:
        frame = pl.read_json(source)
    if frame.schema.get(timestamp_column) == pl.String:
        try:
            parsed = frame[timestamp_column].str.to_datetime(time_unit="us")
            frame = frame.with_columns(parsed.alias(timestamp_column))
        except pl.exceptions.PolarsError as exc:
            raise ConfigurationError(
                f"{source}: column {timestamp_column!r} is not ISO 8601 timestamps: {exc}"
            ) from exc
    return frame


def write_table_file(frame: pl.DataFrame, path: str | os.PathLike[str]) -> None:
    target = Path(path)
    suffix = _suffix(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        frame.write_parquet(target)
    elif suffix == ".csv":
        frame.write_csv(target)
    else:
        frame.write_json(target)


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigurationError(
            f"{path}: unknown format {suffix or '(no extension)'!r}; use one of {list(FORMATS)}"
        )
    return suffix
