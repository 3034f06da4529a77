"""Landing files in text formats are read with the group's schema, and refused by line.

CSV holds only text and JSON only strings, numbers and booleans, so inferring column types
guesses wrong: ``00123`` becomes the number 123, a whole JSON number in a float feature an
integer, a string id that looks like a time a timestamp. Each known column is converted to the
type the group gives it instead, and the first value that does not fit names its line.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from feature_platform.specs import Entity, Feature, FeatureGroup
from feature_platform.streaming.landing import LandingFileError, parse_landing_file

THINGS = FeatureGroup(
    name="things",
    entity=Entity("thing", join_keys=["thing_id", "shard"], key_dtypes={"shard": "int32"}),
    features=[
        Feature("count", "int32"),
        Feature("big", "int64"),
        Feature("score", "float32"),
        Feature("ratio", "float64"),
        Feature("flag", "bool"),
        Feature("day", "date"),
        Feature("seen_at", "timestamp"),
        Feature("label", "string"),
    ],
    created_time="computed_at",
)
HEADER = "thing_id,shard,event_time,computed_at,count,big,score,ratio,flag,day,seen_at,label"
ROW = (
    "00123,7,2026-11-10T15:00:00+01:00,2026-11-10 14:05Z,42,-9007199254740993,0.5,1e-3,TRUE,"
    "2026-11-10,2026-11-10T14:30:00.250000+00:00,00123"
)
EMPTY_FEATURES = "x9,0,2026-11-10T14:00:00Z,2026-11-10T14:00:00Z,,,,,,,,"
UTC = dt.UTC
SCHEMA = {
    "thing_id": pl.String,
    "shard": pl.Int32,
    "event_time": pl.Datetime("us", "UTC"),
    "computed_at": pl.Datetime("us", "UTC"),
    "count": pl.Int32,
    "big": pl.Int64,
    "score": pl.Float32,
    "ratio": pl.Float64,
    "flag": pl.Boolean,
    "day": pl.Date,
    "seen_at": pl.Datetime("us", "UTC"),
    "label": pl.String,
}
EXPECTED = pl.DataFrame(
    {
        "thing_id": ["00123", "x9"],
        "shard": [7, 0],
        "event_time": [dt.datetime(2026, 11, 10, 14, tzinfo=UTC)] * 2,
        "computed_at": [
            dt.datetime(2026, 11, 10, 14, 5, tzinfo=UTC),
            dt.datetime(2026, 11, 10, 14, tzinfo=UTC),
        ],
        "count": [42, None],
        "big": [-9007199254740993, None],
        "score": [0.5, None],
        "ratio": [0.001, None],
        "flag": [True, None],
        "day": [dt.date(2026, 11, 10), None],
        "seen_at": [dt.datetime(2026, 11, 10, 14, 30, 0, 250_000, tzinfo=UTC), None],
        "label": ["00123", None],
    },
    schema=SCHEMA,
)


def _json_records() -> list[dict[str, object]]:
    return [
        {
            "thing_id": "00123",
            "shard": 7,
            "event_time": "2026-11-10T15:00:00+01:00",
            "computed_at": "2026-11-10 14:05Z",
            "count": 42,
            "big": -9007199254740993,
            "score": 0.5,
            "ratio": 0.001,
            "flag": True,
            "day": "2026-11-10",
            "seen_at": "2026-11-10T14:30:00.250000+00:00",
            "label": "00123",
        },
        {
            "thing_id": "x9",
            "shard": 0,
            "event_time": "2026-11-10T14:00:00Z",
            "computed_at": "2026-11-10T14:00:00Z",
            **dict.fromkeys(["count", "big", "score", "ratio", "flag", "day", "seen_at", "label"]),
        },
    ]


def test_a_csv_is_typed_by_the_group_and_an_empty_field_is_null() -> None:
    payload = "\n".join([HEADER, ROW, EMPTY_FEATURES, ""]).encode()

    assert_frame_equal(parse_landing_file(THINGS, "things.csv", payload), EXPECTED)


@pytest.mark.parametrize("shape", ["array", "ndjson"])
def test_json_is_typed_by_the_group(shape: str) -> None:
    records = _json_records()
    if shape == "array":
        payload = json.dumps(records).encode()
    else:
        payload = ("\n".join(json.dumps(r) for r in records) + "\n").encode()

    assert_frame_equal(parse_landing_file(THINGS, "things.json", payload), EXPECTED)


def test_json_whole_numbers_fill_float_features() -> None:
    [record, _] = _json_records()
    record.update(score=1, ratio=0)

    frame = parse_landing_file(THINGS, "things.json", json.dumps([record]).encode())

    assert frame.select("score", "ratio").row(0) == (1.0, 0.0)
    assert frame.schema["score"] == pl.Float32


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("things.csv", b""),
        ("things.csv", b"\xef\xbb\xbf"),
        ("things.csv", HEADER.encode()),
        ("things.csv", (HEADER + "\r\n\r\n").encode()),
        ("things.json", b"[]"),
        ("things.json", b" \n \n"),
    ],
    ids=["empty", "bom", "header", "header-blank-lines", "json-array", "ndjson-blank"],
)
def test_a_file_without_rows_is_an_empty_frame_of_the_group(name: str, payload: bytes) -> None:
    frame = parse_landing_file(THINGS, name, payload)

    assert frame.is_empty()
    assert frame.schema == pl.Schema(SCHEMA)


def test_blank_lines_before_the_header_and_between_rows_are_skipped() -> None:
    payload = "\n".join(["", "", HEADER, ROW, "", EMPTY_FEATURES, ""]).encode()

    assert_frame_equal(parse_landing_file(THINGS, "things.csv", payload), EXPECTED)


def test_columns_the_group_does_not_know_are_kept_as_text_for_the_write_to_name() -> None:
    payload = f"{HEADER},note\n{ROW},00042\n".encode()

    frame = parse_landing_file(THINGS, "things.csv", payload)

    assert frame.schema["note"] == pl.String
    assert frame["note"].to_list() == ["00042"]


def test_a_quoted_field_spanning_lines_is_read_and_lines_are_counted_physically() -> None:
    quoted = ROW.rsplit(",", 1)[0] + ',"two\nlines"'
    bad = ROW.replace(",42,", ",4.5,")
    payload = "\n".join([HEADER, quoted, bad, ""]).encode()

    with pytest.raises(LandingFileError, match=r"things\.csv line 4: count='4\.5'"):
        parse_landing_file(THINGS, "things.csv", payload)
    frame = parse_landing_file(THINGS, "things.csv", "\n".join([HEADER, quoted]).encode())
    assert frame["label"].to_list() == ["two\nlines"]


def _csv_with(column: str, value: str) -> bytes:
    names = HEADER.split(",")
    values = ROW.split(",")
    values[names.index(column)] = value
    return "\n".join([HEADER, EMPTY_FEATURES, ",".join(values), ""]).encode()


def _json_with(**changes: object) -> bytes:
    records = _json_records()
    records[1].update(changes)
    return json.dumps(records).encode()


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("t.csv", _csv_with("count", "4.5"), "t.csv line 3: count='4.5' is not a whole number"),
        (
            "t.csv",
            _csv_with("count", "3000000000"),
            "count='3000000000' is not a whole number within int32",
        ),
        ("t.csv", _csv_with("shard", " 7"), "line 3: shard=' 7' is not a whole number"),
        ("t.csv", _csv_with("score", "1,5"), "line 3: 13 field(s), but the header has 12"),
        ("t.csv", _csv_with("ratio", "n/a"), "line 3: ratio='n/a' is not a number"),
        ("t.csv", _csv_with("flag", "yes"), "line 3: flag='yes' is not true or false"),
        ("t.csv", _csv_with("day", "10/11/2026"), "line 3: day='10/11/2026' is not an ISO date"),
        (
            "t.csv",
            _csv_with("event_time", "2026-11-10T14:00:00"),
            "column 'event_time' holds naive timestamps",
        ),
        (
            "t.csv",
            _csv_with("seen_at", "yesterday"),
            "seen_at='yesterday' is not an ISO-8601 timestamp",
        ),
        (
            "t.csv",
            _csv_with("seen_at", "2026-02-30T10:00Z"),
            "seen_at='2026-02-30T10:00Z' is not an ISO-8601",
        ),
        ("t.csv", f'{HEADER}\n{ROW}\n"open'.encode(), "t.csv is not a readable csv file: line 3"),
        ("t.csv", f"{HEADER},label\n".encode(), "the header repeats columns ['label']"),
        ("t.csv", b"\xff\xfe" + HEADER.encode(), "not UTF-8 text (byte 0)"),
        ("t.json", _json_with(thing_id=123), "t.json record 2: thing_id=123 is not a JSON string"),
        ("t.json", _json_with(count=3.5), "record 2: count=3.5 is not a whole JSON number"),
        ("t.json", _json_with(count=True), "record 2: count=True is not a whole JSON number"),
        ("t.json", _json_with(flag=1), "record 2: flag=1 is not true or false"),
        ("t.json", _json_with(label={"a": 1}), "record 2: label={'a': 1} is not a JSON string"),
        (
            "t.json",
            _json_with(seen_at=1731247200),
            "record 2: seen_at=1731247200 is not an ISO-8601",
        ),
        ("t.json", _json_with(unknown_col=1), "record 2: unknown columns ['unknown_col']"),
        ("t.json", b"[1]", "t.json record 1: not a JSON object"),
        ("t.json", b'{"thing_id": "a"}\n{oops\n', "t.json line 2: not a JSON record"),
        ("t.json", b"[{", "t.json is not a readable json file"),
        ("t.parquet", b"PAR1 not really", "t.parquet is not a readable parquet file"),
    ],
)
def test_a_value_that_does_not_fit_is_refused_naming_its_line(
    name: str, payload: bytes, message: str
) -> None:
    with pytest.raises(LandingFileError) as refused:
        parse_landing_file(THINGS, name, payload)
    assert message in str(refused.value)


def test_a_json_record_lacking_a_column_is_refused_naming_it() -> None:
    records = _json_records()
    del records[1]["label"]

    with pytest.raises(LandingFileError, match=r"record 2: missing columns \['label'\]"):
        parse_landing_file(THINGS, "t.json", json.dumps(records).encode())


def _mutations() -> st.SearchStrategy[bytes]:
    """Real files with bytes inserted, deleted or replaced: what a truncated upload, a bad
    encoder or a hand edit leaves."""
    csv_text = "\n".join([HEADER, ROW, EMPTY_FEATURES, ""]).encode()
    ndjson = "\n".join(json.dumps(r) for r in _json_records()).encode()
    return st.tuples(
        st.sampled_from([csv_text, ndjson]),
        st.integers(0, 400),
        st.integers(0, 5),
        st.binary(max_size=6),
    ).map(lambda t: t[0][: t[1]] + t[3] + t[0][t[1] + t[2] :])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(payload=_mutations(), name=st.sampled_from(["t.csv", "t.json"]))
def test_any_bytes_parse_to_the_group_or_are_refused_as_a_bad_file(
    payload: bytes, name: str
) -> None:
    """Never another exception: anything else would fail the run without quarantining the
    file, so it would be retried forever."""
    try:
        frame = parse_landing_file(THINGS, name, payload)
    except LandingFileError:
        return
    for column, dtype in SCHEMA.items():
        if column in frame.columns:
            assert frame.schema[column] == dtype
