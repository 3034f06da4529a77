"""The feature groups of this deployment: the one list the Dagster definitions are built from.

Add a `FeatureGroupDefinition` here (or point `FEATURE_PLATFORM_REGISTRY` at a module exposing
``FEATURE_GROUPS``) and its assets, schedule and table appear on the next reload.
"""

from __future__ import annotations

import importlib
import os

from feature_platform.demo.feature_groups import DEMO_FEATURE_GROUPS
from feature_platform.errors import ConfigurationError, InvalidSpecError
from feature_platform.sources import FeatureGroupDefinition


def load_feature_groups(module: str | None = None) -> tuple[FeatureGroupDefinition, ...]:
    """The registered definitions: the demo's, or `module`'s (default `FEATURE_PLATFORM_REGISTRY`).

    Raises:
        ConfigurationError: The module cannot be imported or has no ``FEATURE_GROUPS``.
        InvalidSpecError: Two definitions share a name.
    """
    module = module or os.environ.get("FEATURE_PLATFORM_REGISTRY")
    if module:
        try:
            definitions = tuple(importlib.import_module(module).FEATURE_GROUPS)
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(
                f"cannot load FEATURE_GROUPS from registry module {module!r}: {exc}"
            ) from exc
    else:
        definitions = DEMO_FEATURE_GROUPS
    names = [d.name for d in definitions]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidSpecError(f"feature groups registered twice: {duplicated}")
    return definitions
