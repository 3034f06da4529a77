"""Feature group specifications: frozen, validated data from which everything else is derived.

The Iceberg schema, the partition spec, the Dagster assets and (later) the DynamoDB table and
Snowflake DDL are all pure functions of a `FeatureGroup`, so the spec validates everything up
front: a spec that constructs is one that every backend can realise.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

from feature_platform.dtypes import KEY_TYPES, canonical_dtype
from feature_platform.errors import InvalidSpecError, UnknownFeatureError
from feature_platform.expectations import (
    ExpectationMode,
    FeatureExpectation,
    GroupExpectation,
    expectation_from_dict,
    expectation_to_dict,
    feature_expectations,
    group_expectations,
)
from feature_platform.identifiers import (
    RESERVED_COLUMNS,
    refuse_latest_suffix,
    validate_identifier,
)
from feature_platform.time_windows import InstantWording, as_utc

Partitioning = Literal["daily", "hourly"]
PARTITION_WIDTH: Mapping[str, dt.timedelta] = {
    "daily": dt.timedelta(days=1),
    "hourly": dt.timedelta(hours=1),
}

# Tags and owners surface in the Dagster UI and catalogs, whose rules these mirror.
_TAG_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")
_OWNER_PATTERN = re.compile(r"^(team:[A-Za-z0-9_-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")

# The longest ttl: any longer means "never expires", which is ttl=None.
MAX_TTL = dt.timedelta(days=36_525)
_START_WORDING = InstantWording(
    unparsable="{what} {value!r} is not an ISO date",
    naive="{what} {iso} has no time zone; give a date or an aware datetime",
    not_a_time="{what} must be a date",
)
EVENT_TIME_COLUMN = "event_time"
CREATED_AT_COLUMN = "created_at"

# Set while a stored spec is read back: a group applied before names ending in ``_latest`` were
# refused must still load, or one such table would break every listing of the store.
_READING_STORED_SPEC: ContextVar[bool] = ContextVar("reading_stored_spec", default=False)


@dataclass(frozen=True)
class Entity:
    """The thing features describe (a user, an article), identified by its join keys.

    Join keys are typed (string unless `key_dtypes` says otherwise) so that `apply` can create the
    offline table before any data has arrived.
    """

    name: str
    join_keys: Sequence[str]
    key_dtypes: Mapping[str, Any] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        validate_identifier(self.name, "entity")
        if self.join_keys is None or not isinstance(self.join_keys, str | Sequence):
            raise InvalidSpecError(
                f"entity {self.name!r} needs at least one join key: a name or a list of names"
            )
        keys = tuple(self.join_keys) if not isinstance(self.join_keys, str) else (self.join_keys,)
        if not keys:
            raise InvalidSpecError(f"entity {self.name!r} needs at least one join key")
        for key in keys:
            validate_identifier(key, "join key")
            if key in RESERVED_COLUMNS:
                raise InvalidSpecError(
                    f"join key {key!r} of entity {self.name!r} is reserved for the offline table; "
                    "rename it"
                )
        if len(set(keys)) != len(keys):
            raise InvalidSpecError(f"entity {self.name!r} lists a join key twice: {list(keys)}")
        given = dict(self.key_dtypes or {})
        unknown = set(given) - set(keys)
        if unknown:
            raise InvalidSpecError(
                f"key_dtypes of entity {self.name!r} name {sorted(unknown)}, which are not join "
                f"keys {list(keys)}"
            )
        dtypes = {key: canonical_dtype(given.get(key, "string")) for key in keys}
        for key, dtype in dtypes.items():
            if dtype not in KEY_TYPES:
                raise InvalidSpecError(
                    f"join key {key!r} has dtype {dtype!r}; join keys must be one of "
                    f"{sorted(KEY_TYPES)}"
                )
        object.__setattr__(self, "join_keys", keys)
        object.__setattr__(self, "key_dtypes", dtypes)

    def key_dtype(self, key: str) -> str:
        """The canonical dtype of one join key."""
        assert self.key_dtypes is not None  # normalised in __post_init__
        return str(self.key_dtypes[key])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "join_keys": list(self.join_keys),
            "key_dtypes": dict(self.key_dtypes or {}),
            "description": self.description,
        }


@dataclass(frozen=True)
class Feature:
    """One typed feature column of a group, and what its values are expected to be
    (`feature_platform.expectations`: ranges, allowed values, a maximum null fraction)."""

    name: str
    dtype: Any
    description: str = ""
    expectations: Sequence[FeatureExpectation] = ()

    def __post_init__(self) -> None:
        validate_identifier(self.name, "feature")
        if self.name in RESERVED_COLUMNS:
            raise InvalidSpecError(
                f"feature name {self.name!r} is reserved for the offline table; rename it"
            )
        object.__setattr__(self, "dtype", canonical_dtype(self.dtype))
        expectations = feature_expectations(self.name, self.dtype, self.expectations)
        object.__setattr__(self, "expectations", expectations)

    def to_dict(self) -> dict[str, Any]:
        data = {"name": self.name, "dtype": self.dtype, "description": self.description}
        if self.expectations:  # absent, not empty: specs stored before expectations stay equal
            data["expectations"] = [expectation_to_dict(e) for e in self.expectations]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Feature:
        dtype = canonical_dtype(data["dtype"])
        stored = data.get("expectations", ())
        return cls(
            name=data["name"],
            dtype=dtype,
            description=data.get("description", ""),
            expectations=[expectation_from_dict(e, dtype) for e in stored],  # type: ignore[misc]
        )


@dataclass(frozen=True)
class FeatureGroup:
    """A set of features of one entity, computed per time window and stored together.

    Args:
        name: Table and asset name; ``^[a-z][a-z0-9_]{0,62}$``, not ending in ``_latest`` (the
            suffix of every group's latest-value view).
        entity: Whose features these are.
        features: The feature columns, in table order.
        event_time: Column of incoming frames holding when each value became true.
        created_time: Optional column holding when each row was produced; without it rows are
            stamped at write time. Used to pick the winner among rows of equal event time.
        partitioning: ``"daily"`` or ``"hourly"``; the width of a backfill partition.
        start: First partition (a date, an ISO string or a UTC datetime on a partition boundary).
        ttl: How long a value stays valid; older values read as missing.
        online: Whether the latest values are served from the online store.
        owner: Who answers for the group (an email or team).
        description: Shown in catalogs and the Dagster UI.
        tags: Free-form string labels for discovery.
        expectations: The group's own expectations (`RowCountVsLastWeek`); features declare
            theirs on the `Feature`.
        expectation_mode: ``"strict"`` (a window write failing an expectation is refused and
            nothing is committed) or ``"warn"`` (it commits and records the failures); an
            expectation's own `mode` overrides it.
    """

    name: str
    entity: Entity
    features: Sequence[Feature]
    event_time: str = EVENT_TIME_COLUMN
    created_time: str | None = None
    partitioning: Partitioning = "daily"
    start: dt.datetime | dt.date | str = "2024-01-01"
    ttl: dt.timedelta | None = None
    online: bool = False
    owner: str | None = None
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    expectations: Sequence[GroupExpectation] = ()
    expectation_mode: ExpectationMode = "strict"

    def __post_init__(self) -> None:
        validate_identifier(self.name, "feature group")
        if not _READING_STORED_SPEC.get():
            refuse_latest_suffix(self.name, "feature group")
        if not isinstance(self.entity, Entity):
            raise InvalidSpecError(f"feature group {self.name!r}: entity must be an Entity")
        if isinstance(self.features, Feature) or not isinstance(self.features, Sequence):
            raise InvalidSpecError(
                f"feature group {self.name!r}: features must be a list of Feature, "
                "e.g. features=[Feature('clicks', 'int64')]"
            )
        if not all(isinstance(f, Feature) for f in self.features):
            raise InvalidSpecError(f"feature group {self.name!r}: features must all be Feature")
        if not isinstance(self.online, bool):
            raise InvalidSpecError(
                f"feature group {self.name!r}: online must be True or False, not {self.online!r}"
            )
        if not isinstance(self.tags, Mapping):
            raise InvalidSpecError(
                f"feature group {self.name!r}: tags must be a mapping, "
                "e.g. tags={'domain': 'news'}"
            )
        features = tuple(self.features)
        if not features:
            raise InvalidSpecError(f"feature group {self.name!r} needs at least one feature")
        names = [f.name for f in features]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise InvalidSpecError(f"feature group {self.name!r} repeats features {duplicated}")
        clashes = sorted(set(names) & set(self.entity.join_keys))
        if clashes:
            raise InvalidSpecError(
                f"feature group {self.name!r}: features {clashes} clash with join keys"
            )
        self._validate_source_columns(set(names))
        if self.partitioning not in PARTITION_WIDTH:
            raise InvalidSpecError(
                f"feature group {self.name!r}: partitioning must be 'daily' or 'hourly', "
                f"not {self.partitioning!r}"
            )
        if self.ttl is not None and (
            not isinstance(self.ttl, dt.timedelta) or self.ttl <= dt.timedelta(0)
        ):
            raise InvalidSpecError(
                f"feature group {self.name!r}: ttl must be a positive timedelta or None"
            )
        if self.ttl is not None and self.ttl > MAX_TTL:
            # `instant - ttl` must stay a datetime everywhere the ttl is applied.
            raise InvalidSpecError(
                f"feature group {self.name!r}: a ttl of {self.ttl.days:,} days is longer than "
                f"{MAX_TTL.days:,} days (100 years); use ttl=None for values that never expire"
            )
        tags = dict(self.tags)
        for key, value in tags.items():
            if not (isinstance(key, str) and isinstance(value, str)) or not (
                _TAG_PATTERN.fullmatch(key) and _TAG_PATTERN.fullmatch(value)
            ):
                raise InvalidSpecError(
                    f"feature group {self.name!r}: tag {key!r}={value!r} must be strings of at "
                    "most 63 letters, digits, '-', '_' or '.'"
                )
        if self.owner is not None and not _OWNER_PATTERN.fullmatch(str(self.owner)):
            raise InvalidSpecError(
                f"feature group {self.name!r}: owner {self.owner!r} must be an email address or "
                "'team:<name>'"
            )
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "tags", tags)
        expectations = group_expectations(self.name, self.expectations, self.expectation_mode)
        object.__setattr__(self, "expectations", expectations)
        object.__setattr__(self, "start", self._normalise_start(self.start))

    def _validate_source_columns(self, feature_names: set[str]) -> None:
        for role, column in (("event_time", self.event_time), ("created_time", self.created_time)):
            if column is None:
                continue
            validate_identifier(column, f"{role} column")
            if column in feature_names or column in self.entity.join_keys:
                raise InvalidSpecError(
                    f"feature group {self.name!r}: {role} column {column!r} is also a feature "
                    "or join key"
                )
        if self.created_time is not None and self.created_time == self.event_time:
            raise InvalidSpecError(
                f"feature group {self.name!r}: event_time and created_time must differ"
            )
        if self.event_time == CREATED_AT_COLUMN or (self.created_time == EVENT_TIME_COLUMN):
            raise InvalidSpecError(
                f"feature group {self.name!r}: the event_time column cannot be named "
                f"{CREATED_AT_COLUMN!r}, nor created_time {EVENT_TIME_COLUMN!r}"
            )

    def _normalise_start(self, start: object) -> dt.datetime:
        what = f"feature group {self.name!r}: start"
        instant = as_utc(start, what, InvalidSpecError, _START_WORDING)
        width = PARTITION_WIDTH[self.partitioning]
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        if (instant - epoch) % width:
            raise InvalidSpecError(
                f"feature group {self.name!r}: start {instant.isoformat()} is not on a "
                f"{self.partitioning} partition boundary (UTC)"
            )
        return instant

    @property
    def join_keys(self) -> tuple[str, ...]:
        return tuple(self.entity.join_keys)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def partition_width(self) -> dt.timedelta:
        return PARTITION_WIDTH[self.partitioning]

    def input_dtypes(self) -> dict[str, str]:
        """The columns a frame written to this group holds (its own names, such as its
        `created_time` column) with their canonical dtypes: what writes and landing files are
        checked and parsed against."""
        dtypes = {key: self.entity.key_dtype(key) for key in self.join_keys}
        dtypes[self.event_time] = "timestamp"
        if self.created_time:
            dtypes[self.created_time] = "timestamp"
        dtypes.update({feature.name: feature.dtype for feature in self.features})
        return dtypes

    @property
    def start_time(self) -> dt.datetime:
        """`start` as a UTC datetime (normalised in __post_init__)."""
        assert isinstance(self.start, dt.datetime)
        return self.start

    def feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def check_features(self, names: Sequence[str]) -> None:
        """Refuse names that are not features of the group, listing those it has: a read that
        names a feature wrongly is then fixed from the message alone.

        Raises:
            UnknownFeatureError: A name is not a feature of the group.
        """
        unknown = [name for name in names if name not in self.feature_names]
        if unknown:
            raise UnknownFeatureError(
                f"feature group {self.name!r} has no features {unknown}; "
                f"it has {list(self.feature_names)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entity": self.entity.to_dict(),
            "features": [f.to_dict() for f in self.features],
            "event_time": self.event_time,
            "created_time": self.created_time,
            "partitioning": self.partitioning,
            "start": self.start_time.isoformat(),
            "ttl_seconds": None if self.ttl is None else self.ttl.total_seconds(),
            "online": self.online,
            "owner": self.owner,
            "description": self.description,
            "tags": dict(self.tags),
        } | self._expectations_dict()

    def _expectations_dict(self) -> dict[str, Any]:
        """Absent when left at the defaults, so specs stored before expectations stay equal."""
        data: dict[str, Any] = {}
        if self.expectations:
            data["expectations"] = [expectation_to_dict(e) for e in self.expectations]
        if self.expectation_mode != "strict":
            data["expectation_mode"] = self.expectation_mode
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureGroup:
        """The group `to_dict` gave, also one stored before names ending in ``_latest`` were
        refused: its table must stay readable (`FeatureStore.apply` refuses to create a new
        table under such a name, whatever built the spec)."""
        ttl_seconds = data.get("ttl_seconds")
        token = _READING_STORED_SPEC.set(True)
        try:
            return cls(
                name=data["name"],
                entity=Entity(**data["entity"]),
                features=[Feature.from_dict(f) for f in data["features"]],
                event_time=data.get("event_time", EVENT_TIME_COLUMN),
                created_time=data.get("created_time"),
                partitioning=data.get("partitioning", "daily"),
                start=data.get("start", "2024-01-01"),
                ttl=None if ttl_seconds is None else dt.timedelta(seconds=ttl_seconds),
                online=bool(data.get("online", False)),
                owner=data.get("owner"),
                description=data.get("description", ""),
                tags=data.get("tags", {}),
                expectations=[
                    expectation_from_dict(e, None)  # type: ignore[misc]
                    for e in data.get("expectations", ())
                ],
                expectation_mode=data.get("expectation_mode", "strict"),
            )
        finally:
            _READING_STORED_SPEC.reset(token)

    @classmethod
    def from_json(cls, text: str) -> FeatureGroup:
        return cls.from_dict(json.loads(text))
