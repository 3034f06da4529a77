"""The feature groups of this deployment: the one list the Dagster definitions are built from.

Add a `FeatureGroupDefinition` here (or point `FEATURE_PLATFORM_REGISTRY` at a module exposing
``FEATURE_GROUPS``, and optionally ``TRAINING_SETS``) and its assets, schedule and table appear
on the next reload. The demo's definitions are the default, imported only when no registry
module is set: a deployment of its own groups does not load the demo (its synthetic event log,
its Iceberg source table) to build its definitions.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Protocol, TypeVar

from feature_platform.errors import ConfigurationError, InvalidSpecError
from feature_platform.sources import FeatureGroupDefinition
from feature_platform.training.definition import TrainingSetDefinition


def load_feature_groups(module: str | None = None) -> tuple[FeatureGroupDefinition, ...]:
    """The registered definitions: the demo's, or `module`'s (default `FEATURE_PLATFORM_REGISTRY`).

    Raises:
        ConfigurationError: The module cannot be imported or has no ``FEATURE_GROUPS``.
        InvalidSpecError: Two definitions share a name.
    """
    return _load(module, "FEATURE_GROUPS", _demo_feature_groups, "feature groups", required=True)


def load_training_sets(module: str | None = None) -> tuple[TrainingSetDefinition, ...]:
    """The registered training sets: the demo's, or `module`'s ``TRAINING_SETS`` (may be absent).

    Raises:
        ConfigurationError: The module cannot be imported.
        InvalidSpecError: Two training sets share a name.
    """
    return _load(module, "TRAINING_SETS", _demo_training_sets, "training sets", required=False)


def _demo_feature_groups() -> tuple[FeatureGroupDefinition, ...]:
    from feature_platform.demo.feature_groups import DEMO_FEATURE_GROUPS

    return DEMO_FEATURE_GROUPS


def _demo_training_sets() -> tuple[TrainingSetDefinition, ...]:
    from feature_platform.demo.training_sets import DEMO_TRAINING_SETS

    return DEMO_TRAINING_SETS


class _Named(Protocol):
    @property
    def name(self) -> str: ...


_T = TypeVar("_T", bound=_Named)


def _load(
    module: str | None,
    attribute: str,
    demo: Callable[[], tuple[_T, ...]],
    what: str,
    *,
    required: bool,
) -> tuple[_T, ...]:
    """`attribute` of the registry module (the demo's definitions when none is set)."""
    module = module or os.environ.get("FEATURE_PLATFORM_REGISTRY")
    if not module:
        definitions = demo()
    else:
        try:
            loaded = importlib.import_module(module)
            definitions = tuple(
                getattr(loaded, attribute) if required else getattr(loaded, attribute, ())
            )
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(
                f"cannot load {attribute} from registry module {module!r}: {exc}"
            ) from exc
    names = [d.name for d in definitions]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidSpecError(f"{what} registered twice: {duplicated}")
    return definitions
