"""Parsing ``"<group>:<feature>"`` references and naming the output columns they produce.

Feast users write feature references this way, so we accept the same strings; ``"<group>:*"``
asks for every feature of a group, and may stand beside explicit references to the same group
(each feature is output once). Output names are decided here, once, so that a clash is an
error before any table is read rather than a silently overwritten column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from feature_platform.errors import (
    FeatureNameClashError,
    InvalidFeatureReferenceError,
    UnknownFeatureError,
)
from feature_platform.identifiers import validate_identifier
from feature_platform.specs import FeatureGroup

ALL_FEATURES = "*"


@dataclass(frozen=True)
class GroupRequest:
    """The features wanted from one group, and the output column each becomes."""

    group: FeatureGroup
    features: tuple[str, ...]
    output_names: tuple[str, ...]

    @property
    def renames(self) -> dict[str, str]:
        return dict(zip(self.features, self.output_names, strict=True))


def parse_references(references: Iterable[str]) -> list[tuple[str, str]]:
    """Split references into (group, feature) pairs, in request order.

    Raises:
        InvalidFeatureReferenceError: A reference is malformed, or the list is empty or repeats
            a reference.
    """
    if isinstance(references, str):
        raise InvalidFeatureReferenceError(
            f"features must be a list of references, not the string {references!r}; "
            f"write features=[{references!r}]"
        )
    pairs: list[tuple[str, str]] = []
    for reference in references:
        if not isinstance(reference, str) or reference.count(":") != 1:
            raise InvalidFeatureReferenceError(
                f"feature reference {reference!r} must look like '<group>:<feature>' "
                "(or '<group>:*' for all of a group's features)"
            )
        group, feature = reference.split(":")
        validate_identifier(group, "feature group")
        if feature != ALL_FEATURES:
            validate_identifier(feature, "feature")
        pairs.append((group, feature))
    if not pairs:
        raise InvalidFeatureReferenceError("features is empty: request at least one feature")
    repeated = sorted({f"{g}:{f}" for g, f in pairs if pairs.count((g, f)) > 1})
    if repeated:
        raise InvalidFeatureReferenceError(f"features lists {repeated} more than once")
    return pairs


def plan_requests(
    references: Iterable[str],
    load_group: Callable[[str], FeatureGroup],
    *,
    full_feature_names: bool,
    entity_columns: Sequence[str],
) -> list[GroupRequest]:
    """Resolve references against the groups' specs, grouped by feature group in first-use order.

    Raises:
        UnknownFeatureGroupError: (from `load_group`) a group has not been applied.
        UnknownFeatureError: A group lacks a requested feature.
        FeatureNameClashError: Two outputs, or an output and an entity column, share a name.
    """
    wanted: dict[str, list[str]] = {}
    for group_name, feature in parse_references(references):
        wanted.setdefault(group_name, []).append(feature)
    requests = []
    for group_name, requested in wanted.items():
        group = load_group(group_name)
        features = _expand(requested, group)
        unknown = [f for f in features if f not in group.feature_names]
        if unknown:
            raise UnknownFeatureError(
                f"feature group {group_name!r} has no features {unknown}; "
                f"it has {list(group.feature_names)}"
            )
        outputs = [f"{group_name}__{f}" if full_feature_names else f for f in features]
        requests.append(GroupRequest(group, tuple(features), tuple(outputs)))
    _check_clashes(requests, entity_columns, full_feature_names)
    return requests


def _expand(requested: Sequence[str], group: FeatureGroup) -> list[str]:
    """The group's features in order of first mention, ``*`` standing for all of them.

    ``["g:ctr", "g:*"]`` is what a user writes to put one feature first and keep the rest: both
    ask for `ctr`, so it is listed once (a verbatim repeat was refused by `parse_references`).
    """
    features: dict[str, None] = {}  # an ordered set
    for feature in requested:
        names = group.feature_names if feature == ALL_FEATURES else (feature,)
        features.update(dict.fromkeys(names))
    return list(features)


def _check_clashes(
    requests: Sequence[GroupRequest], entity_columns: Sequence[str], full_feature_names: bool
) -> None:
    seen: dict[str, str] = {}
    for request in requests:
        for feature, output in request.renames.items():
            owner = f"{request.group.name}:{feature}"
            if output in entity_columns:
                raise FeatureNameClashError(
                    f"feature {owner} would be written to column {output!r}, which the entity "
                    f"frame already has; rename that column"
                    + ("" if full_feature_names else " or pass full_feature_names=True")
                )
            if output in seen:
                raise FeatureNameClashError(
                    f"features {seen[output]} and {owner} would both be named {output!r}; "
                    "pass full_feature_names=True to name columns '<group>__<feature>'"
                )
            seen[output] = owner
